"""Jim-Net 2D trainer on a tiny image set: both phases run, exact resume."""

import json

import numpy as np
import torch

from jimnet.train.trainer2d import Train2DConfig, Trainer2D


def _images():
    gen = torch.Generator().manual_seed(0)
    return torch.randint(0, 256, (4, 3, 160, 160), dtype=torch.uint8, generator=gen)


def _config(epochs=1):
    return Train2DConfig(model={"width": 0.25, "input_size": 160}, n_clusters=2, epochs=epochs,
                         pretrain_epochs=1, batch_size=2, warmup_epochs=1, use_tsne=False)


def test_phases_and_exact_resume(tmp_path):
    truth = np.array([0, 0, 1, 1])
    full = Trainer2D(_images(), _config(2), tmp_path / "full", true_classes=truth)
    results = full.fit()
    assert [r.phase for r in results] == ["pretrain", "jimnet", "jimnet"]
    assert set(results[0].losses) == {"grid_aff", "grid_comp"}
    assert {"inlier_aff", "inlier_comp", "ce", "total"} <= set(results[1].losses)
    assert results[1].accuracy_gmm is not None and sum(results[1].cluster_sizes) == 4
    lines = (tmp_path / "full" / "metrics.jsonl").read_text().splitlines()
    assert [json.loads(x)["epoch"] for x in lines] == [1, 2, 3]

    part = Trainer2D(_images(), _config(1), tmp_path / "part", true_classes=truth)
    part.fit()
    resumed = Trainer2D(_images(), _config(2), tmp_path / "part", true_classes=truth)
    resumed.fit(resume=True)
    assert resumed.epoch == 3
    for (k, a), b in zip(full.model.state_dict().items(), resumed.model.state_dict().values(),
                         strict=True):
        torch.testing.assert_close(a, b, msg=k)
    np.testing.assert_array_equal(full.labels, resumed.labels)
