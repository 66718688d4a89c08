"""MRC/CCP4 (MRC2014) volumes and volume stacks via ``mrcfile``.

Conventions (CONVENTIONS.md §1): arrays are indexed ``[z, y, x]`` (``(D, H, W)``; a volume stack
is ``(n, D, H, W)``); the voxel size is in Å and must be cubic; files are written as float32
(mode 2) with origin 0, ``nstart`` 0, ``ispg`` 1 for a volume and 401 for a volume stack.
Gzip/bzip2-compressed files (``.mrc.gz``) are read transparently (not memory-mapped).

Every problem with an input file raises :class:`~jimnet.errors.JimnetInputError` with a one-line
message that names the file.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mrcfile
import numpy as np
from numpy.typing import ArrayLike, NDArray

from jimnet import __version__
from jimnet.errors import JimnetInputError
from jimnet.io.atomic import atomic_write

__all__ = [
    "MrcHeader",
    "checked_voxel_size",
    "open_mrc_data",
    "read_mrc_header",
    "read_stack_item",
    "read_volume",
    "read_volume_stack",
    "write_volume",
    "write_volume_stack",
]

#: Relative tolerance for "equal" voxel sizes (cubic voxels, consistent files).
VOXEL_SIZE_RTOL = 1e-3

_REAL_MODES = (0, 1, 2, 6, 12)


@dataclass(frozen=True)
class MrcHeader:
    """What jimnet needs from an MRC header.

    Attributes
    ----------
    path : pathlib.Path
    shape : tuple of int
        Data shape, ``(D, H, W)`` for a volume or ``(n, D, H, W)`` for a volume stack (zyx).
    voxel_size_xyz : tuple of float
        Header voxel size (x, y, z) in Å; 0 means unset.
    mode : int
        MRC mode (2 = float32).
    is_volume_stack : bool
        ``ispg`` 401 / 4D data.
    """

    path: Path
    shape: tuple[int, ...]
    voxel_size_xyz: tuple[float, float, float]
    mode: int
    is_volume_stack: bool

    @property
    def volume_shape(self) -> tuple[int, int, int]:
        """Shape ``(D, H, W)`` of one volume."""
        return tuple(self.shape[-3:])  # type: ignore[return-value]

    @property
    def n_volumes(self) -> int:
        """Number of volumes in the file (1 for a plain volume)."""
        return self.shape[0] if self.is_volume_stack else 1

    @property
    def voxel_size(self) -> float:
        """Cubic voxel size in Å (0.0 if unset); see :func:`checked_voxel_size`."""
        return checked_voxel_size(self.voxel_size_xyz, self.path, allow_zero=True)


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _is_compressed(path: Path) -> bool:
    with open(path, "rb") as fh:
        magic = fh.read(3)
    return magic[:2] == b"\x1f\x8b" or magic == b"BZh"


def _check_exists(path: str | os.PathLike) -> Path:
    p = Path(path).expanduser()
    if not p.exists():
        raise JimnetInputError(f"file not found: {p}")
    if not p.is_file():
        raise JimnetInputError(f"not a file: {p}")
    return p


def checked_voxel_size(
    voxel_size_xyz: ArrayLike, path: str | os.PathLike, *, allow_zero: bool = False
) -> float:
    """Cubic voxel size (Å) from an (x, y, z) header voxel size, or raise.

    Parameters
    ----------
    voxel_size_xyz : array_like, shape (3,)
        Header voxel size in Å.
    path : path-like
        File name for the error message.
    allow_zero : bool
        Return 0.0 for an unset (all-zero) voxel size instead of raising.

    Raises
    ------
    JimnetInputError
        Zero/negative/non-finite voxel size, or non-cubic voxels (relative difference > 1e-3).
    """
    vs = np.asarray(voxel_size_xyz, dtype=np.float64).reshape(3)
    if allow_zero and np.all(vs == 0):
        return 0.0
    if not np.all(np.isfinite(vs)) or np.any(vs <= 0):
        raise JimnetInputError(
            f"{path}: invalid voxel size {tuple(float(v) for v in vs)} Å in MRC header "
            "(zero or unset; pass the pixel size explicitly)"
        )
    if vs.max() - vs.min() > VOXEL_SIZE_RTOL * vs.max():
        raise JimnetInputError(
            f"{path}: non-cubic voxels {tuple(float(v) for v in vs)} Å (x, y, z) are not supported"
        )
    return float(vs.mean())


def _voxel(header: MrcHeader, allow_zero: bool) -> float:
    return checked_voxel_size(header.voxel_size_xyz, header.path, allow_zero=allow_zero)


def _header_from(mrc: mrcfile.mrcfile.MrcFile, path: Path, shape: tuple[int, ...]) -> MrcHeader:
    vs = mrc.voxel_size
    header = mrc.header
    mode = int(header.mode)
    if mode not in _REAL_MODES:
        raise JimnetInputError(f"{path}: unsupported MRC mode {mode} (expected real-valued data)")
    is_stack = len(shape) == 4
    if len(shape) not in (3, 4):
        raise JimnetInputError(
            f"{path}: expected a 3D volume or a 4D volume stack, got shape {shape}"
        )
    return MrcHeader(
        path=path,
        shape=tuple(int(s) for s in shape),
        voxel_size_xyz=(float(vs.x), float(vs.y), float(vs.z)),
        mode=mode,
        is_volume_stack=is_stack,
    )


@contextmanager
def open_mrc_data(path: str | os.PathLike) -> Iterator[tuple[MrcHeader, np.ndarray]]:
    """Open an MRC file lazily: yields ``(header, data)`` with ``data`` memory-mapped.

    Uncompressed files use ``mrcfile.mmap`` (nothing is read until ``data`` is indexed, and a
    truncated data block is detected from the file size). Compressed files are read fully with
    ``mrcfile.open``. ``data`` is in the file's dtype, shape ``(D, H, W)`` or ``(n, D, H, W)``;
    copy what you need before the context exits.

    Raises
    ------
    JimnetInputError
        Missing, truncated or corrupt file, or unsupported mode/dimensionality.
    """
    p = _check_exists(path)
    try:
        opener = mrcfile.open if _is_compressed(p) else mrcfile.mmap
        mrc = opener(p, mode="r")
    except JimnetInputError:
        raise
    except Exception as exc:
        raise JimnetInputError(f"{p}: not a readable MRC file ({_one_line(exc)})") from exc
    with mrc:
        if mrc.data is None:
            raise JimnetInputError(f"{p}: MRC file has no data block")
        header = _header_from(mrc, p, tuple(mrc.data.shape))
        yield header, mrc.data


def read_mrc_header(path: str | os.PathLike) -> MrcHeader:
    """Read and check an MRC header cheaply (memory-map, no voxel data read).

    Detects missing files, corrupt headers and truncated data blocks (uncompressed files).

    Raises
    ------
    JimnetInputError
        One line naming the file.
    """
    with open_mrc_data(path) as (header, _):
        return header


def _finite_float32(data: np.ndarray, path: Path, what: str = "") -> NDArray[np.float32]:
    out = np.array(data, dtype=np.float32, order="C", copy=True)
    if not np.all(np.isfinite(out)):
        n_bad = int(np.size(out) - np.count_nonzero(np.isfinite(out)))
        raise JimnetInputError(f"{path}{what}: {n_bad} NaN/Inf voxel value(s)")
    return out


def read_volume(
    path: str | os.PathLike,
    *,
    mmap: bool = False,
    allow_zero_voxel_size: bool = False,
) -> tuple[np.ndarray, float]:
    """Read one 3D volume.

    Parameters
    ----------
    path : path-like
        ``.mrc`` / ``.map`` / ``.mrc.gz`` file holding a 3D volume.
    mmap : bool
        Return a read-only ``numpy.memmap`` in the file's dtype instead of a float32 copy (lazy
        access; no NaN/Inf check). Ignored for compressed files (they are read into memory).
    allow_zero_voxel_size : bool
        Return voxel size 0.0 for a header without a voxel size instead of raising.

    Returns
    -------
    volume : numpy.ndarray, shape (D, H, W), float32 (zyx)
    voxel_size : float
        Å per voxel (cubic).

    Raises
    ------
    JimnetInputError
        Missing/truncated/corrupt file, a volume stack, NaN/Inf voxels, zero or non-cubic voxels.
    """
    with open_mrc_data(path) as (header, data):
        if header.is_volume_stack:
            raise JimnetInputError(
                f"{header.path}: is a volume stack of shape {header.shape}, expected one volume"
            )
        voxel = _voxel(header, allow_zero_voxel_size)
        if mmap and isinstance(data, np.memmap):
            return data, voxel
        return _finite_float32(data, header.path), voxel


def read_volume_stack(
    path: str | os.PathLike, *, allow_zero_voxel_size: bool = False
) -> tuple[NDArray[np.float32], float]:
    """Read a whole volume stack (``ispg`` 401, usually ``.mrcs``) into memory.

    Returns
    -------
    volumes : numpy.ndarray, shape (n, D, H, W), float32
        A plain 3D volume is returned as a stack of one.
    voxel_size : float
        Å per voxel.
    """
    with open_mrc_data(path) as (header, data):
        voxel = _voxel(header, allow_zero_voxel_size)
        vols = _finite_float32(data, header.path)
        return (vols if header.is_volume_stack else vols[None]), voxel


def read_stack_item(
    path: str | os.PathLike, index: int, *, allow_zero_voxel_size: bool = False
) -> tuple[NDArray[np.float32], float]:
    """Read volume ``index`` (0-based) of a volume stack, touching only that volume on disk.

    A plain 3D volume counts as a stack of one (``index`` must be 0).

    Returns
    -------
    volume : numpy.ndarray, shape (D, H, W), float32
    voxel_size : float
        Å per voxel.
    """
    with open_mrc_data(path) as (header, data):
        if not 0 <= index < header.n_volumes:
            raise JimnetInputError(
                f"{header.path}: volume index {index + 1} (1-based) out of range, "
                f"file holds {header.n_volumes} volume(s)"
            )
        voxel = _voxel(header, allow_zero_voxel_size)
        item = data[index] if header.is_volume_stack else data
        return _finite_float32(item, header.path, f" (volume {index + 1})"), voxel


def _as_float32(array: ArrayLike, ndim: int, what: str) -> NDArray[np.float32]:
    if hasattr(array, "detach"):  # torch.Tensor
        array = array.detach().cpu().numpy()
    arr = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
    if arr.ndim != ndim:
        raise ValueError(f"{what} must be {ndim}D, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} contains NaN/Inf values; refusing to write")
    return arr


def _write(
    path: str | os.PathLike, arr: NDArray[np.float32], voxel_size: float, force: bool, stack: bool
) -> Path:
    if not (np.isfinite(voxel_size) and voxel_size > 0):
        raise ValueError(f"voxel_size must be a positive number of Å, got {voxel_size}")
    target = Path(path).expanduser().absolute()
    compression = {".gz": "gzip", ".bz2": "bzip2"}.get(target.suffix)
    with atomic_write(target, force=force) as tmp, mrcfile.new(tmp, compression=compression) as mrc:
        mrc.set_data(arr)
        if stack:
            mrc.header.ispg = 401
        else:
            mrc.set_volume()
        mrc.voxel_size = float(voxel_size)
        mrc.header.origin = (0.0, 0.0, 0.0)
        mrc.nstart = (0, 0, 0)
        mrc.update_header_stats()
        # mrcfile stamps the creation time into label 0; a fixed label keeps same-seed outputs
        # byte-identical.
        mrc.header.label[0] = f"jimnet {__version__}".encode()
        mrc.header.nlabl = 1
    return target


def write_volume(
    path: str | os.PathLike, volume: ArrayLike, voxel_size: float, *, force: bool = False
) -> Path:
    """Write one volume atomically as float32 MRC (mode 2, ``ispg`` 1, origin 0).

    Parameters
    ----------
    path : path-like
        Output file; ``.gz``/``.bz2`` suffix → compressed.
    volume : array_like or torch.Tensor, shape (D, H, W)
        zyx volume; must be finite.
    voxel_size : float
        Å per voxel (> 0), written to the header (``cella = voxel_size · n``).
    force : bool
        Overwrite an existing file.

    Returns
    -------
    pathlib.Path
        The absolute path written.
    """
    return _write(path, _as_float32(volume, 3, "volume"), voxel_size, force, stack=False)


def write_volume_stack(
    path: str | os.PathLike, volumes: ArrayLike, voxel_size: float, *, force: bool = False
) -> Path:
    """Write a volume stack atomically (4D, ``ispg`` 401, float32; use a ``.mrcs`` name).

    Parameters
    ----------
    volumes : array_like or torch.Tensor, shape (n, D, H, W)
        zyx volumes; item ``i`` is RELION's ``{i+1}@path``.
    voxel_size : float
        Å per voxel (> 0).
    """
    return _write(path, _as_float32(volumes, 4, "volume stack"), voxel_size, force, stack=True)
