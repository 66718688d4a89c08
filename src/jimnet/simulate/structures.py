"""Loading structures for the simulator: atomic models, residue beads and density maps.

Three kinds of input become a :class:`Structure`:

* **atomic models** (PDB ``.pdb``/``.ent``, mmCIF ``.cif``/``.mmcif``, each optionally ``.gz``),
  read with gemmi: every non-water, non-hydrogen atom of the first model becomes a point of mass
  ``element weight × occupancy`` (Da);
* **residue beads** (``.tsv``/``.tsv.gz``, the format of the project's ``coarse_beads`` files: one
  ``#`` comment line, a header ``chain resseq resname x y z mass_da``, then one row per bead with
  coordinates in Å and mass in Da);
* **density maps** (MRC/CCP4 ``.mrc``/``.map``/``.ccp4``/``.rec``, optionally ``.gz``) at any voxel
  size (read from the header, or given explicitly).

Points are stored in **zyx** order (Å), like every array in jimnet; files use xyz and are flipped
here, once. The five default benchmark stand-ins ship with the package (``jimnet/data/structures``,
see ``PROVENANCE.md`` there) and are loaded by name: ``load_structure("3jb9")`` or by the paper's
PDB ID, ``load_structure("5LQW")``.
"""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from jimnet.errors import JimnetInputError

__all__ = [
    "PAPER_BENCHMARK",
    "SHIPPED_STRUCTURES",
    "ShippedStructure",
    "Structure",
    "load_structure",
    "resolve_structure_name",
    "shipped_structure_path",
]

_MODEL_SUFFIXES = (".pdb", ".ent", ".cif", ".mmcif")
_BEAD_SUFFIXES = (".tsv",)
_MAP_SUFFIXES = (".mrc", ".map", ".ccp4", ".rec", ".mrcs")


@dataclass(frozen=True)
class ShippedStructure:
    """A structure file shipped in ``jimnet/data/structures``.

    Attributes
    ----------
    name : str
        Stand-in name (e.g. ``"3jb9"``), used for output file names.
    paper_id : str
        The Jim-Net benchmark class it stands in for (e.g. ``"5LQW"``).
    filename : str
        File name inside ``jimnet/data/structures``.
    description : str
        One line: what it is and why it was chosen.
    """

    name: str
    paper_id: str
    filename: str
    description: str


#: The five default benchmark stand-ins, in the paper's class order (class numbers 1…5).
SHIPPED_STRUCTURES: tuple[ShippedStructure, ...] = (
    ShippedStructure("3jb9", "5LQW", "3jb9_residue_com.tsv.gz",
                     "S. pombe spliceosome (residue beads); stand-in for the 5LQW spliceosome"),
    ShippedStructure("1qvr", "1I6V", "1qvr_residue_com.tsv.gz",
                     "ClpB (residue beads); stand-in for 1I6V RNA polymerase-rifampicin"),
    ShippedStructure("4v4r_30S", "6A5L", "4v4r_30S_residue_com.tsv.gz",
                     "30S ribosomal subunit (residue beads); stand-in for 6A5L Pol II complex"),
    ShippedStructure("6qzp", "5T2C", "6qzp.mrc.gz",
                     "human 80S ribosome (10 A map); stand-in for the 5T2C human 80S ribosome"),
    ShippedStructure("4cr2", "5MPA", "4cr2.mrc.gz",
                     "yeast 26S proteasome (10 A map); stand-in for the 5MPA 26S proteasome"),
)

#: Names of the paper benchmark's structures, class 1…5.
PAPER_BENCHMARK: tuple[str, ...] = tuple(s.name for s in SHIPPED_STRUCTURES)


@dataclass(frozen=True, eq=False)
class Structure:
    """A structure ready to be turned into a density (:func:`jimnet.simulate.structure_density`).

    Exactly one of ``points`` / ``density_map`` is set.

    Attributes
    ----------
    name : str
        Short name used in output file names (e.g. ``"3jb9"``).
    source : str
        Where it came from (file path, or ``jimnet:data/structures/<file>``).
    points_zyx : numpy.ndarray, shape (P, 3), or None
        Point positions in Å, zyx order (atoms or residue beads).
    masses : numpy.ndarray, shape (P,), or None
        Point masses in Da.
    density_map : numpy.ndarray, shape (D, H, W), or None
        Density map (zyx array as read by mrcfile), any sign/scale.
    map_voxel_size : float or None
        Voxel size of ``density_map`` in Å (isotropic).
    """

    name: str
    source: str
    points_zyx: NDArray[np.float64] | None = None
    masses: NDArray[np.float64] | None = None
    density_map: NDArray[np.float32] | None = None
    map_voxel_size: float | None = None

    @property
    def kind(self) -> str:
        """``"points"`` (atoms or beads) or ``"map"``."""
        return "map" if self.density_map is not None else "points"


def _by_name() -> dict[str, ShippedStructure]:
    table: dict[str, ShippedStructure] = {}
    for s in SHIPPED_STRUCTURES:
        table[s.name.lower()] = s
        table[s.paper_id.lower()] = s
    return table


def resolve_structure_name(name: str) -> ShippedStructure | None:
    """The shipped structure called ``name`` (stand-in name or paper ID, case-insensitive)."""
    return _by_name().get(name.strip().lower())


def shipped_structure_path(name: str) -> Path:
    """Filesystem path of a shipped structure file (found through ``importlib.resources``).

    Raises
    ------
    JimnetInputError
        If ``name`` is not a shipped structure.
    """
    entry = resolve_structure_name(name)
    if entry is None:
        known = ", ".join(f"{s.name} ({s.paper_id})" for s in SHIPPED_STRUCTURES)
        raise JimnetInputError(f"unknown structure name {name!r}; shipped structures: {known}")
    resource = resources.files("jimnet").joinpath("data", "structures", entry.filename)
    path = Path(str(resource))
    if not path.is_file():
        raise JimnetInputError(f"shipped structure file missing from the installation: {path}")
    return path


def _suffix_kind(path: Path) -> str | None:
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == ".gz":
        suffixes = suffixes[:-1]
    last = suffixes[-1] if suffixes else ""
    if last in _MODEL_SUFFIXES:
        return "model"
    if last in _BEAD_SUFFIXES:
        return "beads"
    if last in _MAP_SUFFIXES:
        return "map"
    return None


def _stem(path: Path) -> str:
    name = path.name
    for suffix in reversed(path.suffixes):
        if name.lower().endswith(suffix.lower()) and suffix.lower() in (
            ".gz", *_MODEL_SUFFIXES, *_BEAD_SUFFIXES, *_MAP_SUFFIXES
        ):
            name = name[: -len(suffix)]
    return name.removesuffix("_residue_com") or path.name


def _read_text(path: Path) -> str:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return raw.decode("utf-8")


def read_beads(path: Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Read a residue-bead TSV (optionally gzipped).

    Returns
    -------
    points_zyx : numpy.ndarray, shape (P, 3)
        Bead positions in Å, zyx order.
    masses : numpy.ndarray, shape (P,)
        Bead masses in Da.
    """
    try:
        text = _read_text(path)
        lines = [ln for ln in text.splitlines() if ln.strip() and not ln.startswith("#")]
        header = lines[0].split("\t")
        cols = {name.strip(): i for i, name in enumerate(header)}
        needed = ("x", "y", "z", "mass_da")
        missing = [c for c in needed if c not in cols]
        if missing:
            raise JimnetInputError(f"{path}: bead file lacks column(s) {missing} (need {needed})")
        table = np.loadtxt(io.StringIO("\n".join(lines[1:])), delimiter="\t", dtype=str, ndmin=2)
        xyz = table[:, [cols["x"], cols["y"], cols["z"]]].astype(np.float64)
        mass = table[:, cols["mass_da"]].astype(np.float64)
    except JimnetInputError:
        raise
    except (OSError, ValueError, IndexError, UnicodeDecodeError) as exc:
        raise JimnetInputError(f"{path}: not a readable residue-bead TSV ({exc})") from exc
    return xyz[:, ::-1].copy(), mass


def read_atomic_model(path: Path) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Read a PDB/mmCIF model (optionally gzipped) with gemmi.

    Waters and hydrogens are removed; only the first model is used. Each remaining atom is a point
    of mass ``element weight × occupancy`` (Da), i.e. Situs ``pdb2vol``'s mass weighting.

    Returns
    -------
    points_zyx : numpy.ndarray, shape (P, 3)
        Atom positions in Å, zyx order.
    masses : numpy.ndarray, shape (P,)
        Atom masses in Da.
    """
    import gemmi

    try:
        st = gemmi.read_structure(str(path))
    except (RuntimeError, ValueError, OSError) as exc:
        raise JimnetInputError(f"{path}: not a readable PDB/mmCIF model ({exc})") from exc
    st.remove_waters()
    st.remove_hydrogens()
    if len(st) == 0:
        raise JimnetInputError(f"{path}: the model file contains no models")
    xyz, mass = [], []
    for cra in st[0].all():
        atom = cra.atom
        xyz.append((atom.pos.x, atom.pos.y, atom.pos.z))
        mass.append(atom.element.weight * atom.occ)
    if not xyz:
        raise JimnetInputError(f"{path}: the model contains no (non-water, non-H) atoms")
    return np.asarray(xyz, dtype=np.float64)[:, ::-1].copy(), np.asarray(mass, dtype=np.float64)


def read_map(path: Path, voxel_size: float | None = None) -> tuple[NDArray[np.float32], float]:
    """Read an MRC/CCP4 density map (optionally gzipped).

    Parameters
    ----------
    path : pathlib.Path
    voxel_size : float, optional
        Override the header's voxel size (Å). Required when the header's is 0.

    Returns
    -------
    data : numpy.ndarray, shape (D, H, W)
        The map, zyx, float32.
    voxel_size : float
        Å per voxel (the header's x spacing, or the override).
    """
    import mrcfile

    try:
        with mrcfile.open(str(path), permissive=False) as mrc:
            data = np.asarray(mrc.data, dtype=np.float32).copy()
            header_vs = np.array([mrc.voxel_size.z, mrc.voxel_size.y, mrc.voxel_size.x], float)
    except (OSError, ValueError) as exc:
        raise JimnetInputError(f"{path}: not a readable MRC map ({exc})") from exc
    if data.ndim != 3:
        raise JimnetInputError(f"{path}: expected a 3D map, got shape {data.shape}")
    if not np.all(np.isfinite(data)):
        raise JimnetInputError(f"{path}: the map contains NaN or infinite voxels")
    if voxel_size is None:
        if not np.all(header_vs > 0):
            raise JimnetInputError(f"{path}: the MRC header has no voxel size; give it explicitly")
        if not np.allclose(header_vs, header_vs[0], rtol=1e-3):
            raise JimnetInputError(f"{path}: anisotropic voxel size {header_vs.tolist()} (zyx, Å)")
        voxel_size = float(header_vs[2])
    if voxel_size <= 0:
        raise JimnetInputError(f"{path}: voxel size must be positive, got {voxel_size}")
    return data, float(voxel_size)


def load_structure(
    spec: str | Path,
    *,
    name: str | None = None,
    map_voxel_size: float | None = None,
) -> Structure:
    """Load a structure from a shipped name or a file.

    Parameters
    ----------
    spec : str or pathlib.Path
        A shipped name (``"3jb9"``, ``"1qvr"``, ``"4v4r_30S"``, ``"6qzp"``, ``"4cr2"``, or the
        paper IDs ``"5LQW"``, ``"1I6V"``, ``"6A5L"``, ``"5T2C"``, ``"5MPA"``; case-insensitive),
        or the path of a PDB/mmCIF model, residue-bead TSV or MRC map (each optionally ``.gz``).
        An existing file takes precedence over a shipped name.
    name : str, optional
        Name to record (default: the shipped name or the file name without suffixes).
    map_voxel_size : float, optional
        Voxel size in Å of a map whose header lacks it (or to override the header).

    Returns
    -------
    Structure

    Raises
    ------
    JimnetInputError
        Unknown name, missing or unreadable file, unsupported suffix.
    """
    path = Path(spec).expanduser()
    shipped = None
    if not path.is_file():
        shipped = resolve_structure_name(str(spec))
        if shipped is None:
            if _suffix_kind(path) is not None or path.parent != Path("."):
                raise JimnetInputError(f"structure file not found: {path}")
            shipped_structure_path(str(spec))  # raises the "unknown name" error
        path = shipped_structure_path(str(spec))
    kind = _suffix_kind(path)
    if kind is None:
        raise JimnetInputError(
            f"{path}: unknown structure file type (expected .pdb, .ent, .cif, .mmcif, .tsv, .mrc, "
            ".map, .ccp4, .rec, optionally .gz)"
        )
    label = name or (shipped.name if shipped else _stem(path))
    source = f"jimnet:data/structures/{path.name}" if shipped else str(path.absolute())
    if kind == "map":
        data, vs = read_map(path, map_voxel_size)
        return Structure(label, source, density_map=data, map_voxel_size=vs)
    points, masses = read_beads(path) if kind == "beads" else read_atomic_model(path)
    if not np.all(np.isfinite(points)) or not np.all(np.isfinite(masses)):
        raise JimnetInputError(f"{path}: non-finite coordinates or masses")
    if masses.sum() <= 0:
        raise JimnetInputError(f"{path}: total mass is not positive")
    return Structure(label, source, points_zyx=points, masses=masses)
