"""``ParticleSet``: a particle STAR file plus its subtomograms, loaded lazily.

Volumes are read from disk one at a time on access (memory-mapped MRC), never all at once unless
:meth:`ParticleSet.load_all` is called. Validation on load reads only MRC headers, plus (by
default) a streaming NaN/Inf check that holds one volume in memory at a time.

:meth:`ParticleSet.resampled` gives a view in another (working) box: every read is Fourier-
resampled (:func:`jimnet.fourier.fourier_resample`), and ``box_size``/``pixel_size`` are the
working ones, so poses in voxels (:meth:`~ParticleSet.poses`, :meth:`~ParticleSet.write_star`)
are working voxels while the STAR's origins stay in Å and its optics keep the files' own voxel
size and box.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike, NDArray

from jimnet.errors import JimnetInputError
from jimnet.fourier.resample import fourier_resample, resampled_voxel_size
from jimnet.io.mrc import VOXEL_SIZE_RTOL, MrcHeader, read_mrc_header, read_stack_item, read_volume
from jimnet.io.poses import pose_from_relion, pose_to_relion
from jimnet.io.star import (
    DEFAULT_TILT_RANGE,
    ImageLocation,
    ParticleStar,
    make_optics_table,
    optics_box_size,
    optics_pixel_size,
    particle_angles_deg,
    particle_class_numbers,
    particle_origins_xyz_angst,
    particle_tilt_ranges,
    read_particle_star,
    rebase_image_names,
    resolve_image_locations,
    update_particles,
    write_particle_star,
)

__all__ = ["ParticleSet"]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= VOXEL_SIZE_RTOL * max(abs(a), abs(b))


class ParticleSet:
    """Subtomograms listed in a particle STAR file, read lazily.

    Use :meth:`from_star` to construct. Volumes are ``torch.float32`` tensors of shape
    ``(D, H, W)`` = ``(N, N, N)`` indexed zyx.

    Attributes
    ----------
    star : ParticleStar
        The STAR file content (all blocks and columns).
    pixel_size : float
        Voxel size in Å of the volumes returned (the working voxel size of a resampled view).
    box_size : int
        Cubic box edge ``N`` in voxels of the volumes returned.
    source_pixel_size : float
        Voxel size in Å of the files (what the STAR's optics table states).
    source_box_size : int
        Box edge of the files; differs from ``box_size`` only in a :meth:`resampled` view.
    """

    def __init__(
        self,
        star: ParticleStar,
        locations: Sequence[ImageLocation],
        image_base_dir: Path,
        *,
        pixel_size: float,
        box_size: int,
        tilt_range: tuple[float, float] = DEFAULT_TILT_RANGE,
    ) -> None:
        if len(locations) != len(star.particles):
            raise ValueError("one image location per particle row is required")
        self.star = star
        self._locations = list(locations)
        self._base_dir = image_base_dir
        self.pixel_size = self.source_pixel_size = float(pixel_size)
        self.box_size = self.source_box_size = int(box_size)
        self._tilt_range = (float(tilt_range[0]), float(tilt_range[1]))

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_star(
        cls,
        path: str | os.PathLike,
        pixel_size: float | None = None,
        tilt_range: tuple[float, float] = DEFAULT_TILT_RANGE,
        validate: bool = True,
        validate_values: bool = True,
    ) -> ParticleSet:
        """Open a particle STAR file.

        Parameters
        ----------
        path : path-like
            RELION 3.0–5 particle STAR or a single-block STAR (e.g. from ``starfile.write``).
        pixel_size : float, optional
            Voxel size in Å. Overrides the optics table (``rlnImagePixelSize``) and the MRC
            headers; headers may then be unset (0). Default: optics table, else MRC header.
        tilt_range : (float, float)
            Tilt range (min, max) in degrees for particles without ``jimnetTiltMin/Max``.
        validate : bool
            Check every file's MRC header: exists, readable, not truncated, cubic boxes of one
            size, one voxel size (within 1e-3 relative) equal to the optics pixel size, stack
            indices in range. Headers only (cheap).
        validate_values : bool
            Also read every volume (one at a time) and reject NaN/Inf voxels. Only with
            ``validate``.

        Raises
        ------
        JimnetInputError
            One line naming the STAR file, the 1-based row, the image name and the file.
        """
        star = read_particle_star(path)
        lo, hi = (float(v) for v in tilt_range)
        if not (-90.0 <= lo < hi <= 90.0):
            raise JimnetInputError(f"invalid tilt range [{lo:g}, {hi:g}] degrees")
        if pixel_size is not None and not (np.isfinite(pixel_size) and pixel_size > 0):
            raise JimnetInputError(f"pixel size must be a positive number of Å, got {pixel_size}")
        locations, base = resolve_image_locations(star.particles, star.path)
        optics_px = optics_pixel_size(star)
        known_px = pixel_size if pixel_size is not None else optics_px
        if validate:
            box, header_px = _validate_headers(star, locations, known_px, pixel_size is None)
        else:
            header = _header_for_row(star, locations, 0)
            box, header_px = header.volume_shape[0], header.voxel_size
        px = known_px if known_px is not None else header_px
        if not px:
            raise JimnetInputError(
                f"{star.path}: no pixel size: MRC header voxel size is unset and the STAR file "
                "has no rlnImagePixelSize; pass it explicitly (--pixel-size)"
            )
        optics_box = optics_box_size(star)
        if validate and optics_box is not None and optics_box != box:
            raise JimnetInputError(
                f"{star.path}: rlnImageSize {optics_box} in data_optics differs from the MRC box "
                f"size {box}"
            )
        particles = cls(
            star, locations, base, pixel_size=float(px), box_size=box, tilt_range=(lo, hi)
        )
        particles.tilt_ranges()  # validates jimnetTiltMin/Max
        if validate and validate_values:
            for i in range(len(particles)):
                particles._read(i)
        return particles

    def resampled(self, box: int) -> ParticleSet:
        """A view of the same particles Fourier-resampled to ``box³`` on every read.

        The view shares the STAR content; its ``pixel_size`` is ``source_pixel_size ·
        source_box_size / box`` (the physical box is kept) and the box centre stays at voxel
        ``box // 2``. Tilt ranges and every other column are unchanged. ``box`` equal to the
        files' box gives a view that reads them untouched.

        Parameters
        ----------
        box : int
            Working box edge in voxels (≥ 1).
        """
        box = int(box)
        if box < 1:
            raise ValueError(f"box must be ≥ 1, got {box}")
        view = copy.copy(self)
        view.box_size = box
        view.pixel_size = resampled_voxel_size(self.source_pixel_size, self.source_box_size, box)
        return view

    @property
    def is_resampled(self) -> bool:
        """Whether reads are resampled (``box_size != source_box_size``)."""
        return self.box_size != self.source_box_size

    # ------------------------------------------------------------------ access

    def __len__(self) -> int:
        return len(self.star.particles)

    def __repr__(self) -> str:
        source = (f", resampled from {self.source_box_size}³ at {self.source_pixel_size:g} Å"
                  if self.is_resampled else "")
        return (
            f"ParticleSet({self.star.path}, n={len(self)}, box={self.box_size}, "
            f"pixel_size={self.pixel_size:g} Å{source})"
        )

    @property
    def image_base_dir(self) -> Path:
        """Folder that relative ``rlnImageName`` paths were resolved against
        (:data:`jimnet.io.names.IMAGE_PATH_RULE`)."""
        return self._base_dir

    @property
    def table(self) -> pd.DataFrame:
        """The particles table (one row per particle, RELION column names)."""
        return self.star.particles

    @property
    def optics(self) -> pd.DataFrame | None:
        """The ``data_optics`` table, or None."""
        return self.star.optics

    @property
    def star_path(self) -> Path | None:
        """Absolute path of the STAR file read."""
        return self.star.path

    @property
    def image_locations(self) -> list[ImageLocation]:
        """Resolved file (and 0-based stack index) of every particle."""
        return list(self._locations)

    def _read(self, i: int) -> NDArray[np.float32]:
        """Volume ``i`` as stored (``source_box_size³``)."""
        loc = self._locations[i]
        try:
            if loc.index is None:
                vol, _ = read_volume(loc.path, allow_zero_voxel_size=True)
            else:
                vol, _ = read_stack_item(loc.path, loc.index, allow_zero_voxel_size=True)
        except JimnetInputError as exc:
            raise JimnetInputError(f"{self.star.row_label(i)}: {exc}") from exc
        if vol.shape != (self.source_box_size,) * 3:
            raise JimnetInputError(
                f"{self.star.row_label(i)}: {loc.path}: volume shape {vol.shape} differs from "
                f"box {self.source_box_size}³"
            )
        return vol

    def _index(self, i: int) -> int:
        n = len(self)
        i = int(i)
        if not -n <= i < n:
            raise IndexError(f"particle index {i} out of range for {n} particles")
        return i % n

    def __getitem__(self, i: int) -> torch.Tensor:
        """Volume ``i`` (0-based) as a float32 tensor of shape (D, H, W), zyx."""
        return fourier_resample(torch.from_numpy(self._read(self._index(i))), self.box_size)

    def __iter__(self) -> Iterator[torch.Tensor]:
        for i in range(len(self)):
            yield self[i]

    def get_batch(self, indices: Sequence[int] | ArrayLike | torch.Tensor) -> torch.Tensor:
        """Volumes ``indices`` stacked: float32 tensor of shape (B, D, H, W)."""
        idx = [self._index(i) for i in np.asarray(indices).reshape(-1).tolist()]
        out = torch.empty((len(idx), *(self.source_box_size,) * 3), dtype=torch.float32)
        for k, i in enumerate(idx):
            out[k] = torch.from_numpy(self._read(i))
        return fourier_resample(out, self.box_size)

    def load_all(self) -> torch.Tensor:
        """All volumes in memory: float32 tensor of shape (n, D, H, W)."""
        return self.get_batch(np.arange(len(self)))

    # ------------------------------------------------------------------ metadata

    def poses(self) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Poses from ``rlnAngle*`` / ``rlnOrigin*Angst`` (via :mod:`jimnet.io.poses`).

        Returns
        -------
        rotation : numpy.ndarray, shape (n, 3, 3)
            zyx rotations, reference → particle (identity where angles are absent).
        shift : numpy.ndarray, shape (n, 3)
            zyx shifts in voxels of ``pixel_size`` (0 where origins are absent).
        """
        angles = particle_angles_deg(self.table, self.star_path)
        # RELION ≤ 3.0 origins count the files' pixels
        origins = particle_origins_xyz_angst(self.table, self.source_pixel_size, self.star_path)
        return pose_from_relion(angles, origins, self.pixel_size)

    def tilt_ranges(self) -> NDArray[np.float64]:
        """Per-particle tilt range ``(min, max)`` in degrees, shape (n, 2)."""
        return particle_tilt_ranges(self.table, self._tilt_range, self.star_path)

    def class_numbers(self) -> NDArray[np.int64] | None:
        """``rlnClassNumber`` (1-based as in RELION), shape (n,), or None if absent."""
        return particle_class_numbers(self.table, self.star_path)

    # ------------------------------------------------------------------ writing

    def updated_star(
        self,
        out_path: str | os.PathLike,
        *,
        rotations: ArrayLike | None = None,
        shifts: ArrayLike | None = None,
        class_numbers: ArrayLike | None = None,
        tilt_ranges: ArrayLike | None = None,
    ) -> ParticleStar:
        """STAR content to write at ``out_path`` with new poses/classes (see :meth:`write_star`)."""
        table = self.table
        if rotations is not None or shifts is not None:
            old_rot, old_shift = self.poses()
            rot = old_rot if rotations is None else rotations
            shift = old_shift if shifts is None else shifts
            angles, origins = pose_to_relion(rot, shift, self.pixel_size)
            if angles.shape != (len(self), 3):
                raise ValueError(f"expected {len(self)} poses, got {angles.shape[0]}")
            table = update_particles(table, angles_deg=angles, origins_xyz_angst=origins)
        if tilt_ranges is None:  # make the ranges used (incl. the from_star default) explicit
            tilt_ranges = self.tilt_ranges()
        table = update_particles(table, class_numbers=class_numbers, tilt_ranges_deg=tilt_ranges)
        table = rebase_image_names(table, self._base_dir, out_path)
        # The STAR describes the files, so its optics keep their voxel size and box.
        optics = self.optics
        if optics is None:
            optics = make_optics_table(self.source_pixel_size, self.source_box_size)
        else:
            optics = optics.copy()
            old = optics.get("rlnImagePixelSize")
            if old is None or not all(_close(float(v), self.source_pixel_size) for v in old):
                optics["rlnImagePixelSize"] = self.source_pixel_size
            if "rlnImageSize" not in optics.columns:
                optics["rlnImageSize"] = self.source_box_size
        if "rlnOpticsGroup" not in table.columns:
            table["rlnOpticsGroup"] = int(optics["rlnOpticsGroup"].iloc[0])
        return ParticleStar(table, optics, dict(self.star.other_blocks), None)

    def write_star(
        self,
        path: str | os.PathLike,
        *,
        rotations: ArrayLike | None = None,
        shifts: ArrayLike | None = None,
        class_numbers: ArrayLike | None = None,
        tilt_ranges: ArrayLike | None = None,
        force: bool = False,
    ) -> Path:
        """Write the particles (RELION 5 layout) with updated poses/classes, atomically.

        Every input column and block is kept; only the columns for the given arguments change.
        A file without ``data_optics`` gets one (from ``pixel_size`` and ``box_size``); relative
        ``rlnImageName`` are rewritten if needed so they resolve from the new location.

        Parameters
        ----------
        path : path-like
            Output STAR file.
        rotations : array_like or torch.Tensor, shape (n, 3, 3), optional
            zyx rotations, reference → particle (jimnet pose); written as ``rlnAngle*``.
        shifts : array_like or torch.Tensor, shape (n, 3), optional
            zyx shifts in voxels of ``pixel_size``; written as ``rlnOrigin{X,Y,Z}Angst``.
        class_numbers : array_like of int, shape (n,), optional
            **1-based** ``rlnClassNumber``.
        tilt_ranges : array_like, shape (n, 2) or (2,), optional
            ``jimnetTiltMin/Max`` in degrees. Default: :meth:`tilt_ranges` (always written).
        force : bool
            Overwrite an existing file.

        Returns
        -------
        pathlib.Path
            Absolute path written.
        """
        star = self.updated_star(
            path,
            rotations=rotations,
            shifts=shifts,
            class_numbers=class_numbers,
            tilt_ranges=tilt_ranges,
        )
        return write_particle_star(path, star, force=force)


def _header_for_row(star: ParticleStar, locations: Sequence[ImageLocation], i: int) -> MrcHeader:
    try:
        return read_mrc_header(locations[i].path)
    except JimnetInputError as exc:
        raise JimnetInputError(f"{star.row_label(i)}: {exc}") from exc


def _validate_headers(
    star: ParticleStar,
    locations: Sequence[ImageLocation],
    known_pixel_size: float | None,
    check_against_known: bool,
) -> tuple[int, float]:
    """Check all MRC headers; return (box size, header voxel size or 0 if unset)."""
    headers: dict[Path, MrcHeader] = {}
    ref_box: int | None = None
    ref_px = 0.0
    ref_row = 0
    for i, loc in enumerate(locations):
        header = headers.get(loc.path)
        label = f"{star.row_label(i)}: {loc.path}"
        if header is None:
            header = _header_for_row(star, locations, i)
            headers[loc.path] = header
            shape = header.volume_shape
            if len(set(shape)) != 1:
                raise JimnetInputError(f"{label}: box {shape} (zyx) is not cubic")
            if ref_box is None:
                ref_box, ref_row = shape[0], i
            elif shape[0] != ref_box:
                raise JimnetInputError(
                    f"{label}: box size {shape[0]} differs from {ref_box} of row {ref_row + 1}"
                )
            try:
                px = header.voxel_size
            except JimnetInputError as exc:
                raise JimnetInputError(f"{star.row_label(i)}: {exc}") from exc
            if px == 0 and known_pixel_size is None:
                raise JimnetInputError(
                    f"{label}: voxel size unset (0) in MRC header and no rlnImagePixelSize in "
                    "the STAR file; pass the pixel size explicitly (--pixel-size)"
                )
            if px > 0:
                if ref_px and not _close(px, ref_px):
                    raise JimnetInputError(
                        f"{label}: voxel size {px:g} Å differs from {ref_px:g} Å of an earlier row"
                    )
                if check_against_known and known_pixel_size and not _close(px, known_pixel_size):
                    raise JimnetInputError(
                        f"{label}: voxel size {px:g} Å in MRC header differs from "
                        f"rlnImagePixelSize {known_pixel_size:g} Å"
                    )
                ref_px = ref_px or px
        if loc.index is None and header.is_volume_stack:
            raise JimnetInputError(
                f"{label}: is a stack of {header.n_volumes} volumes; name one as N@file (1-based)"
            )
        if loc.index is not None and loc.index >= header.n_volumes:
            raise JimnetInputError(
                f"{label}: volume {loc.index + 1} requested but the file holds "
                f"{header.n_volumes} volume(s)"
            )
    assert ref_box is not None
    return ref_box, ref_px
