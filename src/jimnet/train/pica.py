"""PICA-3D (Huang, Gong & Zhu, CVPR 2020: partition confidence maximisation), the 3D clustering
baseline of SIMULATION_AND_BASELINES §2.5.

For a mini-batch the network gives soft assignments ``P`` (B×K, softmax) and ``P′`` for a
wedge-preserving perturbed copy (:mod:`jimnet.train.augment`). With ``P̂``, ``P̂′`` their columns
L2-normalised, the partition uncertainty index is ``M = P̂ᵀ P̂′`` (K×K, cosines in [0, 1]) and

    L = (1/K) Σ_k CE(softmax(M_k·), k) + λ · (log K − H(q)),    q_k = Σ_i P_ik / B,

the second term keeping the clusters balanced (``λ = 2`` by default). A particle's label is
``argmax_k P_k`` (eval mode, no perturbation).
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from jimnet.train.baseline import BaselineTrainer, batches_of
from jimnet.train.jimnet_epoch import epoch_rng
from jimnet.train.trainer import EpochResult

#: Weight λ of the cluster-size entropy term.
PICA_LAMBDA = 2.0

__all__ = [
    "PICA_LAMBDA",
    "PicaTrainer",
    "partition_uncertainty_index",
    "pica_entropy_term",
    "pica_loss",
]


def partition_uncertainty_index(probs: torch.Tensor, probs_perturbed: torch.Tensor
                                ) -> torch.Tensor:
    """``M = P̂ᵀ P̂′``: cosine similarities between the clusters' assignment vectors.

    Parameters
    ----------
    probs, probs_perturbed : torch.Tensor, shape (B, K)
        Soft assignments (rows sum to 1) of a batch and of its perturbed copy.

    Returns
    -------
    torch.Tensor, shape (K, K)
    """
    return F.normalize(probs, dim=0).T @ F.normalize(probs_perturbed, dim=0)


def pica_entropy_term(probs: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """``log K − H(q)`` with ``q = mean over the batch of probs`` (B, K); ≥ 0, 0 iff balanced."""
    q = probs.sum(dim=0)
    q = q / q.sum()
    return math.log(probs.shape[1]) + torch.sum(q * torch.log(q.clamp_min(eps)))


def pica_loss(probs: torch.Tensor, probs_perturbed: torch.Tensor, lam: float = PICA_LAMBDA
              ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PICA's objective on one batch.

    Parameters
    ----------
    probs, probs_perturbed : torch.Tensor, shape (B, K)
    lam : float
        Weight of :func:`pica_entropy_term`.

    Returns
    -------
    total : torch.Tensor, scalar
        ``pui + lam · entropy``.
    parts : dict
        ``{"pui": mean row cross-entropy of M against its index, "entropy": log K − H(q)}``.
        Its minimum ``log(1 + (K − 1)/e)`` is reached by one-hot, perturbation-consistent,
        balanced assignments (``M = I``, ``q`` uniform).
    """
    m = partition_uncertainty_index(probs, probs_perturbed)
    pui = F.cross_entropy(m, torch.arange(m.shape[0], device=m.device))
    ent = pica_entropy_term(probs)
    return pui + lam * ent, {"pui": pui, "entropy": ent}


class PicaTrainer(BaselineTrainer):
    """PICA-3D on a :class:`~jimnet.io.ParticleSet` (``config.model == "pica"``).

    Parameters
    ----------
    particles, config, out_dir, progress
        As :class:`jimnet.train.trainer.Trainer`.
    pica_lambda : float
        λ of the balance term.
    augment_config : AugmentConfig, optional
        Strength of the perturbation producing ``P′``.
    """

    model_name = "pica"

    def __init__(self, *args, pica_lambda: float = PICA_LAMBDA, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.pica_lambda = pica_lambda

    def predict_labels(self) -> np.ndarray:
        """``argmax P`` (n,) in ``[0, K)`` for every particle with the current model."""
        self._ensure_norm()
        _, logits = self.forward_pass()
        return logits.argmax(axis=1).astype(np.int64)

    def train_pass(self, rng: np.random.Generator, generator: torch.Generator
                   ) -> dict[str, float]:
        """One shuffled pass over the particles; mean losses."""
        self.model.train()
        batches = batches_of(rng.permutation(len(self.particles)), self.config.batch_size)
        sums = {"total": 0.0, "pui": 0.0, "entropy": 0.0}
        count = 0
        for step, idx in enumerate(batches):
            x = self._batch(idx)
            x_perturbed = self._augment(x, idx, generator)
            p = torch.softmax(self.model(x), dim=1)
            p_perturbed = torch.softmax(self.model(x_perturbed), dim=1)
            total, parts = pica_loss(p, p_perturbed, self.pica_lambda)
            self.optimizer.zero_grad()
            total.backward()
            self.optimizer.step()
            for key, value in {"total": total, **parts}.items():
                sums[key] += float(value.detach()) * len(idx)
            count += len(idx)
            self.progress("train", step + 1, len(batches))
        return {k: v / max(count, 1) for k, v in sums.items()}

    def run_epoch(self) -> EpochResult:
        cfg = self.config
        epoch = self.epoch + 1
        rng = epoch_rng(cfg.seed, epoch)
        generator = torch.Generator().manual_seed(int(rng.integers(2**63)))
        losses = self.train_pass(rng, generator)
        labels = self.predict_labels()
        label_change = None if self.labels is None else float(np.mean(labels != self.labels))
        self.labels = labels
        self.epoch = epoch
        return EpochResult(epoch=epoch, losses=losses,
                           cluster_sizes=np.bincount(labels, minlength=cfg.n_clusters).tolist(),
                           label_change=label_change, seconds=0.0,
                           accuracy_gmm=self.accuracy(labels))
