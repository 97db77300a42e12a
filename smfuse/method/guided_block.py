"""The guided block: repeated-blur subtraction maps -> guided filter -> initial mask MI.

The authors compute MI once, in MATLAB, before training. For each source (grey, [0, 1]):

1. ``blur = mean_filter(I, 7)`` with replicate borders ("repeated blur": blurring a
   focused pixel changes it more than blurring a defocused one);
2. ``S = |I - blur|`` — the subtraction map;
3. ``F = guided_filter(guide=I, src=S, r=5, eps=0.3)``;
4. ``MI = F2 > F1`` (strict: ties go to the first source; no morphology).

MI is 1 where the *second* source is sharper, as the authors' masks are (255 there).

Every function takes its images through the input contract (:func:`smfuse.io.as_image`):
``uint8`` and ``uint16`` are scaled to [0, 1] by their range (so an 8-bit image gives the
same mask as its [0, 1] version; ``eps`` is on the [0, 1] scale), float images must lie
in [0, 1] or in [0, ``data_range``].
"""

from __future__ import annotations

import numpy as np

from smfuse.method.filters import guided_filter, mean_filter
from smfuse.io import as_image

__all__ = ["subtraction_map", "focus_map", "initial_mask", "BLUR_SIZE", "GF_RADIUS", "GF_EPS"]

BLUR_SIZE = 7
GF_RADIUS = 5
GF_EPS = 0.3


def _grey01(x: np.ndarray, role: str, data_range: float | None) -> np.ndarray:
    return as_image(x, role=role, data_range=data_range, grey=True)


def subtraction_map(image: np.ndarray, *, blur_size: int = BLUR_SIZE, data_range: float | None = None) -> np.ndarray:
    """Subtraction map ``S = |I - blur(I)|`` of one grey source.

    Parameters
    ----------
    image : (H, W) ndarray
        Grey source: uint8, uint16 or float in [0, 1] (see the module notes).
    blur_size : int
        Side of the mean filter (7 in the authors' code).
    data_range : float, optional
        White level of a float image, if not 1.

    Returns
    -------
    S : (H, W) float64 ndarray, >= 0
    """
    image = _grey01(image, "the image", data_range)
    return np.abs(image - mean_filter(image, blur_size))


def focus_map(image: np.ndarray, *, blur_size: int = BLUR_SIZE, r: int = GF_RADIUS,
              eps: float = GF_EPS, data_range: float | None = None) -> np.ndarray:
    """Guided-filtered subtraction map ``F = GF(I, S)``: the guided block's focus measure.

    Parameters
    ----------
    image : (H, W) ndarray
        Grey source: uint8, uint16 or float in [0, 1].
    blur_size, r, eps
        Mean-filter side, guided-filter radius and regularisation (7, 5, 0.3).
    data_range : float, optional
        White level of a float image, if not 1.
    """
    image = _grey01(image, "the image", data_range)
    return guided_filter(image, subtraction_map(image, blur_size=blur_size), r, eps)


def initial_mask(i1: np.ndarray, i2: np.ndarray, *, blur_size: int = BLUR_SIZE,
                 r: int = GF_RADIUS, eps: float = GF_EPS, data_range: float | None = None) -> np.ndarray:
    """Initial binary mask MI of a source pair (the guided block's output).

    Parameters
    ----------
    i1, i2 : (H, W) ndarray
        Grey sources: uint8, uint16 or float in [0, 1] (first = the authors'
        ``Train_ir``/near focus, second = ``Train_vi``/far focus).
    blur_size, r, eps, data_range
        As in :func:`focus_map`.

    Returns
    -------
    MI : (H, W) bool ndarray
        True where the second source is sharper (``F2 > F1``, strict).
    """
    i1 = _grey01(i1, "the first source", data_range)
    i2 = _grey01(i2, "the second source", data_range)
    if i1.shape != i2.shape:
        raise ValueError(f"sources differ in size: the first source is {i1.shape}, the second source is {i2.shape}")
    f1 = focus_map(i1, blur_size=blur_size, r=r, eps=eps)
    f2 = focus_map(i2, blur_size=blur_size, r=r, eps=eps)
    return f2 > f1
