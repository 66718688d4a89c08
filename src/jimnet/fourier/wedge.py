r"""Analytic single-axis missing-wedge masks, optionally for rotated volumes, batched.

Geometry (array axes; CONVENTIONS.md §1.1, §4): the beam is array axis 0 (``z``), the tilt axis is
array axis 1 (``y``), and array axis 2 is ``x``. Frequencies are ``k = (k_z, k_y, k_x)`` in
cycles/voxel (:mod:`jimnet.fourier.grids`).

Derivation
----------
Tilting the specimen by ``α`` (right-handed about ``+y``) is, in zyx order, the rotation
``R_α = [[cos α, 0, −sin α], [0, 1, 0], [sin α, 0, cos α]]`` applied as in
:func:`jimnet.transform.rigid_transform`: ``g(r) = f(R_αᵀ r)``. Its projection along the beam,
``p(y, x) = Σ_z g(z, y, x)``, has the 2D transform ``P(k_y, k_x) = G(0, k_y, k_x)``
(projection-slice theorem) ``= F(R_αᵀ (0, k_y, k_x)) = F(k_x sin α, k_y, k_x cos α)``. So the
image at tilt ``α`` samples the central plane of the specimen's transform whose in-plane
``x``-direction is ``(k_x, k_z) ∝ (cos α, sin α)``. Collecting all tilts in
``[tilt_min, tilt_max]``, a frequency ``k`` is **observed** iff its angle

    β = atan(k_z / k_x) ∈ (−90°, 90°]

lies in ``[tilt_min, tilt_max]``. Special cases: ``k_x = 0, k_z ≠ 0`` has ``β = 90°`` and is
observed only if the range reaches ±90°; the line ``k_z = k_x = 0`` (every ``k_y``, the tilt axis)
is in every plane and always observed. For ``±60°`` this is ``|k_x| ≥ tan(30°)·|k_z|``, which is
AITom's ``wedge_mask(size, 30)`` after renaming its axes (AITom puts the beam on array axis 2 and
tests ``|k_0| ≥ tan 30°·|k_2|``; jimnet's mask is that array transposed ``(2, 1, 0)``).

Rotated masks
-------------
For a real volume ``v`` and ``v_R(x) = v(Rᵀ(x − c) + c)`` (what ``rigid_transform`` does with
rotation ``R``), ``V_R(k) = V(Rᵀ k)`` up to a phase (the box centre ``c`` is the DFT phase origin
``N // 2``, and a shift only changes phases; on a finite grid this holds up to interpolation and
box-truncation error, i.e. for content well inside the box). So the observed region of the
rotated volume is
``M_R(k) = M(Rᵀ k)``, which this module evaluates **analytically** at the rotated frequencies — the
mask is never interpolated. Examples:

* Gum-Net imputation (METHOD.md §3.6) warps the source by ``(R, t)``: use ``rotation=R`` for its
  ``M_obs`` / ``M_miss``.
* A particle with pose ``(R, t)`` (reference → particle) has its wedge in the tomogram frame; the
  same wedge expressed in the reference frame is ``rotation=Rᵀ`` (the inverse pose's rotation).

Masks are hard 0/1 (not differentiable); the sphere cut-off ``|k| ≤ 0.5`` cycles/voxel (radius
``N/2`` voxels on a cube, boundary included) is applied by default.

Implementation: with ``(u, w) = (q_x, q_z)`` the in-plane components of ``q = Rᵀ k``, ``β`` lies in
``[a, b]`` iff one of ``±(u, w)`` has ``u ≥ 0``, ``cos a·w − sin a·u ≥ 0`` and
``sin b·u − cos b·w ≥ 0`` (no ``atan``; points on the boundary count as observed, with a relative
tolerance of a few float eps of ``|k|``).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from jimnet.fourier.grids import Layout, fourier_shape, frequency_axes, sphere_mask

TensorLike = torch.Tensor | float


def _pick(dtype: torch.dtype | None, device, *args) -> tuple[torch.dtype, torch.device]:
    """Compute dtype/device: those of the first tensor argument (if float), else the defaults.

    Half precisions are promoted to float32 for the geometry.
    """
    tensors = [t for t in args if isinstance(t, torch.Tensor)]
    cdtype = dtype or torch.get_default_dtype()
    cdevice = torch.device(device) if device is not None else torch.device("cpu")
    if tensors:
        if tensors[0].is_floating_point():
            cdtype = tensors[0].dtype
        if device is None:
            cdevice = tensors[0].device
    if cdtype not in (torch.float32, torch.float64):
        cdtype = torch.float32
    return cdtype, cdevice


def _check_range(tilt_min: torch.Tensor, tilt_max: torch.Tensor) -> None:
    lo, hi = torch.broadcast_tensors(tilt_min, tilt_max)
    ok = (lo >= -90.0) & (hi <= 90.0) & (lo <= hi)
    if not bool(ok.all()):
        raise ValueError(
            "tilt ranges must satisfy -90 <= tilt_min_deg <= tilt_max_deg <= 90 (degrees), got "
            f"min={lo[~ok].flatten()[:3].tolist()} max={hi[~ok].flatten()[:3].tolist()}"
        )


def wedge_mask(
    shape: Sequence[int],
    tilt_min_deg: TensorLike = -60.0,
    tilt_max_deg: TensorLike = 60.0,
    rotation: torch.Tensor | None = None,
    *,
    sphere: bool = True,
    layout: Layout = "shifted",
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Observed-region Fourier mask ``M_obs`` of a single-axis tilt series (tilt axis y, beam z).

    Parameters
    ----------
    shape : (D, H, W)
        Real-space box shape.
    tilt_min_deg, tilt_max_deg : float or torch.Tensor, shape (*batch)
        Tilt range in degrees, ``-90 <= tilt_min <= tilt_max <= 90``; tensors give per-particle
        ranges (e.g. shape ``(B,)``).
    rotation : torch.Tensor, shape (3, 3) or (*batch, 3, 3), optional
        Return the mask of the volume **after** rotating it by ``R`` (zyx, as
        :func:`jimnet.transform.rigid_transform` does): ``M_R(k) = M(Rᵀ k)``.
    sphere : bool
        Multiply by the Fourier sphere ``|k| ≤ 0.5`` cycles/voxel.
    layout : {"shifted", "unshifted", "rfft"}
        Fourier layout (:mod:`jimnet.fourier.grids`); "shifted" has DC at ``N // 2``.
    dtype, device
        Output dtype and device. Defaults: those of the first tensor among ``rotation``,
        ``tilt_min_deg``, ``tilt_max_deg`` (if floating point), else torch's default dtype and CPU.

    Returns
    -------
    torch.Tensor, shape (*batch, *fourier_shape(shape, layout))
        1.0 where observed, 0.0 where missing. ``batch`` is the broadcast of the tilt tensors'
        shapes and ``rotation.shape[:-2]``; empty when all are scalars / a single matrix.
    """
    if len(shape) != 3:
        raise ValueError(f"shape must be (D, H, W), got {tuple(shape)}")
    cdtype, cdevice = _pick(dtype, device, rotation, tilt_min_deg, tilt_max_deg)
    out_dtype = dtype or cdtype
    a = torch.as_tensor(tilt_min_deg, dtype=cdtype, device=cdevice)
    b = torch.as_tensor(tilt_max_deg, dtype=cdtype, device=cdevice)
    _check_range(a, b)

    kz, ky, kx = frequency_axes(shape, layout, dtype=cdtype, device=cdevice)
    grid_shape = fourier_shape(shape, layout)
    kmag = (kz**2 + ky**2 + kx**2).sqrt()  # (D, H, W')

    def per_batch(x: torch.Tensor) -> torch.Tensor:  # (*batch) -> (*batch, 1, 1, 1)
        return x.reshape(*x.shape, 1, 1, 1)

    if rotation is None:
        qz, qx = kz, kx
        batch = torch.broadcast_shapes(a.shape, b.shape)
    else:
        rot = torch.as_tensor(rotation, dtype=cdtype, device=cdevice)
        if rot.shape[-2:] != (3, 3):
            raise ValueError(f"rotation must be (..., 3, 3), got {tuple(rot.shape)}")
        # q = Rᵀ k  ⇒  q_z = Σ_j R[j, 0] k_j and q_x = Σ_j R[j, 2] k_j.
        qz = per_batch(rot[..., 0, 0]) * kz + per_batch(rot[..., 1, 0]) * ky
        qz = qz + per_batch(rot[..., 2, 0]) * kx
        qx = per_batch(rot[..., 0, 2]) * kz + per_batch(rot[..., 1, 2]) * ky
        qx = qx + per_batch(rot[..., 2, 2]) * kx
        batch = torch.broadcast_shapes(a.shape, b.shape, rot.shape[:-2])

    ar, br = torch.deg2rad(a), torch.deg2rad(b)
    ca, sa = per_batch(torch.cos(ar)), per_batch(torch.sin(ar))
    cb, sb = per_batch(torch.cos(br)), per_batch(torch.sin(br))
    tol = 8.0 * torch.finfo(cdtype).eps * kmag
    above_min = ca * qz - sa * qx  # ≥ 0 ⇔ direction (qx, qz) is at or past angle a
    below_max = sb * qx - cb * qz  # ≥ 0 ⇔ direction (qx, qz) is at or before angle b
    plus = (qx >= -tol) & (above_min >= -tol) & (below_max >= -tol)
    minus = (qx <= tol) & (above_min <= tol) & (below_max <= tol)
    observed = plus | minus
    if sphere:
        observed = observed & (kmag <= 0.5 + tol)
    return observed.expand(*batch, *grid_shape).to(out_dtype).contiguous()


def wedge_masks(
    shape: Sequence[int],
    tilt_min_deg: TensorLike = -60.0,
    tilt_max_deg: TensorLike = 60.0,
    rotation: torch.Tensor | None = None,
    *,
    sphere: bool = True,
    missing_within_sphere: bool = False,
    layout: Layout = "shifted",
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Observed and missing masks ``(M_obs, M_miss)`` for Gum-Net-style imputation.

    ``M_obs`` is :func:`wedge_mask` with the same arguments. ``M_miss = 1 − M_obs`` (Gum-Net /
    METHOD.md §3.6: everything not observed, including frequencies beyond the sphere), or, with
    ``missing_within_sphere=True``, ``M_miss = S · (1 − wedge)`` where ``S`` is the sphere
    ``|k| ≤ 0.5`` (only the wedge itself, inside the sphere).

    Returns
    -------
    (torch.Tensor, torch.Tensor)
        Both of shape ``(*batch, *fourier_shape(shape, layout))``, values 0/1.
    """
    obs = wedge_mask(shape, tilt_min_deg, tilt_max_deg, rotation, sphere=sphere, layout=layout,
                     dtype=dtype, device=device)
    if not missing_within_sphere:
        return obs, 1.0 - obs
    wedge = obs if not sphere else wedge_mask(
        shape, tilt_min_deg, tilt_max_deg, rotation, sphere=False, layout=layout, dtype=dtype,
        device=device)
    inside = sphere_mask(shape, 0.5, layout, dtype=obs.dtype, device=obs.device)
    return obs, inside * (1.0 - wedge)


def tilt_rotation(angle_deg: TensorLike, *, dtype: torch.dtype | None = None) -> torch.Tensor:
    """Rotation matrix (zyx) of a right-handed specimen tilt by ``angle_deg`` about ``+y``.

    ``[[cos α, 0, −sin α], [0, 1, 0], [sin α, 0, cos α]]`` acting on ``(z, y, x)`` column vectors;
    ``rigid_transform(volume, tilt_rotation(α)).sum(0)`` is the projection at tilt ``α`` whose
    transform is the plane ``(k_x, k_z) ∝ (cos α, sin α)`` sampled by :func:`wedge_mask`.

    Returns
    -------
    torch.Tensor, shape (*angle.shape, 3, 3)
    """
    ang = torch.deg2rad(torch.as_tensor(angle_deg, dtype=dtype or torch.get_default_dtype()))
    c, s = torch.cos(ang), torch.sin(ang)
    zero, one = torch.zeros_like(ang), torch.ones_like(ang)
    rows = [torch.stack([c, zero, -s], -1), torch.stack([zero, one, zero], -1),
            torch.stack([s, zero, c], -1)]
    return torch.stack(rows, -2)



def common_wedge_mask(
    shape: Sequence[int],
    rotation: torch.Tensor,
    source_tilt: tuple[TensorLike, TensorLike],
    target_tilt: tuple[TensorLike, TensorLike],
    *,
    sphere: bool = True,
    layout: Layout = "unshifted",
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Frequencies observed both in a source rotated by ``rotation`` and in an unrotated target.

    ``M(k) = M_obs(Rᵀ k; source tilt) · M_obs(k; target tilt)`` — the region over which a
    constrained correlation compares the two (Förster 2008; Xu et al. 2012).

    Parameters
    ----------
    shape : (D, H, W)
    rotation : torch.Tensor, shape (3, 3) or (B, 3, 3)
        Rotation applied to the source (zyx, as :func:`jimnet.transform.rigid_transform`).
    source_tilt, target_tilt : (tilt_min_deg, tilt_max_deg)
        Floats or tensors of shape (B,), degrees.
    sphere, layout, dtype, device
        As :func:`wedge_mask` (default layout: unshifted, DC at index 0).

    Returns
    -------
    torch.Tensor, shape (B, *fourier_shape(shape, layout)) (no batch axis for scalars), 0/1.
    """
    kw = {"sphere": sphere, "layout": layout, "dtype": dtype, "device": device}
    return (wedge_mask(shape, *source_tilt, rotation, **kw)
            * wedge_mask(shape, *target_tilt, None, **kw))
