"""jimnet: joint unsupervised alignment and clustering of cryo-ET subtomograms.

Conventions (defined once, see ``jimnet.geometry.pose`` and ``jimnet.io.poses``):

* Volumes are arrays/tensors indexed ``[z, y, x]`` (``(..., D, H, W)``); the box centre is
  voxel ``N // 2`` on every axis.
* A pose ``(R, t)`` maps the reference onto the particle:
  ``particle(x) = reference(Rᵀ(x - c - t) + c)`` with ``x`` a zyx voxel index, ``c = N // 2``,
  ``R`` a 3×3 rotation acting on zyx column vectors and ``t`` a zyx shift in voxels.
* Files use RELION 5 conventions (xyz columns, ZYZ Euler angles in degrees, origins in Å);
  conversion happens only in ``jimnet.io``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("jimnet")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "uninstalled"

__all__ = ["__version__"]
