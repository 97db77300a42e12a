"""The true focus map of a pair whose all-in-focus truth is known but whose map is not.

``nyud100_gt`` gives each pair's sources and its all-in-focus image, not the map of where each
source is sharp. The set was made (FusionDiff's ``get_MFI_dataset.py``, after IFCNN) by
thresholding the depth of an NYU-D v2 image and blurring one side of the threshold with a
Gaussian in each source, so every pixel of a source is either the truth's pixel or a blurred
one, up to JPEG noise. The map is read back from the data: a pixel belongs to the second
source where the second source is closer to the truth than the first, both squared colour
errors summed over the channels and smoothed by a Gaussian of ``sigma`` px (so that JPEG
noise and flat patches, where both sources equal the truth, take the label around them);
connected regions smaller than ``min_area`` px are then given the label around them. On the
first 40 pairs one smoothed error is more than twice the other at 98.5 % of the pixels (median
over pairs; 80 % on the worst pair), and 3 of the 40 pairs are in focus in one source only
(the map holds one label); the boundary is located within about ``sigma`` px, which the 8-px
distances of the claims that use it (notebook 09) cover.

The synthetic pairs (:func:`smfuse.data.sets.synthetic_pair`) know their map and need none of this.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["focus_map_from_truth"]


def focus_map_from_truth(a: np.ndarray, b: np.ndarray, truth: np.ndarray, *, sigma: float = 3.0,
                         min_area: int = 64) -> np.ndarray:
    """The focus map of a pair from its all-in-focus truth: True where ``b`` is the sharp source.

    Parameters
    ----------
    a, b, truth : (H, W) or (H, W, 3) ndarray
        The two sources and the all-in-focus image, one size and kind (any numeric type on
        one scale, e.g. ``uint8``).
    sigma : float
        Gaussian smoothing of the squared errors, in pixels (> 0).
    min_area : int
        Connected regions (4-connected, either label) smaller than this many pixels take the
        label around them (0 keeps them).

    Returns
    -------
    (H, W) bool ndarray
        ``smooth(|b - truth|^2) < smooth(|a - truth|^2)``, small regions removed.

    Examples
    --------
    >>> import numpy as np
    >>> from scipy import ndimage
    >>> g = np.random.default_rng(0).uniform(0, 255, (64, 64))
    >>> m = np.zeros((64, 64), bool); m[:, 32:] = True
    >>> blur = ndimage.gaussian_filter(g, 2)
    >>> a, b = np.where(m, blur, g), np.where(m, g, blur)
    >>> bool((focus_map_from_truth(a, b, g) == m).mean() > 0.95)
    True
    """
    A, B, G = (np.asarray(x, dtype=np.float64) for x in (a, b, truth))
    if not (A.shape == B.shape == G.shape) or A.ndim not in (2, 3):
        raise ValueError(f"a, b and truth must be images of one size, got {A.shape}, {B.shape}, {G.shape}")
    if not (np.isfinite(sigma) and sigma > 0):
        raise ValueError(f"sigma must be a positive number of pixels, got {sigma!r}")
    if isinstance(min_area, bool) or not isinstance(min_area, (int, np.integer)) or min_area < 0:
        raise ValueError(f"min_area must be an integer >= 0, got {min_area!r}")
    ea, eb = (A - G) ** 2, (B - G) ** 2
    if A.ndim == 3:
        ea, eb = ea.sum(axis=2), eb.sum(axis=2)
    m = ndimage.gaussian_filter(eb, sigma) < ndimage.gaussian_filter(ea, sigma)
    for value in (True, False):
        labels, n = ndimage.label(m == value)
        if n:
            small = np.bincount(labels.ravel()) < min_area
            small[0] = False
            m[small[labels]] = not value
    return m
