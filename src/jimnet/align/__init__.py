"""Classical subtomogram alignment: H-T align and F&A align on one rotational-search engine.

Direction: ``align(source, target, …)`` returns ``(R, t)`` with
``rigid_transform(source, R, t) ≈ target`` (the paper's pair protocol). Aligning particles to a
reference returns reference → particle poses, RELION's meaning of ``rlnAngle*``.

Modules: :mod:`~jimnet.align.so3_grid` (uniform and local rotation grids),
:mod:`~jimnet.align.spectra` (centred spectra at rotated frequencies),
:mod:`~jimnet.align.wedge` (wedge descriptions), :mod:`~jimnet.align.centre` (particle masks),
:mod:`~jimnet.align.score` (the constrained correlation and amplitude scores),
:mod:`~jimnet.align.search` (parameters, levels, local refinement),
:mod:`~jimnet.align.ht`, :mod:`~jimnet.align.fa`, :mod:`~jimnet.align.exhaustive` (strategies),
:mod:`~jimnet.align.api`, :mod:`~jimnet.align.star` (STAR files).
"""

from typing import TYPE_CHECKING

from jimnet._lazy import lazy_exports

if TYPE_CHECKING:
    from jimnet.align.api import (
        METHODS,
        AlignResult,
        Method,
        align,
        align_pairs,
        align_to_reference,
    )
    from jimnet.align.params import AlignParams
    from jimnet.align.so3_grid import grid_size, local_rotations, uniform_rotations
    from jimnet.align.star import align_star
    from jimnet.align.wedge import WedgeLike

_EXPORTS = {
    "METHODS": "jimnet.align.api",
    "AlignResult": "jimnet.align.api",
    "Method": "jimnet.align.api",
    "align": "jimnet.align.api",
    "align_pairs": "jimnet.align.api",
    "align_to_reference": "jimnet.align.api",
    "AlignParams": "jimnet.align.params",
    "grid_size": "jimnet.align.so3_grid",
    "local_rotations": "jimnet.align.so3_grid",
    "uniform_rotations": "jimnet.align.so3_grid",
    "align_star": "jimnet.align.star",
    "WedgeLike": "jimnet.align.wedge",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "METHODS",
    "AlignParams",
    "AlignResult",
    "Method",
    "WedgeLike",
    "align",
    "align_pairs",
    "align_star",
    "align_to_reference",
    "grid_size",
    "local_rotations",
    "uniform_rotations",
]
