"""Structured outputs of the alignment models."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class StagePose:
    """One alignment stage's prediction.

    Attributes
    ----------
    params : torch.Tensor, shape (B, 6)
        The pose head's outputs (three rotation, three shift parameters): sigmoid values in
        (0, 1) for ``rotation_param="euler"``, raw values for ``"axis_angle"``
        (:func:`jimnet.models.heads.params_to_pose`).
    rotation : torch.Tensor, shape (B, 3, 3)
        zyx rotation of the stage (:func:`jimnet.models.heads.params_to_pose`).
    shift : torch.Tensor, shape (B, 3)
        zyx shift of the stage in voxels (``τ·N/2``).
    shift_normalised : torch.Tensor, shape (B, 3)
        The same shift in units of half the box (``τ``), as used by L_R.
    """

    params: torch.Tensor
    rotation: torch.Tensor
    shift: torch.Tensor
    shift_normalised: torch.Tensor


@dataclass
class AlignmentOutput:
    """What :class:`~jimnet.models.GumNet` and :class:`~jimnet.models.JimNet3D` return.

    Attributes
    ----------
    rotation : torch.Tensor, shape (B, 3, 3)
        Final predicted pose (composed over the stages for Jim-Net): warping the source by
        ``(rotation, shift)`` should give the target. zyx, jimnet convention.
    shift : torch.Tensor, shape (B, 3)
        Final shift in voxels (zyx).
    output : torch.Tensor, shape (B, D, H, W)
        The source warped once by the final pose, missing-wedge imputed when tilt ranges were
        given (else equal to ``warped``) — what the alignment loss compares with the target.
    warped : torch.Tensor, shape (B, D, H, W)
        The source warped by the final pose, without imputation.
    stages : tuple of StagePose
        Per-stage predictions: one for Gum-Net, ``(coarse, fine)`` for Jim-Net.
    coarse_output : torch.Tensor or None, shape (B, D, H, W)
        Jim-Net: the source warped by the coarse pose (imputed like ``output``).
    cluster_logits : torch.Tensor or None, shape (B, K)
        Jim-Net: M_CP scores for the source.
    features : torch.Tensor or None, shape (B, F)
        Jim-Net: M_CP penultimate features of the source (the GMM input).
    """

    rotation: torch.Tensor
    shift: torch.Tensor
    output: torch.Tensor
    warped: torch.Tensor
    stages: tuple[StagePose, ...]
    coarse_output: torch.Tensor | None = None
    cluster_logits: torch.Tensor | None = None
    features: torch.Tensor | None = None

    @property
    def params(self) -> torch.Tensor:
        """Sigmoid parameters of the last stage, (B, 6)."""
        return self.stages[-1].params

    @property
    def coarse(self) -> StagePose:
        """The first stage."""
        return self.stages[0]

    @property
    def fine(self) -> StagePose:
        """The last stage (the same as ``coarse`` for single-stage Gum-Net)."""
        return self.stages[-1]

    def pose_numpy(self) -> tuple[np.ndarray, np.ndarray]:
        """Final pose as float64 numpy arrays ``(R (B, 3, 3), t (B, 3) voxels)``."""
        return (self.rotation.detach().cpu().double().numpy(),
                self.shift.detach().cpu().double().numpy())
