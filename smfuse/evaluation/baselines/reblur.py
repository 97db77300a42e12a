"""The reblur decision: the source that is *not* well explained as a Gaussian blur of the other is the sharp one.

Not a method of the paper: a probe of the truth sets. Both sets with a known all-in-focus
image (``nyud100_gt`` and our synthetic pairs, :func:`smfuse.data.sets.synthetic_pair`)
make each source by blending a sharp copy of one image with a Gaussian-blurred copy of
it, so at a pixel where ``b`` is sharp, ``a`` *is* ``G_sigma * b`` for one sigma, and
``b`` is no blur of ``a``. A decision that assumes this blur model should be favoured on
those sets; this one assumes it outright, so its score there, read beside its score on
real pairs (Lytro, the grey set), says how much a truth-set verdict owes to the blur
model. Registered as the method ``reblur`` in :mod:`smfuse.evaluation.methods`.

The rule, on the grey sources ``I1 = grey(a)``, ``I2 = grey(b)`` in [0, 1]
(:func:`smfuse.io.grey_unit`):

1. For each sigma of ``SIGMAS = (1, 1.5, 2, 3, 4)`` px (Gaussian, truncated at 4 sigma,
   mirrored borders), the local residual of explaining one source as a blur of the other,
   averaged over a 7x7 window (replicated borders)::

       E12(sigma) = mean_7x7 |G_sigma * I1 - I2|     (I2 as a blur of I1: I1 is the sharp one)
       E21(sigma) = mean_7x7 |G_sigma * I2 - I1|     (I1 as a blur of I2: I2 is the sharp one)

2. Each direction keeps its best sigma, pixel by pixel: ``E12 = min_sigma E12(sigma)``,
   ``E21 = min_sigma E21(sigma)``.
3. The raw decision ``D = 1`` where ``E21 < E12`` (``b`` sharp), ``0`` where
   ``E12 < E21``, and ``0.5`` where they tie within ``TIE = 1e-6`` (flat areas, where
   neither source tells): a tie is left to the next step.
4. A guided filter of ``D`` (He et al. 2013, :func:`smfuse.method.filters.guided_filter`),
   guided by the mean of the two grey sources, radius ``R = 5``, ``EPS = 0.01``; the
   mask is ``GF(D) > 0.5`` (ties to the first source), and the fused image copies each
   pixel, on every channel, from the source the mask picks (as ``initial_mask`` does).

The sigmas span the defocus of the synthetic pairs (1.5 to 4 px); the window is the
guided block's (7); ``R`` is the guided block's radius. Nothing was tuned on the pairs
the notebooks score.

References
----------
K. He, J. Sun, X. Tang, "Guided Image Filtering", IEEE TPAMI 35(6), 2013, 1397-1409.
doi:10.1109/TPAMI.2012.213
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from smfuse.evaluation.baselines._common import prepare
from smfuse.io import grey_unit
from smfuse.method.filters import guided_filter

__all__ = ["fuse", "fuse_with_mask", "blur_residuals", "decision", "SIGMAS", "WINDOW", "R", "EPS", "TIE"]

SIGMAS = (1.0, 1.5, 2.0, 3.0, 4.0)
WINDOW = 7
R = 5
EPS = 0.01
TIE = 1e-6


def _check_options(sigmas, window, r, eps) -> tuple[float, ...]:
    sig = tuple(float(s) for s in np.atleast_1d(np.asarray(sigmas, dtype=np.float64)))
    if not sig or not all(np.isfinite(s) and s > 0 for s in sig):
        raise ValueError(f"sigmas must be one or more positive numbers (px), got {sigmas!r}")
    if not isinstance(window, (int, np.integer)) or isinstance(window, bool) or window < 1 or window % 2 == 0:
        raise ValueError(f"window must be a positive odd integer (the residual's window side, 7), got {window!r}")
    if not isinstance(r, (int, np.integer)) or isinstance(r, bool) or r < 0:
        raise ValueError(f"r must be an integer >= 0 (the guided filter's radius, 5), got {r!r}")
    if not np.isfinite(eps) or eps <= 0:
        raise ValueError(f"eps must be a number > 0 (the guided filter's regularisation, 0.01), got {eps!r}")
    return sig


def blur_residuals(g1: np.ndarray, g2: np.ndarray, *, sigmas=SIGMAS, window: int = WINDOW) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-2: how badly each grey source is explained as a Gaussian blur of the other.

    Parameters
    ----------
    g1, g2 : (H, W) float ndarray
        Grey sources in [0, 1].
    sigmas : sequence of float
        Blur widths tried (px).
    window : int
        Odd side of the window the absolute residual is averaged over.

    Returns
    -------
    e12, e21 : (H, W) float64 ndarray, >= 0
        ``e12 = min_sigma mean_window |G_sigma * g1 - g2|`` (small where ``g2`` is a blur of
        ``g1``, i.e. ``g1`` sharp) and ``e21`` the other way round.
    """
    sig = _check_options(sigmas, window, R, EPS)
    g1, g2 = np.asarray(g1, dtype=np.float64), np.asarray(g2, dtype=np.float64)
    if g1.ndim != 2 or g1.shape != g2.shape:
        raise ValueError(f"g1 and g2 must be (H, W) arrays of one shape, got {g1.shape} and {g2.shape}")
    e12 = np.full(g1.shape, np.inf)
    e21 = np.full(g1.shape, np.inf)
    for s in sig:
        # E12(sigma) = mean_7x7 |G_sigma * I1 - I2|, E21(sigma) = mean_7x7 |G_sigma * I2 - I1|
        r12 = ndimage.uniform_filter(np.abs(ndimage.gaussian_filter(g1, s, mode="reflect") - g2), window, mode="nearest")
        r21 = ndimage.uniform_filter(np.abs(ndimage.gaussian_filter(g2, s, mode="reflect") - g1), window, mode="nearest")
        np.minimum(e12, r12, out=e12)
        np.minimum(e21, r21, out=e21)
    return e12, e21


def decision(g1: np.ndarray, g2: np.ndarray, *, sigmas=SIGMAS, window: int = WINDOW, r: int = R,
             eps: float = EPS) -> tuple[np.ndarray, np.ndarray]:
    """Steps 1-4 on grey sources: the raw decision ``D`` and the mask.

    Parameters
    ----------
    g1, g2 : (H, W) float ndarray
        Grey sources in [0, 1].
    sigmas, window, r, eps
        See the module notes (``SIGMAS``, 7, 5, 0.01).

    Returns
    -------
    D : (H, W) float64 ndarray
        1 where ``g2`` is the sharp one, 0 where ``g1`` is, 0.5 where they tie.
    mask : (H, W) bool ndarray
        ``guided_filter(mean(g1, g2), D, r, eps) > 0.5``: True where the second source is taken.
    """
    _check_options(sigmas, window, r, eps)
    e12, e21 = blur_residuals(g1, g2, sigmas=sigmas, window=window)
    d = np.where(e21 < e12, 1.0, 0.0)
    d[np.abs(e21 - e12) <= TIE] = 0.5
    guide = 0.5 * (np.asarray(g1, dtype=np.float64) + np.asarray(g2, dtype=np.float64))
    return d, guided_filter(guide, d, r, eps) > 0.5


def fuse_with_mask(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None, sigmas=SIGMAS,
                   window: int = WINDOW, r: int = R, eps: float = EPS) -> tuple[np.ndarray, np.ndarray]:
    """Fuse two sources with the reblur decision; return the fused image and the mask.

    As :func:`fuse`, plus the ``(H, W)`` bool mask (True where ``b`` was taken).
    """
    prepare(a, b, data_range)
    _check_options(sigmas, window, r, eps)
    a, b = np.asarray(a), np.asarray(b)
    g1 = grey_unit(a, role="the first source", data_range=data_range)
    g2 = grey_unit(b, role="the second source", data_range=data_range)
    mask = decision(g1, g2, sigmas=sigmas, window=window, r=r, eps=eps)[1]
    return np.where(mask[..., None] if a.ndim == 3 else mask, b, a), mask


def fuse(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> np.ndarray:
    """Fuse two sources with the reblur decision: ``where(mask, b, a)``.

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) ndarray
        Registered sources of the same shape and dtype (``uint8``, ``uint16``, or float
        in [0, 1]).
    data_range : float, optional
        White level of float sources (e.g. 255).

    Returns
    -------
    fused : ndarray
        Same shape and dtype; every pixel is a pixel of ``a`` or of ``b``.

    Raises
    ------
    TypeError, ValueError
        If the sources are refused by :func:`smfuse.io.check_pair`.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy.ndimage import gaussian_filter
    >>> sharp = np.random.default_rng(0).random((48, 48))
    >>> _, mask = fuse_with_mask(gaussian_filter(sharp, 2), sharp)   # b sharp everywhere
    >>> bool(mask.mean() > 0.95)
    True
    """
    return fuse_with_mask(a, b, data_range=data_range)[0]
