"""A prediction's embedding table: ``embedding.csv``, one row per particle in STAR order.

Columns: ``tsne_1 … tsne_D`` (the t-SNE coordinates the GMM was fitted on) or ``pca_1 … pca_3``
(the first principal components of the features, when the GMM was fitted on raw features,
``--no-tsne``), ``cluster`` and ``cluster_mcp``
(1-based, as written to ``rlnClassNumber`` / ``jimnetClassMCP``) and ``input_class`` (the input
STAR's ``rlnClassNumber``, the truth for simulated data; empty when it had none).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

EMBEDDING_NAME = "embedding.csv"
KINDS = ("tsne", "pca")
_MAX_DIMS = 3


@dataclass(frozen=True)
class EmbeddingTable:
    """The rows of ``embedding.csv``.

    Attributes
    ----------
    kind : {"tsne", "pca"}
        What the coordinates are.
    coordinates : numpy.ndarray, shape (n, D), D ≤ 3
    cluster, cluster_mcp : numpy.ndarray of int, shape (n,)
        1-based.
    input_class : numpy.ndarray of int, shape (n,), or None
        1-based; None when the input STAR had no ``rlnClassNumber``.
    """

    kind: str
    coordinates: NDArray[np.float64]
    cluster: NDArray[np.int64]
    cluster_mcp: NDArray[np.int64]
    input_class: NDArray[np.int64] | None


def write_embedding(path: Path, table: EmbeddingTable) -> Path:
    """Write ``table`` as CSV at ``path`` (plain write: callers write into an atomic folder)."""
    coords = np.asarray(table.coordinates, dtype=np.float64)[:, :_MAX_DIMS]
    columns = [f"{table.kind}_{i + 1}" for i in range(coords.shape[1])]
    frame = pd.DataFrame(coords, columns=columns)
    frame["cluster"] = np.asarray(table.cluster, dtype=np.int64)
    frame["cluster_mcp"] = np.asarray(table.cluster_mcp, dtype=np.int64)
    frame["input_class"] = (pd.array(table.input_class, dtype="Int64")
                            if table.input_class is not None else pd.NA)
    frame.to_csv(path, index=False, float_format="%.6g")
    return path


def read_embedding(path: Path) -> EmbeddingTable | None:
    """The table written by :func:`write_embedding`; None when ``path`` does not exist."""
    if not path.is_file():
        return None
    frame = pd.read_csv(path)
    dims = [c for c in frame.columns if c.rsplit("_", 1)[0] in KINDS]
    truth = frame["input_class"]
    return EmbeddingTable(
        kind=dims[0].rsplit("_", 1)[0],
        coordinates=frame[dims].to_numpy(np.float64),
        cluster=frame["cluster"].to_numpy(np.int64),
        cluster_mcp=frame["cluster_mcp"].to_numpy(np.int64),
        input_class=None if truth.isna().any() else truth.to_numpy(np.int64),
    )
