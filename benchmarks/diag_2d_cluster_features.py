"""Which trunk features of a trained Jim-Net 2D model cluster the training images best?

t-SNE(3) → GMM (``jimnet.cluster.cluster_features``, seed 0) on four pooled versions of the trunk
features of every training image, scored by Hungarian accuracy against the true classes:
global average / max pooling of the per-position L2-normalised features (what the correlation
layers read) and of the raw trunk output.

Usage::

    .venv/bin/python benchmarks/diag_2d_cluster_features.py --data /tmp/jimnet2d_bench \\
        --model /tmp/jimnet2d_run/model.pt
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from jimnet.cluster import cluster_features
from jimnet.evaluate import clustering_accuracy
from jimnet.io.pfpascal import image_set, load_images, read_pairs
from jimnet.models import load_model
from jimnet.models.layers import feature_l2_norm


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True)
    args = ap.parse_args()
    entries = image_set(read_pairs(args.data / "train_pairs.csv"))
    truth = np.array([c for *_, c in entries]) - 1
    images = load_images(entries, args.data / "images", 240).float() / 255
    model = load_model(args.model).eval()
    with torch.no_grad():
        raw = torch.cat([model.trunk(model.normalise(images[i:i + 25]))
                         for i in range(0, len(images), 25)])
    normed = feature_l2_norm(raw)
    for name, feats in (("max pool, L2-normalised", normed.amax((2, 3))),
                        ("mean pool, L2-normalised", normed.mean((2, 3))),
                        ("max pool, raw", raw.amax((2, 3))),
                        ("mean pool, raw", raw.mean((2, 3)))):
        labels, _ = cluster_features(feats.numpy(), int(truth.max()) + 1, seed=0)
        print(f"{name}: accuracy {clustering_accuracy(truth, labels).accuracy:.3f}")


if __name__ == "__main__":
    main()
