"""RELION-style particle STAR files (read any RELION 3.0–5 layout, write RELION 5 layout).

Reading accepts:

* RELION 3.1/4/5 files: ``data_optics`` + ``data_particles`` (+ RELION 5 ``data_general``);
* single-block files, e.g. written by ``starfile.write(df, path)`` (no optics table; the pixel
  size then comes from an explicit argument or the MRC headers);
* ``rlnImageName`` as a path (absolute, or relative — see :func:`resolve_image_locations`) or
  RELION's ``N@stack.mrcs`` (volume ``N``, 1-based, of a 4D volume stack).

Writing produces ``# version 50001`` + ``data_general`` (only if it was read) + ``data_optics``
+ ``data_particles``, parseable by plain ``starfile.read``. Every input column and block is kept;
:func:`update_particles` replaces only the columns it is given.

Columns used by jimnet (CONVENTIONS.md §2): ``rlnAngleRot/Tilt/Psi`` (degrees, RELION ZYZ,
reference → particle), ``rlnOriginX/Y/ZAngst`` (Å, xyz, moves the particle onto the reference;
RELION ≤ 3.0 ``rlnOriginX/Y/Z`` in pixels are read too), ``rlnClassNumber`` (1-based),
``jimnetTiltMin/jimnetTiltMax`` (per-particle tilt range in degrees). Pose meaning and the
conversion to jimnet's zyx poses are in :mod:`jimnet.io.poses`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import starfile
from numpy.typing import ArrayLike, NDArray

from jimnet.errors import JimnetInputError
from jimnet.io.atomic import atomic_write_text

__all__ = [
    "ANGLE_COLUMNS",
    "CENTERED_COORDINATE_COLUMNS",
    "LEGACY_ORIGIN_COLUMNS",
    "ORIGIN_COLUMNS",
    "STRING_COLUMNS",
    "TILT_COLUMNS",
    "ImageLocation",
    "ParticleStar",
    "make_optics_table",
    "make_particles_table",
    "optics_box_size",
    "optics_pixel_size",
    "particle_angles_deg",
    "particle_class_numbers",
    "particle_origins_xyz_angst",
    "particle_tilt_ranges",
    "read_particle_star",
    "rebase_image_names",
    "resolve_image_locations",
    "star_to_string",
    "update_particles",
    "write_particle_star",
]

#: Columns never coerced to numbers (``rlnTomoName`` "01" must stay "01").
STRING_COLUMNS = ["rlnTomoName", "rlnTomoParticleName", "rlnImageName"]
RELION_VERSION_LINE = "# version 50001"
ANGLE_COLUMNS = ("rlnAngleRot", "rlnAngleTilt", "rlnAnglePsi")
ORIGIN_COLUMNS = ("rlnOriginXAngst", "rlnOriginYAngst", "rlnOriginZAngst")
LEGACY_ORIGIN_COLUMNS = ("rlnOriginX", "rlnOriginY", "rlnOriginZ")
CENTERED_COORDINATE_COLUMNS = (
    "rlnCenteredCoordinateXAngst",
    "rlnCenteredCoordinateYAngst",
    "rlnCenteredCoordinateZAngst",
)
TILT_COLUMNS = ("jimnetTiltMin", "jimnetTiltMax")
DEFAULT_TILT_RANGE = (-60.0, 60.0)
_NUMERIC_COLUMNS = (
    *ANGLE_COLUMNS,
    *ORIGIN_COLUMNS,
    *LEGACY_ORIGIN_COLUMNS,
    *TILT_COLUMNS,
    "rlnClassNumber",
    "rlnOpticsGroup",
)
_STACK_NAME = re.compile(r"^\s*(\d+)@(.+)$")


@dataclass
class ParticleStar:
    """A particle STAR file in memory.

    Attributes
    ----------
    particles : pandas.DataFrame
        One row per particle, all input columns (RELION names).
    optics : pandas.DataFrame or None
        The ``data_optics`` table (``None`` for single-block files).
    other_blocks : dict
        Any further blocks (e.g. RELION 5 ``general``), written back unchanged.
    path : pathlib.Path or None
        Where it was read from (absolute).
    """

    particles: pd.DataFrame
    optics: pd.DataFrame | None = None
    other_blocks: dict[str, Any] = field(default_factory=dict)
    path: Path | None = None

    def row_label(self, i: int) -> str:
        """``"<star> row <i+1> (<rlnImageName>)"`` for error messages (``i`` 0-based)."""
        return _row_label(self.particles, i, self.path)


def _row_label(table: pd.DataFrame, i: int, path: Path | str | None) -> str:
    name = ""
    if "rlnImageName" in table.columns:
        name = f" ({table['rlnImageName'].iloc[i]})"
    where = f"{path} " if path is not None else ""
    return f"{where}row {i + 1}{name}"


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


# --------------------------------------------------------------------------------------- reading


def _numeric(table: pd.DataFrame, column: str, path: Path | str | None) -> NDArray[np.float64]:
    """Column as finite float64, or a JimnetInputError naming the first bad row."""
    raw = table[column]
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        i = int(bad[0])
        raise JimnetInputError(
            f"{_row_label(table, i, path)}: {column} value {raw.iloc[i]!r} is not a finite number"
        )
    return values


def _check_particles(table: pd.DataFrame, path: Path | str | None) -> None:
    if "rlnImageName" not in table.columns:
        raise JimnetInputError(f"{path}: particles table has no column rlnImageName")
    if len(table) == 0:
        raise JimnetInputError(f"{path}: particles table has no rows")
    names = table["rlnImageName"].astype(str)
    empty = np.flatnonzero(names.str.strip().isin(["", "<NA>", "nan"]).to_numpy())
    if empty.size:
        raise JimnetInputError(f"{path} row {int(empty[0]) + 1}: empty rlnImageName")
    for column in _NUMERIC_COLUMNS:
        if column in table.columns:
            _numeric(table, column, path)
    if "rlnClassNumber" in table.columns:
        classes = _numeric(table, "rlnClassNumber", path)
        bad = np.flatnonzero((classes != np.round(classes)) | (classes < 1))
        if bad.size:
            i = int(bad[0])
            raise JimnetInputError(
                f"{_row_label(table, i, path)}: rlnClassNumber {classes[i]:g} is not an "
                "integer ≥ 1"
            )


def _find_particles_block(blocks: dict[str, Any], path: Path) -> str:
    loops = {k: v for k, v in blocks.items() if isinstance(v, pd.DataFrame)}
    if "particles" in loops:
        return "particles"
    candidates = [k for k in loops if k != "optics"]
    with_images = [k for k in candidates if "rlnImageName" in loops[k].columns]
    if with_images:
        return with_images[0]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise JimnetInputError(f"{path}: no particles table (loop_ block) found")
    raise JimnetInputError(f"{path}: no particles table with column rlnImageName found")


def read_particle_star(path: str | os.PathLike) -> ParticleStar:
    """Read and check a particle STAR file.

    Parameters
    ----------
    path : path-like
        RELION 3.0–5 particle STAR, or a single-block file (e.g. from ``starfile.write``).

    Returns
    -------
    ParticleStar

    Raises
    ------
    JimnetInputError
        Missing/unparseable file, no particles table, no ``rlnImageName`` column, or a
        non-numeric / NaN / Inf value in an angle, origin, tilt, class or optics-group column
        (the message names the file, the 1-based data row and the particle's image name), or 2D
        tilt-series particles (RELION 5 ``rlnTomoSubTomosAre2DStacks 1``), which are unsupported.
    """
    p = Path(path).expanduser().absolute()
    if not p.is_file():
        raise JimnetInputError(f"file not found: {p}" if not p.exists() else f"not a file: {p}")
    try:
        blocks = starfile.read(p, always_dict=True, parse_as_string=STRING_COLUMNS)
    except Exception as exc:
        raise JimnetInputError(f"{p}: cannot parse STAR file ({_one_line(exc)})") from exc
    if not blocks:
        raise JimnetInputError(f"{p}: no data blocks found (empty or not a STAR file)")
    blocks = dict(blocks)
    key = _find_particles_block(blocks, p)
    particles = blocks.pop(key).reset_index(drop=True)
    _check_particles(particles, p)
    optics = blocks.pop("optics", None)
    if optics is not None and not isinstance(optics, pd.DataFrame):
        optics = pd.DataFrame([optics])
    general = blocks.get("general")
    if isinstance(general, dict) and str(general.get("rlnTomoSubTomosAre2DStacks", 0)) == "1":
        raise JimnetInputError(
            f"{p}: particles are 2D tilt-series stacks (rlnTomoSubTomosAre2DStacks 1); "
            "jimnet needs 3D subtomograms (RELION 5 Extract with 'Write output as 2D stacks?' No)"
        )
    if optics is not None and "rlnImageDimensionality" in optics.columns:
        dims = pd.to_numeric(optics["rlnImageDimensionality"], errors="coerce")
        if (dims == 2).any():
            raise JimnetInputError(
                f"{p}: optics table has rlnImageDimensionality 2 (2D particles); "
                "jimnet needs 3D subtomograms"
            )
    return ParticleStar(particles=particles, optics=optics, other_blocks=blocks, path=p)


def _per_particle_optics(star: ParticleStar, column: str) -> NDArray[np.float64] | None:
    """Value of an optics column for every particle, or None if unavailable."""
    optics = star.optics
    if optics is None or column not in optics.columns or len(optics) == 0:
        return None
    values = _numeric(optics, column, f"{star.path} (data_optics)")
    if "rlnOpticsGroup" not in star.particles.columns or "rlnOpticsGroup" not in optics.columns:
        if len(optics) != 1:
            raise JimnetInputError(
                f"{star.path}: {len(optics)} optics groups but particles have no rlnOpticsGroup"
            )
        return np.full(len(star.particles), values[0])
    optics_groups = _numeric(optics, "rlnOpticsGroup", star.path).astype(int)
    lookup = dict(zip(optics_groups, values, strict=True))
    groups = _numeric(star.particles, "rlnOpticsGroup", star.path).astype(int)
    out = np.empty(len(groups))
    for i, g in enumerate(groups):
        if g not in lookup:
            raise JimnetInputError(
                f"{star.row_label(i)}: rlnOpticsGroup {g} is not in the data_optics table"
            )
        out[i] = lookup[g]
    return out


def optics_pixel_size(star: ParticleStar) -> float | None:
    """Particle pixel size (Å) from ``rlnImagePixelSize`` of the optics table, or None.

    Raises
    ------
    JimnetInputError
        Particles of different optics groups have different pixel sizes (> 1e-3 relative), or
        a pixel size is not positive.
    """
    values = _per_particle_optics(star, "rlnImagePixelSize")
    if values is None:
        return None
    ref = values[0]
    bad = np.flatnonzero((values <= 0) | (np.abs(values - ref) > 1e-3 * abs(ref)))
    if bad.size:
        i = int(bad[0])
        raise JimnetInputError(
            f"{star.row_label(i)}: rlnImagePixelSize {values[i]:g} Å differs from {ref:g} Å "
            "of row 1 or is not positive (all particles must share one pixel size)"
        )
    return float(ref)


def optics_box_size(star: ParticleStar) -> int | None:
    """Box size (voxels) from ``rlnImageSize`` of the optics table, or None."""
    values = _per_particle_optics(star, "rlnImageSize")
    if values is None:
        return None
    bad = np.flatnonzero(values != values[0])
    if bad.size:
        i = int(bad[0])
        raise JimnetInputError(
            f"{star.row_label(i)}: rlnImageSize {values[i]:g} differs from {values[0]:g} of row 1"
        )
    return int(values[0])


# ------------------------------------------------------------------------------ column extraction


def particle_angles_deg(
    table: pd.DataFrame, star_path: str | os.PathLike | None = None
) -> NDArray[np.float64]:
    """``(rlnAngleRot, rlnAngleTilt, rlnAnglePsi)`` in degrees, shape (n, 3); absent → 0."""
    out = np.zeros((len(table), 3))
    for k, column in enumerate(ANGLE_COLUMNS):
        if column in table.columns:
            out[:, k] = _numeric(table, column, star_path)
    return out


def particle_origins_xyz_angst(
    table: pd.DataFrame, pixel_size: float, star_path: str | os.PathLike | None = None
) -> NDArray[np.float64]:
    """``rlnOrigin{X,Y,Z}Angst`` in Å, shape (n, 3), xyz order; absent → 0.

    RELION ≤ 3.0 ``rlnOrigin{X,Y,Z}`` (pixels) are used, times ``pixel_size`` (Å), when the Å
    columns are absent.
    """
    out = np.zeros((len(table), 3))
    for k, (col_a, col_px) in enumerate(zip(ORIGIN_COLUMNS, LEGACY_ORIGIN_COLUMNS, strict=True)):
        if col_a in table.columns:
            out[:, k] = _numeric(table, col_a, star_path)
        elif col_px in table.columns:
            out[:, k] = _numeric(table, col_px, star_path) * pixel_size
    return out


def particle_tilt_ranges(
    table: pd.DataFrame,
    default: tuple[float, float] = DEFAULT_TILT_RANGE,
    star_path: str | os.PathLike | None = None,
) -> NDArray[np.float64]:
    """Per-particle tilt range ``(jimnetTiltMin, jimnetTiltMax)`` in degrees, shape (n, 2).

    Absent columns take ``default``. Raises if min ≥ max or a value is outside [-90, 90].
    """
    out = np.empty((len(table), 2))
    for k, column in enumerate(TILT_COLUMNS):
        out[:, k] = _numeric(table, column, star_path) if column in table.columns else default[k]
    bad = np.flatnonzero((out[:, 0] >= out[:, 1]) | (np.abs(out) > 90).any(axis=1))
    if bad.size:
        i = int(bad[0])
        raise JimnetInputError(
            f"{_row_label(table, i, star_path)}: invalid tilt range [{out[i, 0]:g}, {out[i, 1]:g}]"
            " degrees (need -90 ≤ min < max ≤ 90)"
        )
    return out


def particle_class_numbers(
    table: pd.DataFrame, star_path: str | os.PathLike | None = None
) -> NDArray[np.int64] | None:
    """``rlnClassNumber`` (1-based, as in the file), shape (n,), or None if absent."""
    if "rlnClassNumber" not in table.columns:
        return None
    return np.round(_numeric(table, "rlnClassNumber", star_path)).astype(np.int64)


# ---------------------------------------------------------------------------------- image paths


@dataclass(frozen=True)
class ImageLocation:
    """Where one particle's volume lives.

    Attributes
    ----------
    path : pathlib.Path
        The MRC file (absolute).
    index : int or None
        0-based volume index inside a volume stack (from ``N@stack.mrcs``), None for a plain
        volume file.
    """

    path: Path
    index: int | None = None


def _split_image_name(name: str) -> tuple[str, int | None]:
    match = _STACK_NAME.match(name)
    if match:
        return match.group(2).strip(), int(match.group(1)) - 1
    return name.strip(), None


def _image_base_dir(names: Sequence[str], star_path: Path) -> Path:
    """Directory that relative image names are relative to.

    The STAR file's directory; if the first relative image is not found there, its ancestors
    (RELION project layout: ``Extract/job010/particles.star`` naming
    ``Extract/job010/Subtomograms/...``) and then the current directory are tried.
    """
    star_dir = star_path.parent
    first = next((n for n in names if not Path(_split_image_name(n)[0]).is_absolute()), None)
    if first is None:
        return star_dir
    rel = Path(_split_image_name(first)[0])
    for base in (star_dir, *star_dir.parents, Path.cwd()):
        if (base / rel).exists():
            return base
    return star_dir


def resolve_image_locations(
    table: pd.DataFrame, star_path: str | os.PathLike
) -> tuple[list[ImageLocation], Path]:
    """Resolve every ``rlnImageName`` to a file (and stack index).

    Relative names are resolved against one base directory: the STAR file's directory, or — if
    the first relative image is not there — the first ancestor directory of it (RELION project
    directory) or the current directory where it exists.

    Returns
    -------
    locations : list of ImageLocation
        One per particle row.
    base_dir : pathlib.Path
        The base directory used for relative names.
    """
    star = Path(star_path).expanduser().absolute()
    names = [str(n) for n in table["rlnImageName"]]
    base = _image_base_dir(names, star)
    locations = []
    for i, name in enumerate(names):
        file_name, index = _split_image_name(name)
        if index is not None and index < 0:
            raise JimnetInputError(
                f"{_row_label(table, i, star)}: stack index must be ≥ 1 in N@stack.mrcs"
            )
        p = Path(file_name).expanduser()
        locations.append(ImageLocation(p if p.is_absolute() else base / p, index))
    return locations, base


def rebase_image_names(
    table: pd.DataFrame, old_base: str | os.PathLike, new_star_path: str | os.PathLike
) -> pd.DataFrame:
    """Rewrite relative ``rlnImageName`` so they still resolve from a STAR at a new location.

    Names are kept unchanged when ``old_base`` is the new STAR's directory or one of its
    ancestors (they still resolve, see :func:`resolve_image_locations`); otherwise relative names
    become relative to the new STAR's directory. Absolute names are never changed.

    Returns
    -------
    pandas.DataFrame
        A copy of ``table``.
    """
    old = Path(old_base).expanduser().absolute()
    new_dir = Path(new_star_path).expanduser().absolute().parent
    out = table.copy()
    if old == new_dir or old in new_dir.parents:
        return out

    def rebase(name: str) -> str:
        file_name, index = _split_image_name(str(name))
        if Path(file_name).is_absolute():
            return str(name)
        new = os.path.relpath(old / file_name, new_dir)
        return new if index is None else f"{index + 1}@{new}"

    out["rlnImageName"] = [rebase(n) for n in out["rlnImageName"]]
    return out


# --------------------------------------------------------------------------------------- writing


def make_optics_table(
    pixel_size: float,
    box_size: int,
    *,
    voltage_kv: float = 300.0,
    spherical_aberration_mm: float = 2.7,
    amplitude_contrast: float = 0.1,
    tilt_series_pixel_size: float | None = None,
    group_name: str = "opticsGroup1",
) -> pd.DataFrame:
    """A one-group RELION 5 ``data_optics`` table for 3D subtomograms.

    Parameters
    ----------
    pixel_size : float
        Subtomogram voxel size in Å (``rlnImagePixelSize``).
    box_size : int
        Subtomogram box in voxels (``rlnImageSize``).
    voltage_kv, spherical_aberration_mm, amplitude_contrast : float
        Microscope optics (RELION defaults for a Krios-like set-up).
    tilt_series_pixel_size : float, optional
        Tilt-series pixel (Å); adds ``rlnTomoTiltSeriesPixelSize`` and
        ``rlnTomoSubtomogramBinning`` when given.
    group_name : str
        ``rlnOpticsGroupName``.
    """
    row: dict[str, Any] = {
        "rlnOpticsGroup": 1,
        "rlnOpticsGroupName": group_name,
        "rlnVoltage": float(voltage_kv),
        "rlnSphericalAberration": float(spherical_aberration_mm),
        "rlnAmplitudeContrast": float(amplitude_contrast),
    }
    if tilt_series_pixel_size is not None:
        row["rlnTomoTiltSeriesPixelSize"] = float(tilt_series_pixel_size)
        row["rlnTomoSubtomogramBinning"] = float(pixel_size) / float(tilt_series_pixel_size)
    row["rlnImageDimensionality"] = 3
    row["rlnImagePixelSize"] = float(pixel_size)
    row["rlnImageSize"] = int(box_size)
    return pd.DataFrame([row])


def _columns(values: ArrayLike | None, n: int, width: int, what: str) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    arr = np.broadcast_to(arr, (n, width)) if arr.shape == (width,) else arr
    if arr.shape != (n, width):
        raise ValueError(f"{what} must have shape ({n}, {width}), got {arr.shape}")
    return np.array(arr)


def update_particles(
    table: pd.DataFrame,
    *,
    angles_deg: ArrayLike | None = None,
    origins_xyz_angst: ArrayLike | None = None,
    class_numbers: ArrayLike | None = None,
    tilt_ranges_deg: ArrayLike | None = None,
) -> pd.DataFrame:
    """Copy of ``table`` with some jimnet-managed columns replaced; all other columns kept.

    Parameters
    ----------
    table : pandas.DataFrame
        Particles table with n rows.
    angles_deg : array_like, shape (n, 3), optional
        RELION ``(rot, tilt, psi)`` in degrees.
    origins_xyz_angst : array_like, shape (n, 3), optional
        ``rlnOrigin{X,Y,Z}Angst`` in Å. Legacy pixel columns ``rlnOrigin{X,Y,Z}`` are dropped so
        they cannot contradict the new values.
    class_numbers : array_like of int, shape (n,), optional
        ``rlnClassNumber``, **1-based** as in RELION.
    tilt_ranges_deg : array_like, shape (n, 2) or (2,), optional
        ``(jimnetTiltMin, jimnetTiltMax)`` in degrees.
    """
    out = table.copy()
    n = len(out)
    if angles_deg is not None:
        arr = _columns(angles_deg, n, 3, "angles_deg")
        for k, column in enumerate(ANGLE_COLUMNS):
            out[column] = arr[:, k]
    if origins_xyz_angst is not None:
        arr = _columns(origins_xyz_angst, n, 3, "origins_xyz_angst")
        out = out.drop(columns=[c for c in LEGACY_ORIGIN_COLUMNS if c in out.columns])
        for k, column in enumerate(ORIGIN_COLUMNS):
            out[column] = arr[:, k]
    if class_numbers is not None:
        classes = np.asarray(class_numbers)
        if classes.shape != (n,) or np.any(classes < 1) or np.any(classes != np.round(classes)):
            raise ValueError(f"class_numbers must be n={n} integers ≥ 1 (1-based)")
        out["rlnClassNumber"] = classes.astype(np.int64)
    if tilt_ranges_deg is not None:
        arr = _columns(tilt_ranges_deg, n, 2, "tilt_ranges_deg")
        for k, column in enumerate(TILT_COLUMNS):
            out[column] = arr[:, k]
    return out


def make_particles_table(
    image_names: Sequence[str],
    *,
    angles_deg: ArrayLike | None = None,
    origins_xyz_angst: ArrayLike | None = None,
    class_numbers: ArrayLike | None = None,
    tilt_ranges_deg: ArrayLike | None = DEFAULT_TILT_RANGE,
    tomo_names: Sequence[str] | None = None,
    centered_coordinates_xyz_angst: ArrayLike | None = None,
    optics_group: int = 1,
) -> pd.DataFrame:
    """A new RELION 5 ``data_particles`` table.

    Parameters
    ----------
    image_names : sequence of str, length n
        ``rlnImageName`` (paths relative to the STAR file's directory, or ``N@stack.mrcs``).
    angles_deg : array_like, shape (n, 3), optional
        RELION ZYZ ``(rot, tilt, psi)`` in degrees; default 0.
    origins_xyz_angst : array_like, shape (n, 3), optional
        ``rlnOrigin{X,Y,Z}Angst``; default 0.
    class_numbers : array_like of int, shape (n,), optional
        1-based ``rlnClassNumber``; omitted when None.
    tilt_ranges_deg : array_like, shape (n, 2) or (2,), optional
        ``jimnetTiltMin/Max`` in degrees; default ±60; omitted when None.
    tomo_names : sequence of str, optional
        ``rlnTomoName``.
    centered_coordinates_xyz_angst : array_like, shape (n, 3), optional
        RELION 5 ``rlnCenteredCoordinate{X,Y,Z}Angst`` (Å from the tomogram centre).
    optics_group : int
        ``rlnOpticsGroup`` of every particle.
    """
    n = len(image_names)
    data: dict[str, Any] = {}
    if tomo_names is not None:
        if len(tomo_names) != n:
            raise ValueError(f"tomo_names must have length {n}")
        data["rlnTomoName"] = [str(t) for t in tomo_names]
    if centered_coordinates_xyz_angst is not None:
        arr = _columns(centered_coordinates_xyz_angst, n, 3, "centered_coordinates_xyz_angst")
        for k, column in enumerate(CENTERED_COORDINATE_COLUMNS):
            data[column] = arr[:, k]
    data["rlnImageName"] = [str(s) for s in image_names]
    table = pd.DataFrame(data)
    table = update_particles(
        table,
        angles_deg=np.zeros((n, 3)) if angles_deg is None else angles_deg,
        origins_xyz_angst=np.zeros((n, 3)) if origins_xyz_angst is None else origins_xyz_angst,
        class_numbers=class_numbers,
    )
    table["rlnOpticsGroup"] = int(optics_group)
    if tilt_ranges_deg is not None:
        table = update_particles(table, tilt_ranges_deg=tilt_ranges_deg)
    return table


def _block_text(name: str, block: Any) -> str:
    text = starfile.to_string({name: block})
    lines = text.splitlines()
    while lines and (lines[0].startswith("#") or not lines[0].strip()):
        lines.pop(0)
    return "\n".join(lines) + "\n"


def star_to_string(star: ParticleStar) -> str:
    """RELION 5 text of ``star``: ``# version 50001`` before each block.

    Block order: ``general`` (if present), ``optics`` (if present), ``particles``, other blocks.
    """
    blocks: list[tuple[str, Any]] = []
    other = dict(star.other_blocks)
    if "general" in other:
        blocks.append(("general", other.pop("general")))
    if star.optics is not None:
        blocks.append(("optics", star.optics))
    blocks.append(("particles", star.particles))
    blocks.extend(other.items())
    parts = [f"{RELION_VERSION_LINE}\n\n{_block_text(name, block)}" for name, block in blocks]
    return "\n".join(parts)


def write_particle_star(
    path: str | os.PathLike, star: ParticleStar, *, force: bool = False
) -> Path:
    """Write ``star`` atomically as a RELION 5 particle STAR file.

    Parameters
    ----------
    path : path-like
        Output ``.star`` file.
    star : ParticleStar
        Tables to write. ``rlnImageName`` is written as is (see :func:`rebase_image_names`).
    force : bool
        Overwrite an existing file.

    Returns
    -------
    pathlib.Path
        The absolute path written.
    """
    _check_particles(star.particles, "particles table to write")
    return atomic_write_text(path, star_to_string(star), force=force)
