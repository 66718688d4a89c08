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

from jimnet.align.api import METHODS, AlignResult, Method, align, align_pairs, align_to_reference
from jimnet.align.search import AlignParams
from jimnet.align.so3_grid import grid_size, local_rotations, uniform_rotations
from jimnet.align.star import align_star
from jimnet.align.wedge import WedgeLike

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
