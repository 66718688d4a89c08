"""The paper's numbers: tables S1–S10 of the Jim-Net supplement, transcribed as data.

Source: Zeng, Howe & Xu, *End-to-End Robust Joint Unsupervised Image Alignment and Clustering*
(ICCV 2021), supplementary material, tables S1–S5 (alignment) and S6–S10 (clustering), as stored
in ``shared/paper/jimnet_supplementary.txt`` (section S3.2). One table per macromolecule; the
structures map onto jimnet's shipped stand-ins and class numbers as
(:data:`jimnet.simulate.SHIPPED_STRUCTURES`):

====== ====== ========== ==============================================
class  paper  stand-in   table (alignment, clustering)
====== ====== ========== ==============================================
1      5LQW   3jb9       S1, S6  spliceosome
2      1I6V   1qvr       S2, S7  RNA polymerase–rifampicin complex
3      6A5L   4v4r_30S   S3, S8  RNA polymerase II elongation complex
4      5T2C   6qzp       S4, S9  ribosome
5      5MPA   4cr2       S5, S10 capped proteasome
====== ====== ========== ==============================================

Alignment cells are ``(rotation mean, rotation std, translation mean, translation std)``: the
rotation error is ``‖R_true − R_pred‖_F`` (dimensionless, 0 … 2√2), the translation error
``‖round(t_true) − round(t_pred)‖₂`` in voxels (METHOD.md §8.1–8.2). Clustering cells are
accuracies in % (per-class recall under the global Hungarian matching, METHOD.md §8.3).

The paper gives no 5-structure summaries; :func:`alignment_summary` and
:func:`clustering_summary` derive them as in METHOD.md §9 (unweighted mean over the five
structures; the pooled std of the five classes, assuming equal pair counts).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ALIGNMENT",
    "ALIGNMENT_METHODS",
    "CLUSTERING",
    "CLUSTERING_METHODS",
    "SNRS",
    "SOURCE",
    "STRUCTURES",
    "AlignmentCell",
    "PaperStructure",
    "alignment_cell",
    "alignment_summary",
    "clustering_cell",
    "clustering_summary",
    "pooled_mean_std",
]

SOURCE = ("Jim-Net supplement (Zeng, Howe & Xu, ICCV 2021), tables S1-S10 "
          "(shared/paper/jimnet_supplementary.txt, section S3.2)")

#: The five SNR levels of the simulated benchmark, in the tables' column order.
SNRS: tuple[float, ...] = (100.0, 0.1, 0.05, 0.03, 0.01)


@dataclass(frozen=True)
class PaperStructure:
    """One macromolecule of the benchmark.

    Attributes
    ----------
    class_number : int
        1-based class number in jimnet's simulated sets.
    paper_id : str
        PDB ID used by the paper.
    stand_in : str
        jimnet's shipped stand-in structure.
    name : str
        Description used in the table captions.
    alignment_table, clustering_table : str
        Supplement table numbers (``"S1"`` …).
    """

    class_number: int
    paper_id: str
    stand_in: str
    name: str
    alignment_table: str
    clustering_table: str


STRUCTURES: tuple[PaperStructure, ...] = (
    PaperStructure(1, "5LQW", "3jb9", "Spliceosome", "S1", "S6"),
    PaperStructure(2, "1I6V", "1qvr", "RNA polymerase-rifampicin complex", "S2", "S7"),
    PaperStructure(3, "6A5L", "4v4r_30S", "RNA polymerase II elongation complex", "S3", "S8"),
    PaperStructure(4, "5T2C", "6qzp", "Ribosome", "S4", "S9"),
    PaperStructure(5, "5MPA", "4cr2", "Capped proteasome", "S5", "S10"),
)


@dataclass(frozen=True)
class AlignmentCell:
    """One cell of tables S1–S5 (rotation: dimensionless Frobenius norm; translation: voxels)."""

    rot_mean: float
    rot_std: float
    trans_mean: float
    trans_std: float


ALIGNMENT_METHODS: tuple[str, ...] = ("ht", "fa", "gumnet", "jimnet")
CLUSTERING_METHODS: tuple[str, ...] = ("deepcluster", "pica", "jimnet-cluster", "jimnet")


def _row(*cells: tuple[float, float, float, float]) -> dict[float, AlignmentCell]:
    return {snr: AlignmentCell(*c) for snr, c in zip(SNRS, cells, strict=True)}


#: Tables S1–S5: ``ALIGNMENT[paper_id][method][snr]``.
ALIGNMENT: dict[str, dict[str, dict[float, AlignmentCell]]] = {
    "5LQW": {  # Table S1
        "ht": _row((0.06, 0.02, 1.03, 0.63), (0.61, 0.87, 2.64, 3.55), (1.62, 1.14, 6.08, 4.92),
                   (2.15, 0.88, 8.49, 4.72), (2.38, 0.56, 11.36, 5.13)),
        "fa": _row((0.08, 0.13, 1.09, 1.14), (0.64, 0.97, 2.96, 3.99), (1.68, 1.16, 6.32, 4.91),
                   (2.12, 0.89, 8.39, 4.79), (2.35, 0.59, 11.20, 5.00)),
        "gumnet": _row((0.27, 0.54, 1.13, 2.03), (0.47, 0.57, 1.94, 2.26),
                       (0.68, 0.64, 2.61, 2.25), (0.93, 0.68, 3.62, 2.32),
                       (1.38, 0.78, 5.65, 3.31)),
        "jimnet": _row((0.16, 0.47, 0.82, 1.93), (0.30, 0.47, 1.42, 2.01),
                       (0.51, 0.58, 2.20, 2.36), (0.74, 0.62, 3.13, 2.63),
                       (1.50, 0.76, 6.30, 3.13)),
    },
    "1I6V": {  # Table S2
        "ht": _row((0.63, 0.99, 3.15, 4.27), (1.67, 1.06, 6.31, 5.01), (2.09, 0.87, 7.65, 4.56),
                   (2.22, 0.74, 8.10, 4.43), (2.40, 0.57, 10.93, 4.97)),
        "fa": _row((0.67, 1.00, 3.22, 4.24), (1.71, 1.08, 6.63, 4.96), (2.06, 0.90, 7.76, 4.67),
                   (2.23, 0.74, 8.48, 4.62), (2.37, 0.56, 10.94, 4.98)),
        "gumnet": _row((0.56, 0.78, 2.22, 3.05), (0.75, 0.77, 2.99, 3.17),
                       (0.87, 0.76, 3.49, 3.31), (1.05, 0.71, 3.96, 2.77),
                       (1.42, 0.78, 5.66, 3.53)),
        "jimnet": _row((0.46, 0.56, 1.98, 2.46), (0.78, 0.71, 3.15, 3.13),
                       (1.03, 0.74, 4.14, 3.58), (1.18, 0.73, 4.68, 3.34),
                       (1.60, 0.75, 6.55, 3.43)),
    },
    "6A5L": {  # Table S3
        "ht": _row((0.09, 0.10, 1.11, 0.82), (0.94, 0.95, 3.75, 4.03), (1.74, 1.02, 6.31, 4.60),
                   (2.21, 0.75, 8.69, 4.56), (2.37, 0.55, 11.58, 5.02)),
        "fa": _row((0.16, 0.34, 1.31, 1.62), (1.06, 1.06, 4.31, 4.41), (1.85, 0.99, 6.99, 4.85),
                   (2.18, 0.79, 8.69, 4.55), (2.39, 0.58, 11.31, 4.83)),
        "gumnet": _row((0.30, 0.55, 1.08, 1.71), (0.46, 0.54, 1.80, 1.90),
                       (0.71, 0.63, 2.55, 2.12), (1.12, 0.73, 3.93, 2.45),
                       (1.45, 0.76, 5.94, 3.32)),
        "jimnet": _row((0.22, 0.47, 0.98, 1.66), (0.39, 0.52, 1.67, 2.01),
                       (0.64, 0.60, 2.42, 2.33), (0.99, 0.72, 3.71, 2.89),
                       (1.58, 0.76, 6.69, 3.38)),
    },
    "5T2C": {  # Table S4
        "ht": _row((0.06, 0.02, 0.99, 0.60), (1.16, 1.04, 4.43, 4.21), (2.13, 0.84, 8.79, 4.77),
                   (2.34, 0.61, 10.59, 4.98), (2.36, 0.59, 11.56, 4.91)),
        "fa": _row((0.05, 0.03, 0.98, 0.61), (1.54, 1.12, 6.39, 5.19), (2.17, 0.80, 9.39, 5.09),
                   (2.35, 0.58, 10.81, 4.93), (2.40, 0.55, 11.81, 4.89)),
        "gumnet": _row((0.43, 0.87, 1.67, 3.31), (0.73, 0.81, 2.70, 2.87),
                       (1.19, 0.84, 4.23, 3.01), (1.43, 0.79, 5.67, 2.96),
                       (1.76, 0.75, 10.46, 5.10)),
        "jimnet": _row((0.16, 0.50, 0.81, 1.88), (0.49, 0.70, 1.99, 2.43),
                       (1.09, 0.86, 4.14, 3.30), (1.33, 0.83, 5.19, 3.28),
                       (1.65, 0.78, 7.60, 3.62)),
    },
    "5MPA": {  # Table S5
        "ht": _row((0.65, 0.95, 2.81, 3.44), (1.72, 0.99, 6.65, 4.55), (2.08, 0.88, 7.47, 4.46),
                   (2.16, 0.81, 8.42, 4.47), (2.38, 0.58, 11.22, 5.03)),
        "fa": _row((0.69, 0.97, 3.02, 3.72), (1.73, 1.01, 6.69, 4.71), (1.97, 0.94, 7.26, 4.67),
                   (2.24, 0.79, 8.59, 4.69), (2.39, 0.56, 11.33, 4.88)),
        "gumnet": _row((0.48, 0.67, 1.86, 2.53), (0.68, 0.64, 2.61, 2.46),
                       (0.89, 0.72, 3.13, 2.68), (1.12, 0.72, 4.25, 2.73),
                       (1.46, 0.78, 6.22, 3.38)),
        "jimnet": _row((0.45, 0.52, 1.82, 2.16), (0.57, 0.56, 2.37, 2.20),
                       (0.72, 0.64, 3.10, 2.71), (0.88, 0.66, 3.90, 2.94),
                       (1.55, 0.78, 6.75, 3.47)),
    },
}


def _acc(*values: float) -> dict[float, float]:
    return dict(zip(SNRS, values, strict=True))


#: Tables S6–S10: ``CLUSTERING[paper_id][method][snr]`` = accuracy in %.
CLUSTERING: dict[str, dict[str, dict[float, float]]] = {
    "5LQW": {  # Table S6
        "deepcluster": _acc(86.7, 40.8, 30.0, 26.6, 28.4),
        "pica": _acc(100.0, 100.0, 55.1, 24.7, 33.5),
        "jimnet-cluster": _acc(99.8, 97.8, 87.5, 67.8, 44.6),
        "jimnet": _acc(100.0, 100.0, 96.1, 87.7, 47.3),
    },
    "1I6V": {  # Table S7
        "deepcluster": _acc(53.9, 24.2, 21.2, 18.7, 16.5),
        "pica": _acc(100.0, 99.9, 40.4, 39.7, 23.6),
        "jimnet-cluster": _acc(99.8, 78.1, 37.2, 29.9, 25.3),
        "jimnet": _acc(100.0, 99.9, 94.9, 83.1, 42.2),
    },
    "6A5L": {  # Table S8
        "deepcluster": _acc(58.8, 61.1, 36.5, 29.8, 43.4),
        "pica": _acc(100.0, 74.7, 57.7, 29.5, 17.0),
        "jimnet-cluster": _acc(98.3, 55.8, 59.8, 48.4, 29.1),
        "jimnet": _acc(100.0, 98.8, 94.8, 73.8, 36.0),
    },
    "5T2C": {  # Table S9
        "deepcluster": _acc(100.0, 84.8, 78.2, 69.8, 22.9),
        "pica": _acc(100.0, 100.0, 97.5, 32.7, 33.9),
        "jimnet-cluster": _acc(100.0, 99.7, 88.8, 76.5, 41.4),
        "jimnet": _acc(100.0, 100.0, 99.4, 98.5, 58.3),
    },
    "5MPA": {  # Table S10
        "deepcluster": _acc(44.1, 33.0, 31.4, 25.0, 24.9),
        "pica": _acc(100.0, 57.7, 28.4, 19.3, 33.9),
        "jimnet-cluster": _acc(99.7, 56.0, 40.5, 33.9, 36.2),
        "jimnet": _acc(100.0, 99.7, 95.1, 84.4, 56.6),
    },
}


def pooled_mean_std(means: Sequence[float], stds: Sequence[float]) -> tuple[float, float]:
    """Mean and std of the union of equally sized groups given each group's mean and std.

    Parameters
    ----------
    means, stds : sequence of float, length G
        Per-group mean and (population) standard deviation.

    Returns
    -------
    mean : float
        Unweighted mean of the group means.
    std : float
        ``sqrt(mean(std²) + var(means))``: within-group variance plus the spread of the means.
    """
    if len(means) != len(stds) or not means:
        raise ValueError("need one std per mean and at least one group")
    mean = sum(means) / len(means)
    within = sum(s * s for s in stds) / len(stds)
    between = sum((m - mean) ** 2 for m in means) / len(means)
    return mean, math.sqrt(within + between)


def _lookup_snr(table: dict[float, object], snr: float) -> object | None:
    for key, value in table.items():
        if math.isclose(key, snr, rel_tol=1e-9):
            return value
    return None


def alignment_cell(paper_id: str, method: str, snr: float) -> AlignmentCell | None:
    """One paper cell of S1–S5, or ``None`` when the paper has no such number."""
    row = ALIGNMENT.get(paper_id, {}).get(method)
    return None if row is None else _lookup_snr(row, snr)  # type: ignore[return-value]


def clustering_cell(paper_id: str, method: str, snr: float) -> float | None:
    """One paper accuracy (%) of S6–S10, or ``None`` when the paper has no such number."""
    row = CLUSTERING.get(paper_id, {}).get(method)
    return None if row is None else _lookup_snr(row, snr)  # type: ignore[return-value]


def alignment_summary(method: str, snr: float) -> AlignmentCell | None:
    """5-structure mean and pooled std of S1–S5 (METHOD.md §9's derivation), or ``None``."""
    cells = [alignment_cell(s.paper_id, method, snr) for s in STRUCTURES]
    if any(c is None for c in cells):
        return None
    rot = pooled_mean_std([c.rot_mean for c in cells], [c.rot_std for c in cells])
    trans = pooled_mean_std([c.trans_mean for c in cells], [c.trans_std for c in cells])
    return AlignmentCell(rot[0], rot[1], trans[0], trans[1])


def clustering_summary(method: str, snr: float) -> float | None:
    """Unweighted 5-structure mean accuracy (%) of S6–S10, or ``None``."""
    values = [clustering_cell(s.paper_id, method, snr) for s in STRUCTURES]
    if any(v is None for v in values):
        return None
    return sum(values) / len(values)  # type: ignore[arg-type]
