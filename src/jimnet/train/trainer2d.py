"""Jim-Net 2D training on an image set (METHOD.md §5, 2D column).

Two phases, one epoch counter:

1. ``pretrain_epochs`` of **self-supervised synthetic warps** (Rocco et al. 2017, the paper's
   initialisation of the alignment module): every image is paired with itself warped by a random
   affine∘TPS (reflection padding), and the predicted affine and composed warps are fitted to the
   known one with the grid-point loss (mean squared distance of a 20 × 20 grid). No labels, no
   keypoints.
2. ``epochs`` of **Jim-Net**: feature pass → t-SNE(3) → GMM → Hungarian re-indexing → warm start
   of the classifier → within-cluster pairs (:mod:`jimnet.train.jimnet_epoch`, shared with 3D) →
   one pass minimising ``−(s_aff + s_comp) + α·CE`` (:func:`jimnet.losses.jimnet_2d_loss`).

Run directory: ``checkpoint.pt`` (after every epoch, atomically: model, optimiser, labels,
epoch), ``model.pt`` (:func:`jimnet.models.load_model`), ``metrics.jsonl``, ``config.json``.
A resumed run continues exactly (per-epoch random streams derive from ``(seed, epoch)``).
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import v_measure_score

from jimnet.device import resolve_device
from jimnet.evaluate import clustering_accuracy
from jimnet.io.metrics import METRICS_NAME
from jimnet.losses import jimnet_2d_loss
from jimnet.models.checkpoint import model_from_checkpoint, model_to_checkpoint
from jimnet.models.jimnet2d import JimNet2D, JimNet2DConfig
from jimnet.train.jimnet_epoch import clustering_step, epoch_rng, warm_start_classifier
from jimnet.transform.warp2d import (
    affine_points,
    compose_points,
    random_affine,
    random_tps,
    transform_grid,
    unit_grid,
    warp_image,
)

CHECKPOINT_NAME = "checkpoint.pt"
MODEL_NAME = "model.pt"


@dataclass
class Train2DConfig:
    """Training settings.

    Attributes
    ----------
    model : dict
        :class:`JimNet2DConfig` fields (``n_clusters`` is set from ``n_clusters`` below).
    n_clusters : int
        K (given).
    epochs : int
        Jim-Net epochs (after the pre-training).
    pretrain_epochs : int
        Synthetic-warp epochs first (0 to skip, e.g. when starting from trained weights).
    batch_size : int
        Pairs per step (8 in the authors' code).
    lr, cluster_lr : float
        Adam learning rates of the trunk + regressors and of M_CP in the Jim-Net phase (the
        paper: 1e−7 on a pre-trained ResNet, 1e−4; from scratch the trunk needs more).
    pretrain_lr : float
        Adam learning rate at the start of the synthetic-warp phase (Rocco et al.: 1e−3),
        cosine-decayed over the pre-training epochs.
    freeze_bn : bool
        BatchNorm statistics frozen (eval mode) in the Jim-Net epochs, as the authors' code
        (``update_bn_buffers=False``); the affine BN parameters still train.
    warmup_epochs : int
        Classifier warm-start passes per epoch (10).
    alpha, lambda_a : float
        CE weight (0.01) and optional L_A weight (0, as the code).
    use_tsne : bool
        t-SNE(3) before the GMM.
    pretrain_rotation_deg, pretrain_scale, pretrain_shear, pretrain_translation, pretrain_tps :
        Ranges of the synthetic warps (:func:`~jimnet.transform.warp2d.random_affine`).
    seed : int
    device : str
        "auto", "cpu", "cuda", "cuda:1" …
    """

    model: dict
    n_clusters: int = 20
    epochs: int = 10
    pretrain_epochs: int = 5
    batch_size: int = 8
    lr: float = 1e-5
    cluster_lr: float = 1e-4
    pretrain_lr: float = 1e-3
    freeze_bn: bool = True
    warmup_epochs: int = 10
    alpha: float = 0.01
    lambda_a: float = 0.0
    use_tsne: bool = True
    pretrain_rotation_deg: float = 30.0
    pretrain_scale: tuple[float, float] = (0.75, 1.25)
    pretrain_shear: float = 0.15
    pretrain_translation: float = 0.3
    pretrain_tps: float = 0.1
    seed: int = 0
    device: str = "cpu"


@dataclass
class Epoch2DResult:
    """One line of ``metrics.jsonl``."""

    epoch: int
    phase: str
    losses: dict[str, float]
    seconds: float = 0.0
    cluster_sizes: list[int] | None = None
    label_change: float | None = None
    accuracy_gmm: float | None = None
    accuracy_mcp: float | None = None
    v_measure_gmm: float | None = None


class Trainer2D:
    """Trains :class:`JimNet2D` on ``images`` (uint8 (n, 3, S, S)); ``true_classes`` (0-based,
    optional) are only logged against (clustering accuracy, V-measure), never trained on."""

    def __init__(self, images: torch.Tensor, config: Train2DConfig, out_dir: str | os.PathLike,
                 *, true_classes: np.ndarray | None = None,
                 progress: Callable[[str, int, int], None] | None = None) -> None:
        self.images = images
        self.config = config
        self.out_dir = Path(out_dir)
        self.true_classes = true_classes
        self.progress = progress or (lambda stage, done, total: None)
        self.device = resolve_device(config.device)
        model_cfg = JimNet2DConfig.from_dict({**config.model, "n_clusters": config.n_clusters})
        if images.shape[-1] != model_cfg.input_size:
            raise ValueError(f"images are {images.shape[-1]}², the model expects "
                             f"{model_cfg.input_size}²")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(config.seed)
            self.model = JimNet2D(model_cfg).to(self.device)
        self._make_optimizer()
        self.epoch = 0
        self.labels: np.ndarray | None = None

    @property
    def total_epochs(self) -> int:
        return self.config.pretrain_epochs + self.config.epochs

    def _make_optimizer(self) -> None:
        head = [*self.model.reducer.parameters(), *self.model.classifier.parameters()]
        ids = {id(p) for p in head}
        rest = [p for p in self.model.parameters() if id(p) not in ids]
        self.optimizer = torch.optim.Adam([{"params": rest, "lr": self.config.lr},
                                           {"params": head, "lr": self.config.cluster_lr}])

    def _batch(self, indices: np.ndarray) -> torch.Tensor:
        return self.images[torch.as_tensor(indices)].to(self.device, torch.float32) / 255.0

    # ------------------------------------------------------------------------ checkpoints
    def save(self) -> None:
        state = {"model_checkpoint": model_to_checkpoint(self.model),
                 "optimizer": self.optimizer.state_dict(), "epoch": self.epoch,
                 "labels": None if self.labels is None else torch.from_numpy(self.labels),
                 "train_config": json.dumps(asdict(self.config))}
        extra = {"epoch": self.epoch, "n_clusters": self.config.n_clusters}
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name, obj in ((CHECKPOINT_NAME, state),
                          (MODEL_NAME, model_to_checkpoint(self.model, extra))):
            tmp = self.out_dir / (name + ".tmp")
            torch.save(obj, tmp)
            os.replace(tmp, self.out_dir / name)

    def load(self) -> int:
        state = torch.load(self.out_dir / CHECKPOINT_NAME, map_location=self.device,
                           weights_only=True)
        self.model = model_from_checkpoint(state["model_checkpoint"]).to(self.device)
        self._make_optimizer()
        self.optimizer.load_state_dict(state["optimizer"])
        self.epoch = int(state["epoch"])
        self.labels = None if state["labels"] is None else state["labels"].numpy()
        return self.epoch

    # ----------------------------------------------------------------------------- phases
    def feature_pass(self) -> tuple[np.ndarray, np.ndarray]:
        """M_CP features (n, F) and argmax predictions (n,), eval mode, no gradient."""
        self.model.eval()
        feats, preds = [], []
        n, bs = len(self.images), self.config.batch_size
        with torch.no_grad():
            for start in range(0, n, bs):
                logits, emb = self.model.embed(self._batch(np.arange(start, min(n, start + bs))))
                feats.append(emb.cpu())
                preds.append(logits.argmax(1).cpu())
                self.progress("features", min(n, start + bs), n)
        return torch.cat(feats).numpy(), torch.cat(preds).numpy()

    def pretrain_epoch(self, rng: np.random.Generator) -> dict[str, float]:
        """One pass of synthetic-warp pairs with the grid-point loss."""
        cfg = self.config
        self.model.train()
        order = rng.permutation(len(self.images))
        size = self.model.config.input_size
        grid = unit_grid(20, 20, device=self.device)
        totals = {"grid_aff": 0.0, "grid_comp": 0.0}
        # Cosine decay over the pre-training epochs: at a constant 1e-3 the synthetic-warp
        # training of the benchmark collapsed to the identity in its last epochs (grid loss
        # 0.03 → 0.08 at epochs 39–40), so a run's result depended on when it stopped.
        lr = 0.5 * cfg.pretrain_lr * (1 + math.cos(math.pi * self.epoch / cfg.pretrain_epochs))
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        for start in range(0, len(order), cfg.batch_size):
            idx = order[start:start + cfg.batch_size]
            theta_a = random_affine(len(idx), rng, rotation_deg=cfg.pretrain_rotation_deg,
                                    scale=cfg.pretrain_scale, shear=cfg.pretrain_shear,
                                    translation=cfg.pretrain_translation).to(self.device)
            theta_t = random_tps(len(idx), rng, magnitude=cfg.pretrain_tps,
                                 grid_size=self.model.config.tps_grid).to(self.device)
            source = self._batch(idx)
            target = warp_image(source, transform_grid(size, size, theta_a, theta_t),
                                padding_mode="reflection")
            out = self.model(source, target)
            pts = grid.expand(len(idx), -1, -1)
            truth = compose_points(theta_a, theta_t, pts)
            pred_aff = affine_points(out.theta_aff, pts)
            pred_comp = compose_points(out.theta_aff, out.theta_tps, pts)
            loss_aff = ((pred_aff - truth) ** 2).sum(-1).mean()
            loss_comp = ((pred_comp - truth) ** 2).sum(-1).mean()
            self.optimizer.zero_grad()
            (loss_aff + loss_comp).backward()
            self.optimizer.step()
            totals["grid_aff"] += loss_aff.item() * len(idx)
            totals["grid_comp"] += loss_comp.item() * len(idx)
            self.progress("pretrain", min(len(order), start + cfg.batch_size), len(order))
        return {k: v / len(order) for k, v in totals.items()}

    def jimnet_epoch(self, rng: np.random.Generator) -> Epoch2DResult:
        """Clustering step + one joint pass over within-cluster pairs."""
        cfg = self.config
        features, predictions = self.feature_pass()
        step = clustering_step(features, self.labels, cfg.n_clusters, rng, use_tsne=cfg.use_tsne)
        warm_start_classifier(self.model.classifier, features, step.labels, rng,
                              epochs=cfg.warmup_epochs, batch_size=cfg.batch_size,
                              lr=cfg.cluster_lr, device=self.device)
        self.model.train()
        if cfg.freeze_bn:
            for module in self.model.modules():
                if isinstance(module, torch.nn.modules.batchnorm._BatchNorm):
                    module.eval()
        for group, lr in zip(self.optimizer.param_groups, (cfg.lr, cfg.cluster_lr), strict=True):
            group["lr"] = lr
        pairs = step.pairs[rng.permutation(len(step.pairs))]
        labels = torch.as_tensor(step.labels, device=self.device)
        totals: dict[str, float] = {}
        for start in range(0, len(pairs), cfg.batch_size):
            batch = pairs[start:start + cfg.batch_size]
            out = self.model(self._batch(batch[:, 0]), self._batch(batch[:, 1]))
            loss, parts = jimnet_2d_loss(out.correlation, out.theta_aff, out.theta_tps,
                                         tps_grid=self.model.config.tps_grid,
                                         cluster_logits=out.logits,
                                         cluster_labels=labels[torch.as_tensor(batch[:, 0])],
                                         alpha=cfg.alpha, lambda_a=cfg.lambda_a)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            for k, v in {"total": loss, **parts}.items():
                totals[k] = totals.get(k, 0.0) + v.item() * len(batch)
            self.progress("train", min(len(pairs), start + cfg.batch_size), len(pairs))
        result = Epoch2DResult(
            epoch=0, phase="jimnet", losses={k: v / len(pairs) for k, v in totals.items()},
            cluster_sizes=np.bincount(step.labels, minlength=cfg.n_clusters).tolist(),
            label_change=step.label_change)
        if self.true_classes is not None:
            result.accuracy_gmm = clustering_accuracy(self.true_classes, step.labels).accuracy
            result.accuracy_mcp = clustering_accuracy(self.true_classes, predictions).accuracy
            result.v_measure_gmm = float(v_measure_score(self.true_classes, step.labels))
        self.labels = step.labels
        return result

    def fit(self, *, resume: bool = False,
            on_epoch: Callable[[Epoch2DResult], None] | None = None,
            should_stop: Callable[[], bool] | None = None) -> list[Epoch2DResult]:
        """Run the remaining epochs (pre-training first), checkpointing after each;
        ``should_stop()`` is asked after every epoch (e.g. a wall-clock budget)."""
        if resume:
            self.load()
        else:
            self.out_dir.mkdir(parents=True, exist_ok=True)
            (self.out_dir / METRICS_NAME).write_text("")
        (self.out_dir / "config.json").write_text(json.dumps(asdict(self.config), indent=2))
        results = []
        while self.epoch < self.total_epochs:
            t0 = time.perf_counter()
            rng = epoch_rng(self.config.seed, self.epoch + 1)
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(int(rng.integers(2**31)))
                if self.epoch < self.config.pretrain_epochs:
                    result = Epoch2DResult(0, "pretrain", self.pretrain_epoch(rng))
                else:
                    result = self.jimnet_epoch(rng)
            self.epoch += 1
            result.epoch = self.epoch
            result.seconds = time.perf_counter() - t0
            self.save()
            with open(self.out_dir / METRICS_NAME, "a") as fh:
                fh.write(json.dumps(asdict(result)) + "\n")
            results.append(result)
            if on_epoch:
                on_epoch(result)
            if should_stop is not None and should_stop():
                break
        return results
