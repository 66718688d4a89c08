"""Shared machinery of the clustering baselines (DeepCluster-3D, PICA-3D).

A :class:`BaselineTrainer` owns a :class:`~jimnet.models.CNN3D` and its NAdam optimiser (eps 1e-7,
``lr`` for the encoder and ``cluster_lr`` for the head, as Jim-Net; supplement §S3.1); the run
directory, checkpoints, resume and the epoch loop are :class:`jimnet.train.trainer.TrainingRun`'s,
so it writes exactly what the Jim-Net trainer writes. Every random step draws from generators
seeded by ``(seed, epoch)``, so a resumed run equals an uninterrupted one. The baselines run in a
single process.
"""

from __future__ import annotations

import os
from collections.abc import Callable

import numpy as np
import torch

from jimnet.distributed import rank_and_world
from jimnet.errors import JimnetInputError
from jimnet.evaluate import clustering_accuracy
from jimnet.features import classify_particles
from jimnet.fourier import wedge_mask
from jimnet.io import ParticleSet
from jimnet.models import CNN3D, CNN3DConfig
from jimnet.models.checkpoint import model_from_checkpoint
from jimnet.train.augment import AugmentConfig, augment
from jimnet.train.trainer import EpochResult, TrainConfig, TrainingRun

ProgressCallback = Callable[[str, int, int], None]


def require_single_process(model_name: str) -> None:
    """Raise :class:`JimnetInputError` under ``torchrun`` with more than one process."""
    world = max(rank_and_world()[1], int(os.environ.get("WORLD_SIZE", "1") or 1))
    if world > 1:
        raise JimnetInputError(f"--model {model_name}: the clustering baselines run "
                               f"single-process; launch without torchrun (world size {world})")


def build_cnn(config: TrainConfig, box_size: int) -> CNN3D:
    """A fresh :class:`CNN3D` (``width``, ``n_clusters``), or the one in ``config.init``."""
    if config.init:
        ckpt = torch.load(config.init, map_location="cpu", weights_only=True)
        model = model_from_checkpoint(ckpt.get("model_checkpoint", ckpt))
        if not isinstance(model, CNN3D) or model.config.n_clusters != config.n_clusters:
            raise JimnetInputError(f"--init {config.init}: not a {config.model} model with "
                                   f"{config.n_clusters} clusters")
        return model
    return CNN3D(CNN3DConfig(width=config.width, n_clusters=config.n_clusters,
                             input_size=box_size))


def batches_of(order: np.ndarray, batch_size: int, min_size: int = 2) -> list[np.ndarray]:
    """Consecutive chunks of ``order``; a last chunk smaller than ``min_size`` is dropped
    (BatchNorm needs two samples)."""
    chunks = [order[s:s + batch_size] for s in range(0, len(order), batch_size)]
    return [c for c in chunks if len(c) >= min_size]


class BaselineTrainer(TrainingRun):
    """Common loop of the baselines; subclasses implement :meth:`run_epoch` and
    :meth:`predict_labels`.

    Parameters
    ----------
    particles : ParticleSet
    config : TrainConfig
        ``config.model`` must be the subclass's ``model_name``.
    out_dir : path
    progress : callable(stage, done, total), optional
    augment_config : AugmentConfig, optional
        Strength of the wedge-preserving perturbations.
    """

    model_name = ""

    def __init__(self, particles: ParticleSet, config: TrainConfig, out_dir: str | os.PathLike,
                 *, progress: ProgressCallback | None = None,
                 augment_config: AugmentConfig | None = None) -> None:
        if config.model != self.model_name:
            raise JimnetInputError(f"{type(self).__name__} needs config.model="
                                   f"{self.model_name!r}, got {config.model!r}")
        require_single_process(self.model_name)
        self.augment_config = augment_config or AugmentConfig()
        super().__init__(particles, config, out_dir, progress=progress)

    def build_model(self) -> CNN3D:
        return build_cnn(self.config, self.particles.box_size)

    # ---------------------------------------------------------------- helpers

    def _augment(self, volumes: torch.Tensor, indices: np.ndarray,
                 generator: torch.Generator) -> torch.Tensor:
        """Wedge-preserving perturbation of ``volumes`` (particles ``indices``)."""
        tilts = self.tilts[indices]
        observed = wedge_mask(volumes.shape[-3:], torch.from_numpy(tilts[:, 0]),
                              torch.from_numpy(tilts[:, 1]), sphere=False, layout="rfft",
                              dtype=torch.float32)
        symmetric = np.isclose(tilts[:, 0], -tilts[:, 1]).tolist()
        return augment(volumes, generator, observed=observed, symmetric_wedge=symmetric,
                       config=self.augment_config)

    def forward_pass(self) -> tuple[np.ndarray, np.ndarray]:
        """Encoder features (n, F) and cluster logits (n, K) of every particle (eval mode, no
        augmentation, no gradient)."""
        assert self.norm is not None
        return classify_particles(self.model, self.particles, self.norm,
                                  self.config.batch_size, self.device, self.progress)

    def accuracy(self, labels: np.ndarray) -> float | None:
        """Hungarian-matched accuracy against ``rlnClassNumber`` (None without it)."""
        if self.true_classes is None:
            return None
        return clustering_accuracy(self.true_classes - 1, labels, None).accuracy

    # ---------------------------------------------------------------- the loop

    def run_epoch(self) -> EpochResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def predict_labels(self) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError
