"""The guided block: repeated-blur subtraction maps -> guided filter -> initial mask MI.

The authors compute MI once, in MATLAB, before training. For each source (grey, [0, 1]):

1. ``blur = mean_filter(I, 7)`` with replicate borders ("repeated blur": blurring a
   focused pixel changes it more than blurring a defocused one);
2. ``S = |I - blur|`` — the subtraction map;
3. ``F = guided_filter(guide=I, src=S, r=5, eps=0.3)``;
4. ``MI = F2 > F1`` (strict: ties go to the first source; no morphology).

MI is 1 where the *second* source is sharper, as the authors' masks are (255 there).
"""

from __future__ import annotations

import numpy as np

from .filters import guided_filter, mean_filter

__all__ = ["subtraction_map", "focus_map", "initial_mask", "BLUR_SIZE", "GF_RADIUS", "GF_EPS"]

BLUR_SIZE = 7
GF_RADIUS = 5
GF_EPS = 0.3


def _grey01(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a grey (H, W) image in [0, 1], got shape {x.shape}")
    if not np.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")
    return x


def subtraction_map(image: np.ndarray, *, blur_size: int = BLUR_SIZE) -> np.ndarray:
    """Subtraction map ``S = |I - blur(I)|`` of one grey source.

    Parameters
    ----------
    image : (H, W) ndarray
        Grey source in [0, 1].
    blur_size : int
        Side of the mean filter (7 in the authors' code).

    Returns
    -------
    S : (H, W) float64 ndarray, >= 0
    """
    image = _grey01(image, "image")
    return np.abs(image - mean_filter(image, blur_size))


def focus_map(image: np.ndarray, *, blur_size: int = BLUR_SIZE, r: int = GF_RADIUS,
              eps: float = GF_EPS) -> np.ndarray:
    """Guided-filtered subtraction map ``F = GF(I, S)``: the guided block's focus measure.

    Parameters
    ----------
    image : (H, W) ndarray
        Grey source in [0, 1].
    blur_size, r, eps
        Mean-filter side, guided-filter radius and regularisation (7, 5, 0.3).
    """
    image = _grey01(image, "image")
    return guided_filter(image, subtraction_map(image, blur_size=blur_size), r, eps)


def initial_mask(i1: np.ndarray, i2: np.ndarray, *, blur_size: int = BLUR_SIZE,
                 r: int = GF_RADIUS, eps: float = GF_EPS) -> np.ndarray:
    """Initial binary mask MI of a source pair (the guided block's output).

    Parameters
    ----------
    i1, i2 : (H, W) ndarray
        Grey sources in [0, 1] (first = the authors' ``Train_ir``/near focus, second =
        ``Train_vi``/far focus).
    blur_size, r, eps
        As in :func:`focus_map`.

    Returns
    -------
    MI : (H, W) bool ndarray
        True where the second source is sharper (``F2 > F1``, strict).
    """
    i1 = _grey01(i1, "i1")
    i2 = _grey01(i2, "i2")
    if i1.shape != i2.shape:
        raise ValueError(f"sources differ in size: {i1.shape} vs {i2.shape}")
    f1 = focus_map(i1, blur_size=blur_size, r=r, eps=eps)
    f2 = focus_map(i2, blur_size=blur_size, r=r, eps=eps)
    return f2 > f1
