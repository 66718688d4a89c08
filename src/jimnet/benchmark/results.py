"""What a benchmark run produces: per-row, per-SNR results plus the run's metadata.

Rows of the alignment tables (S1–S5) and the clustering tables (S6–S10), in table order, with the
label printed and the paper row they are compared with (:mod:`jimnet.benchmark.paper`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from jimnet.benchmark.protocols import ClusterScores, PairErrors

__all__ = [
    "ALIGNMENT_ROWS",
    "CLUSTERING_ROWS",
    "BenchmarkResults",
    "Row",
    "Unavailable",
]


@dataclass(frozen=True)
class Row:
    """One table row.

    Attributes
    ----------
    key : str
        Identifier in results and CSV files.
    label : str
        Printed name.
    paper : str or None
        The paper's row it is compared with (a method of :mod:`jimnet.benchmark.paper`).
    method : str
        The ``--methods`` entry that produces it.
    """

    key: str
    label: str
    paper: str | None
    method: str


ALIGNMENT_ROWS: tuple[Row, ...] = (
    Row("oracle", "Oracle (true template, exhaustive)", None, "oracle"),
    Row("ht", "H-T align", "ht", "ht"),
    Row("fa", "F&A align", "fa", "fa"),
    Row("gumnet", "Gum-Net", "gumnet", "gumnet"),
    Row("jimnet", "Jim-Net", "jimnet", "jimnet"),
    Row("predict", "jimnet predict defaults (reference-free, all particles)", None, "predict"),
)

CLUSTERING_ROWS: tuple[Row, ...] = (
    Row("deepcluster", "DeepCluster", "deepcluster", "deepcluster"),
    Row("pica", "PICA", "pica", "pica"),
    Row("jimnet-cluster", "Jim-Net (cluster): clustering-only ablation", "jimnet-cluster",
        "jimnet-cluster"),
    Row("jimnet-mcp", "Jim-Net (cluster): M_CP predictions of Jim-Net", "jimnet-cluster",
        "jimnet"),
    Row("jimnet", "Jim-Net (GMM labels)", "jimnet", "jimnet"),
    Row("spectral", "Spectral baseline (shell power spectra → PCA → GMM)", None, "spectral"),
    Row("predict", "jimnet predict defaults (auto clusters + reassignment)", None, "predict"),
)


@dataclass(frozen=True)
class Unavailable:
    """A row that could not be produced (``reason`` is printed in the tables' notes)."""

    reason: str


AlignmentEntry = PairErrors | Unavailable
ClusteringEntry = ClusterScores | Unavailable


@dataclass
class BenchmarkResults:
    """Everything the report needs.

    Attributes
    ----------
    meta : dict
        Command, seed, scale, sizes, device, wall time, versions, data paths (JSON-ready).
    snrs : list of float
        Reported SNR levels, in table order.
    alignment : dict
        Row key → SNR → :class:`PairErrors` or :class:`Unavailable`.
    clustering : dict
        Row key → SNR → :class:`ClusterScores` or :class:`Unavailable`.
    timings : dict
        Method → SNR → wall seconds (training included).
    """

    meta: dict[str, Any]
    snrs: list[float]
    alignment: dict[str, dict[float, AlignmentEntry]] = field(default_factory=dict)
    clustering: dict[str, dict[float, ClusteringEntry]] = field(default_factory=dict)
    timings: dict[str, dict[float, float]] = field(default_factory=dict)

    def set_alignment(self, key: str, snr: float, entry: AlignmentEntry) -> None:
        self.alignment.setdefault(key, {})[snr] = entry

    def set_clustering(self, key: str, snr: float, entry: ClusteringEntry) -> None:
        self.clustering.setdefault(key, {})[snr] = entry

    def add_time(self, method: str, snr: float, seconds: float) -> None:
        row = self.timings.setdefault(method, {})
        row[snr] = row.get(snr, 0.0) + seconds
