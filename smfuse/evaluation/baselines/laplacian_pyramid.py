"""Laplacian pyramid fusion (Burt and Adelson): max-abs detail per level, averaged top.

Each source is decomposed into a Laplacian pyramid with Burt and Adelson's 5-tap
generating kernel ``w = [1, 4, 6, 4, 1] / 16`` (``a = 0.4``): ``G_{k+1} = REDUCE(G_k)``
(separable blur, keep every second row and column), ``L_k = G_k - EXPAND(G_{k+1})``
(insert zeros, blur with ``2 w`` per axis). At every level the coefficient of larger
magnitude is kept; the top Gaussian level is averaged; the pyramid is collapsed.

Choices (stated once): ``levels=4`` band-pass levels (fewer on small images), mirrored
borders (``scipy.ndimage`` ``'mirror'``, i.e. MATLAB ``'symmetric'`` without the edge
sample repeated), odd sizes handled by expanding to the finer level's exact shape. The
decomposition is exact for any border rule, since each ``L_k`` stores the residual.
Colour: decisions on the grey pyramid (MATLAB ``rgb2gray`` weights), applied to every
channel; ties go to the first source.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from smfuse.io import grey_unit
from smfuse.evaluation.baselines._common import finish, prepare

__all__ = ["fuse", "pyramid", "collapse", "LEVELS", "KERNEL"]

LEVELS = 4
KERNEL = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0


def _blur(x: np.ndarray, k: np.ndarray) -> np.ndarray:
    for axis in (0, 1):
        x = ndimage.correlate1d(x, k, axis=axis, mode="mirror")
    return x


def _reduce(x: np.ndarray) -> np.ndarray:
    return _blur(x, KERNEL)[::2, ::2]


def _expand(x: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    up = np.zeros(shape[:2] + x.shape[2:], dtype=np.float64)
    up[::2, ::2] = x
    return _blur(up, 2.0 * KERNEL)


def pyramid(image: np.ndarray, levels: int = LEVELS) -> list[np.ndarray]:
    """Laplacian pyramid ``[L_0, ..., L_{n-1}, G_n]`` of an ``(H, W[, C])`` float image.

    ``n = levels``, reduced while the coarsest level would fall below 4 pixels a side.
    """
    x = np.asarray(image, dtype=np.float64)
    out = []
    for _ in range(int(levels)):
        if min(x.shape[:2]) < 8:
            break
        g = _reduce(x)
        out.append(x - _expand(g, x.shape))
        x = g
    out.append(x)
    return out


def collapse(pyr: list[np.ndarray]) -> np.ndarray:
    """Inverse of :func:`pyramid`."""
    x = pyr[-1]
    for lap in reversed(pyr[:-1]):
        x = lap + _expand(x, lap.shape)
    return x


def fuse(a: np.ndarray, b: np.ndarray, *, levels: int = LEVELS,
         data_range: float | None = None) -> np.ndarray:
    """Fuse two sources with a Laplacian pyramid (max-abs details, mean top level).

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) ndarray
        Registered sources of the same shape and dtype (``uint8``, ``uint16``, or float
        in [0, 1]).
    data_range : float, optional
        White level of float sources (e.g. 255); the result is then on the same scale.
    levels : int
        Band-pass levels, >= 1 (default 4).

    Returns
    -------
    fused : ndarray
        Same shape and dtype as the sources; rounded and clipped, not stretched.

    Raises
    ------
    ValueError
        If the sources are refused by :func:`smfuse.io.check_pair`, a float source
        leaves [0, 1], or ``levels < 1``.

    References
    ----------
    P. J. Burt, E. H. Adelson, "The Laplacian pyramid as a compact image code", IEEE
    Trans. Communications 31(4), 1983, 532-540. doi:10.1109/TCOM.1983.1095851

    P. J. Burt, E. H. Adelson, "Merging images through pattern decomposition", Proc.
    SPIE 575, 1985, 173-181. doi:10.1117/12.966501

    Examples
    --------
    >>> import numpy as np
    >>> from smfuse.evaluation.baselines.laplacian_pyramid import fuse
    >>> x = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)
    >>> bool((fuse(x, x) == x).all())
    True
    """
    a01, b01, dtype = prepare(a, b, data_range)
    if int(levels) != levels or levels < 1:
        raise ValueError(f"levels must be a positive integer, got {levels!r}")
    pa, pb = pyramid(a01, levels), pyramid(b01, levels)
    ga, gb = pyramid(grey_unit(a, role="the first source", data_range=data_range), levels), pyramid(grey_unit(b, role="the second source", data_range=data_range), levels)
    fused = []
    for la, lb, da, db in zip(pa[:-1], pb[:-1], ga[:-1], gb[:-1]):
        take_a = np.abs(da) >= np.abs(db)
        if la.ndim == 3:
            take_a = take_a[..., None]
        fused.append(np.where(take_a, la, lb))
    fused.append(0.5 * (pa[-1] + pb[-1]))
    return finish(collapse(fused), dtype, data_range)
