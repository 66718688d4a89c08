"""A prediction output folder made from the tiny set's truth (no network needed)."""

import json

import numpy as np
import pytest
import torch

from jimnet.io import ParticleSet
from jimnet.predict import ClassResult, Prediction, write_prediction
from tests.conftest import _blob_reference


def truth_prediction(particles: ParticleSet, seed: int = 0) -> Prediction:
    """Labels and poses from the STAR's truth, averages = the references, half maps = the
    references plus independent noise."""
    rng = np.random.default_rng(seed)
    labels = particles.class_numbers() - 1
    rotations, shifts = particles.poses()
    classes = []
    for k in np.unique(labels):
        ref = torch.from_numpy(_blob_reference(int(k) + 1)).float()
        halves = tuple(ref + 0.3 * float(ref.std()) * torch.from_numpy(
            rng.normal(size=ref.shape)).float() for _ in range(2))
        classes.append(ClassResult(int(k) + 1, np.flatnonzero(labels == k), ref, halves))
    features = rng.normal(size=(len(labels), 8)) + 5.0 * labels[:, None]
    return Prediction(labels=labels, mcp_labels=labels, features=features,
                      embedding=features[:, :3], rotations=rotations, shifts=shifts,
                      classes=classes)


@pytest.fixture(scope="session")
def prediction_dir(tiny_star, tmp_path_factory):
    """``write_prediction`` of :func:`truth_prediction`, with a training log and run record."""
    root = tmp_path_factory.mktemp("report")
    metrics = root / "metrics.jsonl"
    metrics.write_text("".join(json.dumps(
        {"epoch": e, "losses": {"total": 1.0 / e, "align": 0.9 / e}, "cluster_sizes": [4, 4],
         "label_change": None, "seconds": 1.0, "accuracy_gmm": 0.5 + 0.1 * e,
         "accuracy_mcp": None, "rotation_error": 2.0 - 0.1 * e, "translation_error": 3.0,
         "saturation_fraction": 0.1 * e}) + "\n" for e in (1, 2, 3)))
    particles = ParticleSet.from_star(tiny_star)
    out = root / "pred"
    write_prediction(truth_prediction(particles), particles, out, metrics=metrics)
    return out
