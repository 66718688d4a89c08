"""Tiny synthetic data sets for the io and cli tests (volumes ≤ 16³, fixed seeds)."""

from __future__ import annotations

import warnings
from pathlib import Path

import mrcfile
import numpy as np
import pandas as pd
import starfile

STRING_COLUMNS = ["rlnTomoName", "rlnTomoParticleName", "rlnImageName"]


def random_volume(n: int = 8, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, n, n)).astype(np.float32)


def write_mrc(path: Path, data: np.ndarray, voxel_size: float | tuple = 5.0) -> Path:
    """Write with plain mrcfile (independent of jimnet's writer); NaN data allowed."""
    with warnings.catch_warnings(), mrcfile.new(path, overwrite=True) as mrc:
        warnings.filterwarnings("ignore", "Data array contains NaN", RuntimeWarning)
        mrc.set_data(np.asarray(data))
        mrc.voxel_size = voxel_size
    return path


def write_plain_dataset(
    directory: Path,
    n: int = 4,
    box: int = 8,
    voxel_size: float = 5.0,
    classes: bool = True,
    extra: dict | None = None,
) -> Path:
    """Volumes + a single-block STAR written by ``starfile.write`` directly (no optics)."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vols").mkdir(exist_ok=True)
    names = []
    for i in range(n):
        name = f"vols/p{i:02d}.mrc"
        write_mrc(directory / name, random_volume(box, seed=i), voxel_size)
        names.append(name)
    rng = np.random.default_rng(123)
    data = {
        "rlnTomoName": ["01"] * n,
        "rlnImageName": names,
        "rlnAngleRot": rng.uniform(-180, 180, n),
        "rlnAngleTilt": rng.uniform(0, 180, n),
        "rlnAnglePsi": rng.uniform(-180, 180, n),
        "rlnOriginXAngst": rng.normal(size=n),
        "rlnOriginYAngst": rng.normal(size=n),
        "rlnOriginZAngst": rng.normal(size=n),
        "rlnMyExtraColumn": np.arange(n) * 1.5,
    }
    if classes:
        data["rlnClassNumber"] = [1 + i % 2 for i in range(n)]
    data.update(extra or {})
    star = directory / "particles.star"
    starfile.write(pd.DataFrame(data), star)
    return star


RELION5_STAR = """
# version 50001

data_general

_rlnTomoSubTomosAre2DStacks                       0


# version 50001

data_optics

loop_
_rlnOpticsGroup #1
_rlnOpticsGroupName #2
_rlnSphericalAberration #3
_rlnVoltage #4
_rlnTomoTiltSeriesPixelSize #5
_rlnCtfDataAreCtfPremultiplied #6
_rlnImageDimensionality #7
_rlnTomoSubtomogramBinning #8
_rlnImagePixelSize #9
_rlnImageSize #10
_rlnAmplitudeContrast #11
1 opticsGroup1 2.700000 300.000000 1.250000 0 3 4.000000 5.000000 8 0.100000


# version 50001

data_particles

loop_
_rlnTomoName #1
_rlnTomoParticleName #2
_rlnCenteredCoordinateXAngst #3
_rlnCenteredCoordinateYAngst #4
_rlnCenteredCoordinateZAngst #5
_rlnOriginXAngst #6
_rlnOriginYAngst #7
_rlnOriginZAngst #8
_rlnAngleRot #9
_rlnAngleTilt #10
_rlnAnglePsi #11
_rlnOpticsGroup #12
_rlnImageName #13
_rlnClassNumber #14
01 01/1 100 -200 50 1 2 -3 10 20 30 1 vols/p00.mrc 1
01 01/2 -100 200 -50 0 0.5 0 -40 90 170 1 vols/p01.mrc 2
02 02/1 0 0 0 0 0 0 0 0 0 1 vols/p02.mrc 2

"""


def write_relion5_dataset(directory: Path, voxel_size: float = 5.0, box: int = 8) -> Path:
    """A hand-written RELION 5 particle STAR (general + optics + particles) and 3 volumes."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "vols").mkdir(exist_ok=True)
    for i in range(3):
        write_mrc(directory / f"vols/p{i:02d}.mrc", random_volume(box, seed=10 + i), voxel_size)
    star = directory / "run_data.star"
    star.write_text(RELION5_STAR)
    return star
