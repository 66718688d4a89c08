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

from jimnet._lazy import lazy_exports

# Defining module → exported names, imported on first use (fast CLI start-up).
_EXPORTS = {
    "jimnet.align.api": (
        "METHODS", "AlignResult", "Method", "align", "align_pairs", "align_to_reference",
    ),
    "jimnet.align.params": ("AlignParams",),
    "jimnet.align.so3_grid": ("grid_size", "local_rotations", "uniform_rotations"),
    "jimnet.align.star": ("align_star",),
    "jimnet.align.wedge": ("WedgeLike",),
}
__getattr__, __dir__, __all__ = lazy_exports(__name__, _EXPORTS)
