"""Jim-Net's pair-matching training loop (METHOD.md §5.1) and Gum-Net's random-pair loop.

One epoch of ``model="jimnet"``:

1. feature pass (eval mode): M_CP penultimate features of every subtomogram;
2. t-SNE (3-D) → full-covariance GMM with ``K`` components → hard labels;
3. Hungarian re-indexing of the labels against the previous epoch;
4. warm start of M_CP's last layer on the cached features (``warmup_epochs`` passes);
5. within-cluster pair matching (every particle once as source, once as target, no self-pairs);
6. one joint training pass: ``L_align + L_align(coarse) + λ_R·L_R + α·CE``.

``model="gumnet"`` pairs particles at random and trains on the alignment loss only.

Every random step draws from generators seeded by ``(seed, epoch)``, so a run resumed from the
checkpoint of epoch ``e`` continues exactly as the uninterrupted run would.

Under ``torchrun`` (an initialised process group) the feature pass is sharded and gathered, every
rank clusters the same features with the same seed (so labels agree without a broadcast), the
training batches are dealt round-robin to the ranks and gradients are averaged by
``DistributedDataParallel``; only rank 0 writes files.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import torch
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from jimnet.device import resolve_device
from jimnet.distributed import barrier, rank_and_world, sum_across_ranks
from jimnet.errors import JimnetInputError
from jimnet.evaluate import clustering_accuracy
from jimnet.evaluate.poses import pair_pose_errors
from jimnet.features import Normalisation, classify_particles, global_normalisation
from jimnet.fourier import common_wedge_mask
from jimnet.io import ParticleSet
from jimnet.io.metrics import METRICS_NAME
from jimnet.losses import (
    alignment_loss,
    cluster_cross_entropy,
    jimnet_3d_loss,
    masked_alignment_loss,
)
from jimnet.models import AlignmentOutput, GumNet, JimNet3D
from jimnet.models.checkpoint import model_from_checkpoint, model_to_checkpoint
from jimnet.train.jimnet_epoch import clustering_step, epoch_rng, warm_start_classifier
from jimnet.train.pairs import tilt_tensors

ModelName = Literal["jimnet", "gumnet", "deepcluster", "pica"]
WedgeLoss = Literal["imputed", "masked", "none"]
WEDGE_LOSSES = ("imputed", "masked", "none")
CHECKPOINT_NAME = "checkpoint.pt"
MODEL_NAME = "model.pt"


@dataclass
class TrainConfig:
    """Training settings (defaults: METHOD.md §5.2 recommended choices, CPU-sized network).

    Attributes
    ----------
    model : {"jimnet", "gumnet"}
    n_clusters : int
        K, the number of clusters (given, not estimated).
    epochs : int
        Total number of epochs (a resumed run continues up to this number).
    width : float
        Network width multiplier (1.0 = paper size).
    batch_size : int
    lr : float
        Learning rate of everything but the cluster head (NAdam, eps 1e-7).
    cluster_lr : float
        Learning rate of the cluster head M_CP and of its warm start.
    warmup_epochs : int
        Passes of the classifier warm start on cached features per epoch.
    alpha, lambda_r, coarse_weight : float
        Loss weights (cluster CE, fine regulariser L_R, coarse-stage alignment loss).
    use_tsne : bool
        t-SNE before the GMM (paper); ``False`` fits the GMM on raw features.
    wedge_loss : {"imputed", "masked", "none"}
        How the alignment loss treats missing wedges (tilt ranges from the STAR):
        ``"imputed"`` = Gum-Net/Jim-Net imputation of the source's missing wedge with the
        target's coefficients (the paper); ``"masked"`` = ``1 − r²`` over the frequencies observed
        in both (no imputation; at low SNR imputation rewards poses that merely move the wedge,
        see :func:`jimnet.losses.masked_alignment_loss`); ``"none"`` = plain ``1 − r²``.
    seed : int
    device : str
        "cpu", "cuda" or "auto".
    init : str or None
        Checkpoint or model file to start from (fine-tuning), e.g. an SNR-100 model.
    cluster_only : bool
        Jim-Net trained with its clustering branch only (cross-entropy on the GMM labels, no
        alignment losses): the "Jim-Net (cluster)" ablation of METHOD.md §6.3.
    """

    model: ModelName = "jimnet"
    n_clusters: int = 5
    epochs: int = 10
    width: float = 0.25
    batch_size: int = 16
    lr: float = 1e-4
    cluster_lr: float = 1e-4
    warmup_epochs: int = 10
    alpha: float = 0.01
    lambda_r: float = 0.1
    coarse_weight: float = 1.0
    use_tsne: bool = True
    wedge_loss: WedgeLoss = "imputed"
    seed: int = 0
    device: str = "auto"
    init: str | None = None
    cluster_only: bool = False


class _ClassifyView(nn.Module):
    """``forward`` = the model's M_CP branch, so DDP can wrap the clustering-only ablation."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, volume: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.model.classify(volume)


def build_model(config: TrainConfig, box_size: int) -> nn.Module:
    """A fresh model, or the one in ``config.init`` (its weights; K and box must agree)."""
    if config.init:
        ckpt = torch.load(config.init, map_location="cpu", weights_only=True)
        return model_from_checkpoint(ckpt.get("model_checkpoint", ckpt))
    if config.model == "jimnet":
        return JimNet3D(width=config.width, n_clusters=config.n_clusters, input_size=box_size)
    return GumNet(width=config.width, input_size=box_size)


def _optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    head = list(model.cluster_head.parameters()) if hasattr(model, "cluster_head") else []
    head_ids = {id(p) for p in head}
    rest = [p for p in model.parameters() if id(p) not in head_ids]
    groups = [{"params": rest, "lr": config.lr}]
    if head:
        groups.append({"params": head, "lr": config.cluster_lr})
    return torch.optim.NAdam(groups, eps=1e-7)


@dataclass
class EpochResult:
    """What one epoch logged (also one line of ``metrics.jsonl``)."""

    epoch: int
    losses: dict[str, float]
    cluster_sizes: list[int]
    label_change: float | None
    seconds: float
    accuracy_gmm: float | None = None
    accuracy_mcp: float | None = None
    rotation_error: float | None = None
    translation_error: float | None = None


class TrainingRun:
    """What every trainer shares: the run directory, atomic checkpoints, exact resume and the
    epoch loop. Subclasses implement :meth:`build_model` and :meth:`run_epoch`.

    ``out_dir`` receives ``checkpoint.pt`` (after every epoch, atomically: model, optimiser,
    labels, normalisation, epoch, config), ``model.pt`` (the latest model alone, loadable by
    :func:`jimnet.models.checkpoint.load_model`), ``metrics.jsonl`` and ``config.json``.
    """

    particles: ParticleSet
    config: TrainConfig
    out_dir: Path
    model: nn.Module
    device: torch.device
    rank: int = 0
    world: int = 1
    labels: np.ndarray | None = None
    epoch: int = 0
    norm: Normalisation | None = None

    def __init__(self, particles: ParticleSet, config: TrainConfig, out_dir: str | os.PathLike,
                 *, progress: Callable[[str, int, int], None] | None = None) -> None:
        self.particles = particles
        self.config = config
        self.out_dir = Path(out_dir)
        self.rank, self.world = rank_and_world()
        self.device = resolve_device(config.device)
        if self.device.type == "cuda" and self.world > 1:
            self.device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", self.rank)))
        self.progress = progress or (lambda stage, done, total: None)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)  # the initial weights depend on the seed only
            self.model = self.build_model().to(self.device)
        self._wrap()
        self.tilts = particles.tilt_ranges()
        self.true_classes = particles.class_numbers()

    def build_model(self) -> nn.Module:  # pragma: no cover - abstract
        """A fresh model for ``config`` (or the one in ``config.init``)."""
        raise NotImplementedError

    def _wrap(self) -> None:
        """(Re)build the optimiser after the model was (re)built."""
        self.optimizer = _optimizer(self.model, self.config)

    @property
    def checkpoint_path(self) -> Path:
        return self.out_dir / CHECKPOINT_NAME

    def save(self) -> None:
        if self.rank != 0:
            barrier()
            return
        state = {
            "model_checkpoint": model_to_checkpoint(self.model),
            "optimizer": self.optimizer.state_dict(),
            "epoch": self.epoch,
            "labels": None if self.labels is None else torch.from_numpy(self.labels),
            "normalisation": None if self.norm is None else [self.norm.mean, self.norm.std],
            "train_config": json.dumps(asdict(self.config)),
        }
        extra = {"normalisation": state["normalisation"], "epoch": self.epoch,
                 "n_clusters": self.config.n_clusters, "model": self.config.model}
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name, obj in ((CHECKPOINT_NAME, state),
                          (MODEL_NAME, model_to_checkpoint(self.model, extra))):
            tmp = self.out_dir / (name + ".tmp")
            torch.save(obj, tmp)
            os.replace(tmp, self.out_dir / name)
        barrier()

    def load(self, path: str | os.PathLike | None = None) -> int:
        """Restore a checkpoint; returns the number of completed epochs."""
        state = torch.load(path or self.checkpoint_path, map_location=self.device,
                           weights_only=True)
        self.model = model_from_checkpoint(state["model_checkpoint"]).to(self.device)
        self._wrap()
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch = int(state["epoch"])
        self.labels = None if state["labels"] is None else state["labels"].numpy()
        self.norm = None if state["normalisation"] is None else Normalisation(
            *state["normalisation"])
        return self.epoch

    def _batch(self, indices: np.ndarray) -> torch.Tensor:
        """Normalised volumes ``particles[indices]``, shape (B, N, N, N), on the device."""
        assert self.norm is not None
        return self.norm.apply(self.particles.get_batch(indices.tolist())).to(self.device)

    def _ensure_norm(self) -> None:
        if self.norm is None:
            self.norm = global_normalisation(self.particles, self.config.batch_size)

    def run_epoch(self) -> EpochResult:  # pragma: no cover - abstract
        raise NotImplementedError

    def fit(self, *, resume: bool = False,
            on_epoch: Callable[[EpochResult], None] | None = None) -> list[EpochResult]:
        """Train up to ``config.epochs`` epochs; with ``resume`` continue from the checkpoint."""
        main = self.rank == 0
        if resume:
            self.load()
        elif main:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / METRICS_NAME).write_text("")
        self._ensure_norm()
        if main:
            (self.out_dir / "config.json").write_text(json.dumps(asdict(self.config), indent=2))
        results = []
        while self.epoch < self.config.epochs:
            t0 = time.perf_counter()
            result = self.run_epoch()
            result.seconds = time.perf_counter() - t0
            self.save()
            if main:
                with open(self.out_dir / METRICS_NAME, "a") as fh:
                    fh.write(json.dumps(asdict(result)) + "\n")
            results.append(result)
            if on_epoch:
                on_epoch(result)
        return results


class Trainer(TrainingRun):
    """Runs :class:`TrainConfig` (``jimnet`` or ``gumnet``) on a
    :class:`~jimnet.io.ParticleSet`, writing into ``out_dir`` (see :class:`TrainingRun`).
    """

    def __init__(self, particles: ParticleSet, config: TrainConfig, out_dir: str | os.PathLike,
                 *, progress: Callable[[str, int, int], None] | None = None) -> None:
        if config.cluster_only and config.model != "jimnet":
            raise JimnetInputError("cluster_only is an ablation of model='jimnet'")
        if config.wedge_loss not in WEDGE_LOSSES:
            raise JimnetInputError(f"wedge_loss must be one of {', '.join(WEDGE_LOSSES)}, "
                                   f"got {config.wedge_loss!r}")
        super().__init__(particles, config, out_dir, progress=progress)
        self.true_poses = particles.poses() if "rlnAngleRot" in particles.table.columns else None

    def build_model(self) -> nn.Module:
        return build_model(self.config, self.particles.box_size)

    def _wrap(self) -> None:
        """(Re)build the optimiser and, under torchrun, the DDP wrapper used for training."""
        self.optimizer = _optimizer(self.model, self.config)
        cluster_only = self.config.cluster_only
        self.net: nn.Module = _ClassifyView(self.model) if cluster_only else self.model
        if self.world > 1:
            ids = None if self.device.type == "cpu" else [self.device.index]
            # The ablation leaves the alignment branch without gradients.
            self.net = DistributedDataParallel(self.net, device_ids=ids,
                                               find_unused_parameters=cluster_only)

    # ---------------------------------------------------------------- the loop

    def feature_pass(self) -> tuple[np.ndarray, np.ndarray]:
        """M_CP features (n, F) and argmax predictions (n,), eval mode, no gradient."""
        assert self.norm is not None
        features, logits = classify_particles(self.model, self.particles, self.norm,
                                              self.config.batch_size, self.device, self.progress)
        return features, logits.argmax(1)

    def warm_start(self, features: np.ndarray, labels: np.ndarray, rng: np.random.Generator
                   ) -> None:
        """Train only M_CP's last layer on cached features (METHOD.md §5.1 step 5)."""
        warm_start_classifier(self.model.cluster_head.fc2, features, labels, rng,
                              epochs=self.config.warmup_epochs, batch_size=self.config.batch_size,
                              lr=self.config.cluster_lr, device=self.device)

    def _batch_loss(self, batch_pairs: np.ndarray, labels: np.ndarray | None
                    ) -> tuple[dict[str, torch.Tensor], AlignmentOutput | None]:
        """Loss parts (``"total"`` included) of one batch of (source, target) pairs, and the
        network's output (``None`` for the clustering-only ablation)."""
        cfg = self.config
        src = self._batch(batch_pairs[:, 0])
        lab = None if labels is None else torch.as_tensor(labels[batch_pairs[:, 0]],
                                                          device=self.device)
        if cfg.cluster_only:
            logits, _ = self.net(src)
            ce = cluster_cross_entropy(logits, lab)
            return {"total": ce, "ce": ce}, None
        tgt = self._batch(batch_pairs[:, 1])
        tilts = (tilt_tensors(self.tilts, batch_pairs[:, 0], self.device),
                 tilt_tensors(self.tilts, batch_pairs[:, 1], self.device))
        if cfg.wedge_loss == "imputed":
            out = self.net(src, tgt, source_tilt=tilts[0], target_tilt=tilts[1])
        else:  # plain warps; "masked" restricts the correlation to the common observed region
            out = self.net(src, tgt)
        masks = {}
        if cfg.wedge_loss == "masked":
            shape = tuple(src.shape[-3:])
            masks["output_mask"] = common_wedge_mask(shape, out.rotation, *tilts)
            if cfg.model == "jimnet":
                masks["coarse_mask"] = common_wedge_mask(shape, out.stages[0].rotation, *tilts)
        if cfg.model == "gumnet":
            align = (masked_alignment_loss(out.output, tgt, masks["output_mask"]) if masks
                     else alignment_loss(out.output, tgt))
            return {"total": align, "align": align}, out
        total, parts = jimnet_3d_loss(
            out.output, tgt, coarse_output=out.coarse_output,
            fine_rotation=out.fine.rotation, fine_shift=out.fine.shift_normalised,
            cluster_logits=out.cluster_logits, cluster_labels=lab,
            coarse_weight=cfg.coarse_weight, lambda_r=cfg.lambda_r, alpha=cfg.alpha, **masks)
        return {"total": total, **parts}, out

    def train_pass(self, pairs: np.ndarray, labels: np.ndarray | None,
                   rng: np.random.Generator
                   ) -> tuple[dict[str, float], tuple[float | None, float | None]]:
        cfg = self.config
        self.model.train()
        order = rng.permutation(len(pairs))
        batches = [order[s:s + cfg.batch_size] for s in range(0, len(order), cfg.batch_size)]
        batches = [b for b in batches if len(b) >= 2]  # BatchNorm needs two samples
        # Every rank must take the same number of DDP steps.
        batches = batches[: len(batches) // self.world * self.world][self.rank::self.world]
        keys = ("total", "align", "align_coarse", "reg", "ce")
        sums = np.zeros(len(keys) + 4)  # losses·n, n, Σ rotation err, Σ translation err, count
        seen: set[str] = set()
        same = self.true_classes
        for step, batch in enumerate(batches):
            batch_pairs = pairs[batch]
            parts, out = self._batch_loss(batch_pairs, labels)
            self._step(parts["total"])
            seen.update(parts)
            for j, key in enumerate(keys):
                if key in parts:
                    sums[j] += float(parts[key].detach()) * len(batch_pairs)
            sums[len(keys)] += len(batch_pairs)
            if out is not None and self.true_poses is not None and same is not None:
                keep = same[batch_pairs[:, 0]] == same[batch_pairs[:, 1]]
                if keep.any():
                    rot, shift = out.pose_numpy()
                    r_err, t_err = pair_pose_errors(rot[keep], shift[keep], *self.true_poses,
                                                    batch_pairs[keep])
                    sums[len(keys) + 1:] += (r_err.sum(), t_err.sum(), len(r_err))
            self.progress("train", step + 1, len(batches))
        sums = sum_across_ranks(sums)
        n = max(1.0, sums[len(keys)])
        losses = {k: sums[j] / n for j, k in enumerate(keys) if k in seen}
        count = sums[-1]
        errors = (None, None) if count == 0 else (sums[-3] / count, sums[-2] / count)
        return losses, errors

    def _step(self, loss: torch.Tensor) -> None:
        self.optimizer.zero_grad()
        loss.backward()
        self.optimizer.step()

    def run_epoch(self) -> EpochResult:
        cfg = self.config
        epoch = self.epoch + 1
        rng = epoch_rng(cfg.seed, epoch)
        n = len(self.particles)
        label_change = None
        acc_gmm = acc_mcp = None
        if cfg.model == "jimnet":
            features, predictions = self.feature_pass()
            step = clustering_step(features, self.labels, cfg.n_clusters, rng,
                                   use_tsne=cfg.use_tsne)
            labels, pairs, label_change = step.labels, step.pairs, step.label_change
            self.warm_start(features, labels, rng)
            if self.true_classes is not None:
                acc_gmm = clustering_accuracy(self.true_classes - 1, labels, None).accuracy
                acc_mcp = clustering_accuracy(self.true_classes - 1, predictions, None).accuracy
        else:
            labels = None
            pairs = np.stack([np.arange(n), rng.permutation(n)], axis=1)
        losses, errors = self.train_pass(pairs, labels, rng)
        self.labels = labels
        self.epoch = epoch
        sizes = [] if labels is None else np.bincount(labels, minlength=cfg.n_clusters).tolist()
        result = EpochResult(
            epoch=epoch, losses=losses, cluster_sizes=sizes, label_change=label_change,
            seconds=0.0, accuracy_gmm=acc_gmm, accuracy_mcp=acc_mcp,
            rotation_error=errors[0], translation_error=errors[1])
        return result
