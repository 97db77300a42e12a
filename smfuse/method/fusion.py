"""The fusion rule: the binary mask MF selects, pixel by pixel, one source.

Paper, Sec. III-D (fusion) and Fig. 2: at test time the mask generator's continuous map
MG is binarised into MF and the fused image is taken from the sources,

    MF = 1 where MG > 0.5, else 0;      IF = MF * I2 + (1 - MF) * I1,

the same MF applied to every colour channel; no post-processing. The whole-image,
tiled and fast-path inference that produces MG lives in :mod:`smfuse.runtime.inference`.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mg_from_logits", "binary_mask", "apply_mask"]


def mg_from_logits(z: np.ndarray) -> np.ndarray:
    """MG = sigmoid(2 z) = tanh(z) / 2 + 0.5, the network's map in [0, 1] from its logits ``z`` (H, W)."""
    return np.tanh(z) / 2 + 0.5


def binary_mask(z: np.ndarray) -> np.ndarray:
    """MF = [MG > 0.5] = [z > 0], (H, W) bool; where MG is exactly 0.5 the first source is kept."""
    return z > 0


def apply_mask(a: np.ndarray, b: np.ndarray, mf: np.ndarray) -> np.ndarray:
    """IF = MF * I2 + (1 - MF) * I1: each pixel taken whole from one source.

    Parameters
    ----------
    a, b : (H, W) or (H, W, C) ndarray
        The first and second source, same shape and dtype.
    mf : (H, W) bool ndarray
        True where the second source is taken.

    Returns
    -------
    ndarray
        Same shape and dtype as the sources; every pixel is a source pixel.
    """
    sel = mf[..., None] if a.ndim == 3 else mf
    return np.where(sel, b, a)
