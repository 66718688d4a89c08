"""Jim-Net's pair-matching training loop (METHOD.md §5.1) and Gum-Net's random-pair loop.

One epoch of ``model="jimnet"``:

1. feature pass (eval mode): M_CP penultimate features of every subtomogram;
2. t-SNE (3-D) → full-covariance GMM with ``K`` components → hard labels;
3. Hungarian re-indexing of the labels against the previous epoch;
4. warm start of M_CP's last layer on the cached features (``warmup_epochs`` passes);
5. within-cluster pair matching (every particle once as source, once as target, no self-pairs);
6. one joint training pass: ``L_align + L_align(coarse) + λ_R·L_R + α·CE`` (+ the box guard);
7. BatchNorm recalibration (running statistics re-estimated with the final weights, so the next
   feature pass, the saved model and ``predict`` run the network that was trained);
8. with ``curriculum="self"``: the capture range is measured and the residual bound widened.

``model="gumnet"`` pairs particles at random and trains on the alignment loss only.

With ``curriculum="self"`` the alignment pairs are each particle and a copy of it re-posed by a
bounded residual (:mod:`jimnet.train.curriculum`), instead of within-cluster/random pairs.
``TrainConfig.paper_faithful()`` gives the paper's configuration.

Every random step draws from generators seeded by ``(seed, epoch)``, so a run resumed from the
checkpoint of epoch ``e`` continues exactly as the uninterrupted run would.

Under ``torchrun`` (an initialised process group) the feature pass is sharded and gathered, every
rank clusters the same features with the same seed (so labels agree without a broadcast), the
training batches are dealt round-robin to the ranks and gradients are averaged by
``DistributedDataParallel``; only rank 0 writes files.
"""

from __future__ import annotations

import contextlib
import json
import os
import time
from collections.abc import Callable, Iterator
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
from jimnet.fourier import wedge_mask
from jimnet.geometry import rotation_error_frobenius
from jimnet.io import ParticleSet
from jimnet.io.metrics import METRICS_NAME
from jimnet.losses import (
    alignment_loss,
    box_guard,
    cluster_cross_entropy,
    jimnet_3d_loss,
    masked_alignment_loss,
    pose_displacement_loss,
    saturation_guard,
)
from jimnet.models import AlignmentOutput, GumNet, JimNet3D
from jimnet.models.batchnorm import recalibrate_batchnorm
from jimnet.models.checkpoint import model_from_checkpoint, model_to_checkpoint
from jimnet.models.heads import SATURATION_LEVEL, RotationParam, raw_outputs, saturation
from jimnet.models.layers import KERAS_BN_MOMENTUM
from jimnet.train.curriculum import Curriculum, capture_range, copy_pair, residual_poses
from jimnet.train.jimnet_epoch import clustering_step, epoch_rng, warm_start_classifier
from jimnet.train.pairs import tilt_tensors

ModelName = Literal["jimnet", "gumnet", "deepcluster", "pica"]
WedgeLoss = Literal["imputed", "masked", "none"]
WEDGE_LOSSES = ("imputed", "masked", "none")
CurriculumName = Literal["none", "self"]
CURRICULA = ("none", "self")
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
    wedge_loss : {"masked", "imputed", "none"}
        How the alignment loss treats missing wedges (tilt ranges from the STAR; default
        masked):
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
    rotation_param : {"axis_angle", "euler"}
        Pose parameterisation of the network (:mod:`jimnet.models.heads`; paper: euler).
    head_init : {"identity", "gumnet", "default"}
        Initialisation of the (coarse) pose head (paper: gumnet; the fine head is always the
        identity).
    bn_momentum : float
        BatchNorm momentum (PyTorch terms; paper/Keras: 0.01).
    bn_recalibration : int
        Batches of the BatchNorm recalibration after every training pass (0 = off, the paper).
    guard_weight : float
        Weight of the guards (0 = off, the paper): :func:`jimnet.losses.box_guard` on the final
        shift and :func:`jimnet.losses.saturation_guard` on every pose head.
    curriculum : {"none", "self"}
        ``"self"``: in-basin copy pairs with a residual bound that grows with the measured
        capture range (needs ``wedge_loss`` "masked" or "none").
    curriculum_start_deg, curriculum_start_shift, curriculum_growth : float
        Initial residual bound (degrees, voxels) and its growth factor over the capture range.
    capture_probes : int
        Particles used to measure the capture range after each epoch (curriculum only).
    copy_pose_weight : float
        Curriculum only: weight of a pose loss against each copy's known residual, the mean
        squared displacement between the predicted and the true transformation over the
        unit ball (:func:`jimnet.losses.rigid_regularization` of their difference; 0 = off).
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
    wedge_loss: WedgeLoss = "masked"
    seed: int = 0
    device: str = "auto"
    init: str | None = None
    cluster_only: bool = False
    rotation_param: RotationParam = "axis_angle"
    head_init: str = "identity"
    bn_momentum: float = 0.1
    bn_recalibration: int = 8
    guard_weight: float = 1.0
    curriculum: CurriculumName = "none"
    curriculum_start_deg: float = 20.0
    curriculum_start_shift: float = 2.0
    curriculum_growth: float = 1.5
    capture_probes: int = 8
    copy_pose_weight: float = 0.0

    @classmethod
    def paper_faithful(cls, **overrides: object) -> TrainConfig:
        """The paper's configuration (Gum-Net head init, ZYZ Euler + sigmoid heads with ±N/2
        shifts, Keras BatchNorm momentum without recalibration, imputed loss, no guard, no
        curriculum); keyword overrides on top."""
        paper = {"rotation_param": "euler", "head_init": "gumnet",
                 "bn_momentum": KERAS_BN_MOMENTUM, "bn_recalibration": 0, "guard_weight": 0.0,
                 "wedge_loss": "imputed", "curriculum": "none"}
        return cls(**{**paper, **overrides})


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
    common = {"width": config.width, "input_size": box_size,
              "rotation_param": config.rotation_param, "bn_momentum": config.bn_momentum}
    if config.model == "jimnet":
        return JimNet3D(n_clusters=config.n_clusters, coarse_init=config.head_init, **common)
    return GumNet(head_init=config.head_init, **common)


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
    saturated: float | None = None
    capture_deg: float | None = None
    capture_vox: float | None = None
    residual_deg: float | None = None
    residual_vox: float | None = None


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
    _saturation: float | None = None

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
            "run_state": json.dumps(self.run_state()),
        }
        extra = {"normalisation": state["normalisation"], "epoch": self.epoch,
                 "n_clusters": self.config.n_clusters, "model": self.config.model,
                 "pixel_size": self.particles.pixel_size}  # Å per voxel of the model's box
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
        self.load_run_state(json.loads(state.get("run_state") or "{}"))
        return self.epoch

    def run_state(self) -> dict:
        """Plain data a subclass needs to resume exactly (saved in the checkpoint)."""
        return {}

    def load_run_state(self, state: dict) -> None:
        """Restore what :meth:`run_state` returned."""

    def _batch(self, indices: np.ndarray) -> torch.Tensor:
        """Normalised volumes ``particles[indices]``, shape (B, N, N, N), on the device."""
        assert self.norm is not None
        return self.norm.apply(self.particles.get_batch(indices.tolist())).to(self.device)

    def _ensure_norm(self) -> None:
        if self.norm is None:
            with self.phase("normalise"):  # one read of every particle
                self.norm = global_normalisation(self.particles, self.config.batch_size)

    def run_epoch(self) -> EpochResult:  # pragma: no cover - abstract
        raise NotImplementedError

    @contextlib.contextmanager
    def phase(self, name: str) -> Iterator[None]:
        """Report a phase without batches (clustering, recalibration) as a 0/1 → 1/1 stage, so
        the progress display shows it running and its elapsed time."""
        self.progress(name, 0, 1)
        yield
        self.progress(name, 1, 1)

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
        if config.curriculum not in CURRICULA:
            raise JimnetInputError(f"curriculum must be one of {', '.join(CURRICULA)}, "
                                   f"got {config.curriculum!r}")
        if config.curriculum == "self" and config.wedge_loss == "imputed":
            raise JimnetInputError("curriculum 'self' re-poses a copy of the source, whose "
                                   "missing wedge is rotated: use wedge_loss 'masked' or 'none'")
        if config.bn_recalibration < 0 or config.guard_weight < 0:
            raise JimnetInputError("bn_recalibration and guard_weight must be ≥ 0")
        super().__init__(particles, config, out_dir, progress=progress)
        self.true_poses = particles.poses() if "rlnAngleRot" in particles.table.columns else None
        self.curriculum = Curriculum(
            config.curriculum_start_deg, config.curriculum_start_shift,
            config.curriculum_start_deg, config.curriculum_start_shift, config.curriculum_growth,
            shift_limit=float(self.model.config.input_size) / 4.0)

    def build_model(self) -> nn.Module:
        return build_model(self.config, self.particles.box_size)

    def run_state(self) -> dict:
        return {"curriculum": asdict(self.curriculum)}

    def load_run_state(self, state: dict) -> None:
        if "curriculum" in state:
            self.curriculum = Curriculum(**state["curriculum"])

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

    def _pair_inputs(self, batch_pairs: np.ndarray, rng: np.random.Generator | None):
        """Source, target, their tilts, the target's observed mask and the true relative pose
        (known for curriculum copies, else ``None``)."""
        src = self._batch(batch_pairs[:, 0])
        src_tilt = tilt_tensors(self.tilts, batch_pairs[:, 0], self.device)
        if self.config.curriculum == "self":
            cur = self.curriculum
            rot, shift = residual_poses(len(src), cur.max_deg, cur.max_shift,
                                        rng if rng is not None else np.random.default_rng(0))
            tgt, observed = copy_pair(src, torch.from_numpy(rot), torch.from_numpy(shift),
                                      src_tilt)
            return src, tgt, src_tilt, src_tilt, observed, (rot, shift)
        tgt = self._batch(batch_pairs[:, 1])
        tgt_tilt = tilt_tensors(self.tilts, batch_pairs[:, 1], self.device)
        observed = wedge_mask(tuple(src.shape[-3:]), *tgt_tilt, None, layout="unshifted",
                              dtype=src.dtype, device=src.device)
        return src, tgt, src_tilt, tgt_tilt, observed, None

    def _batch_loss(self, batch_pairs: np.ndarray, labels: np.ndarray | None,
                    rng: np.random.Generator | None = None
                    ) -> tuple[dict[str, torch.Tensor], AlignmentOutput | None,
                               tuple[np.ndarray, np.ndarray] | None]:
        """Loss parts (``"total"`` included) of one batch of (source, target) pairs, the
        network's output (``None`` for the clustering-only ablation) and the true relative
        poses when known (curriculum copies)."""
        cfg = self.config
        lab = None if labels is None else torch.as_tensor(labels[batch_pairs[:, 0]],
                                                          device=self.device)
        if cfg.cluster_only:
            logits, _ = self.net(self._batch(batch_pairs[:, 0]))
            ce = cluster_cross_entropy(logits, lab)
            return {"total": ce, "ce": ce}, None, None
        src, tgt, src_tilt, tgt_tilt, observed, truth = self._pair_inputs(batch_pairs, rng)
        if cfg.wedge_loss == "imputed":
            out = self.net(src, tgt, source_tilt=src_tilt, target_tilt=tgt_tilt)
        else:  # plain warps; "masked" restricts the correlation to the common observed region
            out = self.net(src, tgt)
        shape = tuple(src.shape[-3:])
        masks = {}
        if cfg.wedge_loss == "masked":
            def common(rotation: torch.Tensor) -> torch.Tensor:
                return observed * wedge_mask(shape, *src_tilt, rotation.detach(),
                                             layout="unshifted", dtype=src.dtype,
                                             device=src.device)
            masks["output_mask"] = common(out.rotation)
            if cfg.model == "jimnet":
                masks["coarse_mask"] = common(out.stages[0].rotation)
        if cfg.model == "gumnet":
            align = (masked_alignment_loss(out.output, tgt, masks["output_mask"]) if masks
                     else alignment_loss(out.output, tgt))
            parts = {"total": align, "align": align}
        else:
            total, parts = jimnet_3d_loss(
                out.output, tgt, coarse_output=out.coarse_output,
                fine_rotation=out.fine.rotation, fine_shift=out.fine.shift_normalised,
                cluster_logits=out.cluster_logits, cluster_labels=lab,
                coarse_weight=cfg.coarse_weight, lambda_r=cfg.lambda_r, alpha=cfg.alpha,
                **masks)
            parts = {"total": total, **parts}
        if truth is not None and cfg.copy_pose_weight:
            true_r, true_t = (torch.as_tensor(a, dtype=src.dtype, device=src.device)
                              for a in truth)
            parts["pose"] = pose_displacement_loss(out.rotation, out.shift, true_r, true_t,
                                                   half_box=shape[-1] / 2)
            parts["total"] = parts["total"] + cfg.copy_pose_weight * parts["pose"]
        if cfg.guard_weight:
            param = self.model.config.rotation_param
            parts["guard"] = box_guard(out.shift, shape) + sum(
                saturation_guard(raw_outputs(st.params, param)) for st in out.stages)
            parts["total"] = parts["total"] + cfg.guard_weight * parts["guard"]
        return parts, out, truth

    def _saturated(self, out: AlignmentOutput) -> tuple[int, int]:
        """(saturated outputs, outputs) over every pose stage of a batch."""
        param: RotationParam = self.model.config.rotation_param
        sat = torch.cat([saturation(st.params, param) for st in out.stages], dim=-1)
        return int((sat > SATURATION_LEVEL).sum()), sat.numel()

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
        keys = ("total", "align", "align_coarse", "reg", "ce", "guard", "pose")
        # losses·n, n, Σ rotation err, Σ translation err, count, saturated, outputs
        sums = np.zeros(len(keys) + 6)
        n_loss = len(keys)
        seen: set[str] = set()
        same = self.true_classes
        for step, batch in enumerate(batches):
            batch_pairs = pairs[batch]
            parts, out, truth = self._batch_loss(batch_pairs, labels, rng)
            self._step(parts["total"])
            seen.update(parts)
            for j, key in enumerate(keys):
                if key in parts:
                    sums[j] += float(parts[key].detach()) * len(batch_pairs)
            sums[n_loss] += len(batch_pairs)
            if out is None:
                continue
            sums[n_loss + 4:] += self._saturated(out)
            rot, shift = out.pose_numpy()
            if truth is not None:
                r_err = rotation_error_frobenius(truth[0], rot)
                t_err = np.linalg.norm(truth[1] - shift, axis=1)
                sums[n_loss + 1:n_loss + 4] += (r_err.sum(), t_err.sum(), len(r_err))
            elif self.true_poses is not None and same is not None:
                keep = same[batch_pairs[:, 0]] == same[batch_pairs[:, 1]]
                if keep.any():
                    r_err, t_err = pair_pose_errors(rot[keep], shift[keep], *self.true_poses,
                                                    batch_pairs[keep])
                    sums[n_loss + 1:n_loss + 4] += (r_err.sum(), t_err.sum(), len(r_err))
            self.progress("train", step + 1, len(batches))
        sums = sum_across_ranks(sums)
        n = max(1.0, sums[n_loss])
        losses = {k: sums[j] / n for j, k in enumerate(keys) if k in seen}
        count = sums[n_loss + 3]
        errors = (None, None) if count == 0 else (sums[n_loss + 1] / count,
                                                  sums[n_loss + 2] / count)
        self._saturation = None if sums[-1] == 0 else float(sums[-2] / sums[-1])
        return losses, errors

    def recalibrate(self, pairs: np.ndarray, rng: np.random.Generator) -> int:
        """BatchNorm recalibration (:func:`jimnet.models.batchnorm.recalibrate_batchnorm`) on
        ``config.bn_recalibration`` batches of ``pairs``. Every rank runs the same batches, so
        the statistics agree across ranks."""
        cfg = self.config
        order = rng.permutation(len(pairs))
        chunks = [order[s:s + cfg.batch_size] for s in range(0, len(order), cfg.batch_size)]
        chunks = [c for c in chunks if len(c) >= 2][:cfg.bn_recalibration]
        if not chunks:
            return 0

        def run(batch: np.ndarray):
            def forward(model: nn.Module) -> None:
                src, tgt, *_ = self._pair_inputs(pairs[batch], rng)
                if cfg.cluster_only:
                    model.classify(src)
                else:
                    model(src, tgt)
            return forward

        return recalibrate_batchnorm(self.model, (run(c) for c in chunks))

    def measure_capture(self, rng: np.random.Generator):
        """Capture range on copies of ``config.capture_probes`` random particles."""
        n = min(self.config.capture_probes, len(self.particles))
        idx = np.sort(rng.choice(len(self.particles), size=n, replace=False))
        return capture_range(self.model, self._batch(idx), seed=int(rng.integers(2**31)),
                             batch_size=self.config.batch_size)

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
        random_pairs = np.stack([np.arange(n), rng.permutation(n)], axis=1)
        if cfg.bn_recalibration and self.epoch == 0 and cfg.init is None:
            with self.phase("recalibrate"):  # the first feature pass sees fresh statistics
                self.recalibrate(random_pairs, rng)
        if cfg.model == "jimnet":
            features, predictions = self.feature_pass()
            with self.phase("clustering"):
                step = clustering_step(features, self.labels, cfg.n_clusters, rng,
                                       use_tsne=cfg.use_tsne)
                labels, pairs, label_change = step.labels, step.pairs, step.label_change
                self.warm_start(features, labels, rng)
            if self.true_classes is not None:
                acc_gmm = clustering_accuracy(self.true_classes - 1, labels, None).accuracy
                acc_mcp = clustering_accuracy(self.true_classes - 1, predictions, None).accuracy
        else:
            labels = None
            pairs = random_pairs
        residual = (self.curriculum.max_deg, self.curriculum.max_shift)
        losses, errors = self.train_pass(pairs, labels, rng)
        if cfg.bn_recalibration:
            with self.phase("recalibrate"):
                self.recalibrate(pairs, rng)
        capture = None
        if cfg.curriculum == "self" and not cfg.cluster_only:
            with self.phase("capture range"):
                capture = self.measure_capture(rng)
            self.curriculum.update(capture)
        self.labels = labels
        self.epoch = epoch
        sizes = [] if labels is None else np.bincount(labels, minlength=cfg.n_clusters).tolist()
        curriculum = cfg.curriculum == "self"
        result = EpochResult(
            epoch=epoch, losses=losses, cluster_sizes=sizes, label_change=label_change,
            seconds=0.0, accuracy_gmm=acc_gmm, accuracy_mcp=acc_mcp,
            rotation_error=errors[0], translation_error=errors[1],
            saturated=self._saturation,
            capture_deg=None if capture is None else capture.rotation_deg,
            capture_vox=None if capture is None else capture.shift_vox,
            residual_deg=residual[0] if curriculum else None,
            residual_vox=residual[1] if curriculum else None)
        return result
