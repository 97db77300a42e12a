"""Alternative decision masks, to ask whether any mask near MI scores better than MI.

The paper's claim is that the learned mask improves on its pseudo-label MI near focus
boundaries, guided by the max-gradient loss. These masks put numbers on that claim
without a network: if even a mask that follows the max-gradient rule exactly near MI's
boundaries does not beat MI on the fusion metrics, a network trained towards it cannot
either.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from smfuse.method.guided_block import focus_map, initial_mask

__all__ = ["boundary_band", "candidate_masks"]


def boundary_band(mask: np.ndarray, width: int) -> np.ndarray:
    """Pixels within ``width`` pixels (4-connected steps) of a boundary of a binary mask."""
    mask = np.asarray(mask, dtype=bool)
    if width < 0:
        raise ValueError(f"width must be >= 0, got {width}")
    edge = mask ^ ndimage.binary_erosion(mask, border_value=1)
    edge |= ~mask ^ ndimage.binary_erosion(~mask, border_value=1)
    return ndimage.binary_dilation(edge, iterations=width) if width else edge


def candidate_masks(g1: np.ndarray, g2: np.ndarray, *, band: int = 6) -> dict[str, np.ndarray]:
    """MI and masks that depart from it in one controlled way.

    Parameters
    ----------
    g1, g2 : (H, W) ndarray
        Grey sources in [0, 1].
    band : int
        Half-width of the band around MI's boundaries where ``max-gradient in band``
        departs from MI.

    Returns
    -------
    dict of (H, W) bool ndarrays (True = second source)
        ``MI``; ``max-gradient in band`` (inside the band, the source with the larger
        3x3-averaged |Laplacian|, the per-pixel rule the max-gradient loss rewards;
        MI elsewhere); ``max-gradient everywhere``; ``MI, r = 3`` and ``MI, r = 8``
        (the guided block with another radius); ``MI, opened and closed`` (MI with
        3-pixel morphological smoothing).
    """
    mi = initial_mask(g1, g2)
    l1 = ndimage.uniform_filter(np.abs(ndimage.laplace(np.asarray(g1, float))), 3)
    l2 = ndimage.uniform_filter(np.abs(ndimage.laplace(np.asarray(g2, float))), 3)
    grad = l2 > l1
    inside = boundary_band(mi, band)
    return {
        "MI": mi,
        "max-gradient in band": np.where(inside, grad, mi),
        "max-gradient everywhere": grad,
        "MI, r = 3": focus_map(g2, r=3) > focus_map(g1, r=3),
        "MI, r = 8": focus_map(g2, r=8) > focus_map(g1, r=8),
        "MI, opened and closed": ndimage.binary_closing(ndimage.binary_opening(mi, iterations=3), iterations=3),
    }
