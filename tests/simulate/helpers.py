"""Small synthetic structures for the simulator tests."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np


def write_pdb(path: Path, xyz: np.ndarray, element: str = "C", gz: bool = False) -> Path:
    """A minimal PDB file: one CA atom per row of ``xyz`` (Å, x y z order), chain A."""
    lines = []
    for i, (x, y, z) in enumerate(xyz, start=1):
        lines.append(
            f"ATOM  {i:5d}  CA  ALA A{i:4d}    {x:8.3f}{y:8.3f}{z:8.3f}  1.00 20.00"
            f"          {element:>2}"
        )
    text = "\n".join([*lines, "END", ""])
    if gz:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def write_beads(path: Path, xyz: np.ndarray, mass: np.ndarray) -> Path:
    """A residue-bead TSV (gzip) in the project's coarse_beads format."""
    rows = ["# test beads", "chain\tresseq\tresname\tx\ty\tz\tmass_da"]
    rows += [f"A\t{i}\tALA\t{x:.3f}\t{y:.3f}\t{z:.3f}\t{m:.1f}"
             for i, ((x, y, z), m) in enumerate(zip(xyz, mass, strict=True), start=1)]
    path.write_bytes(gzip.compress(("\n".join(rows) + "\n").encode()))
    return path


def asymmetric_points(n: int = 60, seed: int = 0) -> np.ndarray:
    """An asymmetric blob of points (Å, xyz), about 40 × 25 × 15 Å."""
    rng = np.random.default_rng(seed)
    pts = rng.normal(size=(n, 3)) * np.array([20.0, 12.0, 7.0])
    pts[: n // 4] += np.array([25.0, 10.0, 0.0])  # a lobe that breaks the symmetry
    return pts + np.array([100.0, -50.0, 30.0])  # arbitrary frame offset
