"""Signs that a training run learned nothing, checked on its per-epoch results."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from jimnet.train.trainer import EpochResult

__all__ = ["RANDOM_ROTATION_ERROR", "SATURATION_WARNING", "training_warnings"]

#: Mean ‖R₁ − R₂‖_F of two independent Haar-random rotations: E[2√2 sin(ω/2)] with the
#: angle density (1 − cos ω)/π on [0, π], = 16√2 / (3π) ≈ 2.4008.
RANDOM_ROTATION_ERROR = 16.0 * math.sqrt(2.0) / (3.0 * math.pi)

#: Fraction of saturated pose outputs (gradient ≤ 2 % left) that earns a warning.
SATURATION_WARNING = 0.25


def training_warnings(results: Sequence[EpochResult], tolerance: float = 0.05) -> list[str]:
    """One line per problem: pose error never left ±``tolerance`` of the random value, or the
    last epoch's pose outputs are saturated.

    Parameters
    ----------
    results : sequence of EpochResult
        Every epoch of the run so far (those without a pose error are skipped).
    tolerance : float
        Relative band around :data:`RANDOM_ROTATION_ERROR`.
    """
    out = []
    errors = [r.rotation_error for r in results if r.rotation_error is not None]
    if errors and all(abs(e / RANDOM_ROTATION_ERROR - 1.0) <= tolerance for e in errors):
        out.append(f"rotation error ‖ΔR‖_F stayed at {min(errors):.2f}–{max(errors):.2f}, within "
                   f"{tolerance:.0%} of random rotations ({RANDOM_ROTATION_ERROR:.2f}): the "
                   "alignment branch has not learned (more epochs, a higher SNR, --curriculum "
                   "self, or --init from an SNR-100 model)")
    last = results[-1].saturated if results else None
    if last is not None and last >= SATURATION_WARNING:
        out.append(f"{last:.0%} of the pose outputs are saturated (their gradients are ≤ 2 % "
                   "of the unsaturated ones): the pose heads are stuck at their bounds")
    return out
