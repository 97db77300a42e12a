"""The usual post-processing of a decision map, which SMFuse is claimed to do without.

Decision-map fusion methods before SMFuse cleaned their binary map before fusing with it:

- **Consistency verification** (Li, Manjunath & Mitra 1995; adopted for block decisions by
  Li, Kwok & Wang 2001): a majority filter, each decision replaced by the majority of its
  ``k x k`` neighbourhood; ``k = 3`` in both.
- **Small-region removal** (Liu, Chen, Peng & Wang 2017, the CNN fusion method, Sec. 3.2):
  every connected region (of either label) smaller than ``0.01 x H x W`` pixels is flipped to
  the label around it.

The paper (Sec. I, contribution 4 (c)) says that such post-processing blurs or removes small
focused regions and boundaries; claim C11 of the register compares SMFuse's mask with the
initial mask MI after both steps (:func:`postprocess`), on focused discs of known small radii
(:mod:`smfuse.data.small_regions`, notebook 09).

References
----------
H. Li, B. S. Manjunath, S. K. Mitra, "Multisensor image fusion using the wavelet transform",
Graphical Models and Image Processing 57(3) (1995) 235-245. doi:10.1006/gmip.1995.1022

S. Li, J. T. Kwok, Y. Wang, "Combination of images with diverse focuses using the spatial
frequency", Information Fusion 2(3) (2001) 169-176. doi:10.1016/S1566-2535(01)00038-0

Y. Liu, X. Chen, H. Peng, Z. Wang, "Multi-focus image fusion with a deep convolutional neural
network", Information Fusion 36 (2017) 191-207. doi:10.1016/j.inffus.2016.12.001
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

__all__ = ["majority_filter", "remove_small_regions", "postprocess", "postprocessed", "CV_WINDOW", "AREA_RATIO"]

#: The window of the consistency verification (Li, Manjunath & Mitra 1995; Li, Kwok & Wang 2001).
CV_WINDOW = 3
#: The small-region threshold as a fraction of the image area (Liu et al. 2017).
AREA_RATIO = 0.01


def _mask(mask) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"mask must be a 2-D (H, W) decision map, got shape {m.shape}")
    if m.dtype != bool:
        if m.dtype.kind not in "uif" or not np.isin(m, (0, 1)).all():
            raise ValueError("mask must be boolean or hold only 0 and 1; threshold it first (e.g. mask > 0.5)")
        m = m.astype(bool)
    return m


def majority_filter(mask, *, window: int = CV_WINDOW) -> np.ndarray:
    """Consistency verification: each decision becomes the majority of its ``window x window`` neighbourhood.

    Parameters
    ----------
    mask : (H, W) bool ndarray
        A decision map (True = second source).
    window : int
        Odd side of the neighbourhood, >= 1 (1 returns the map unchanged). Borders are
        mirrored (``reflect``), so a border pixel's neighbourhood is as large as any other's.

    Returns
    -------
    (H, W) bool ndarray
        True where more than half of the neighbourhood is True (the window is odd, so there are
        no ties).
    """
    m = _mask(mask)
    if isinstance(window, bool) or not isinstance(window, (int, np.integer)) or window < 1 or window % 2 == 0:
        raise ValueError(f"window must be an odd integer >= 1, got {window!r}")
    count = ndimage.uniform_filter(m.astype(np.float64), size=int(window), mode="reflect") * window * window
    return count > window * window / 2


def remove_small_regions(mask, *, area_ratio: float = AREA_RATIO) -> np.ndarray:
    """Small-region removal: flip every 4-connected region smaller than ``area_ratio x H x W`` pixels.

    Regions of both labels are examined in the input map (True regions first, then False
    regions of the map with the small True regions removed), as Liu et al. (2017) remove
    small regions of either label ("bwareaopen" on the map and on its complement).

    Parameters
    ----------
    mask : (H, W) bool ndarray
    area_ratio : float
        Threshold as a fraction of the image area, in [0, 1); 0 returns the map unchanged.

    Returns
    -------
    (H, W) bool ndarray
    """
    m = _mask(mask)
    if not (isinstance(area_ratio, (int, float, np.floating)) and 0 <= area_ratio < 1):
        raise ValueError(f"area_ratio must be a fraction of the image area in [0, 1), got {area_ratio!r}")
    threshold = area_ratio * m.size
    out = m.copy()
    for value in (True, False):
        labels, n = ndimage.label(out == value)  # 4-connected
        if not n:
            continue
        areas = np.bincount(labels.ravel())
        small = areas < threshold
        small[0] = False  # background of the labelling
        out[small[labels]] = not value
    return out


def postprocess(mask, *, window: int = CV_WINDOW, area_ratio: float = AREA_RATIO) -> np.ndarray:
    """Consistency verification, then small-region removal: the usual clean-up of a decision map.

    Parameters
    ----------
    mask : (H, W) bool ndarray
        A decision map (True = second source), e.g. the initial mask MI.
    window : int
        The majority filter's window (3: Li, Manjunath & Mitra 1995; Li, Kwok & Wang 2001).
    area_ratio : float
        The small-region threshold as a fraction of the image area (0.01: Liu et al. 2017).

    Returns
    -------
    (H, W) bool ndarray

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((100, 100), bool)
    >>> m[10:15, 10:15] = True          # 25 px < 0.01 x 10,000: removed
    >>> m[50:80, 50:80] = True          # 900 px: kept, but for its 4 corners (the majority filter)
    >>> out = postprocess(m)
    >>> bool(out[12, 12]), bool(out[60, 60]), int(out.sum())
    (False, True, 896)
    """
    return remove_small_regions(majority_filter(mask, window=window), area_ratio=area_ratio)


def postprocessed(method, *, window: int = CV_WINDOW, area_ratio: float = AREA_RATIO, name: str | None = None):
    """A decision-map method whose mask is cleaned by :func:`postprocess` before it fuses.

    Parameters
    ----------
    method : smfuse.evaluation.methods.Method or str
        A method that returns its mask (``initial_mask``: MI), or its registered name.
    window, area_ratio
        As in :func:`postprocess`.
    name : str, optional
        The new method's name (default ``<name>+cv``).

    Returns
    -------
    smfuse.evaluation.methods.Method
        Its fused image takes every pixel from the source the cleaned mask picks, on every channel.

    Examples
    --------
    >>> import numpy as np
    >>> m = postprocessed("initial_mask")
    >>> x = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
    >>> m.name, bool(m(x, x).mask.any())
    ('initial_mask+cv', False)
    """
    from smfuse.evaluation.methods import Method, get_method

    base = get_method(method) if isinstance(method, str) else method
    if not base.has_mask:
        raise ValueError(f"method {base.name!r} returns no decision mask; post-processing cleans a decision map")

    def run(a, b, *, data_range=None):
        mask = postprocess(base(a, b, data_range=data_range).mask, window=window, area_ratio=area_ratio)
        a_, b_ = np.asarray(a), np.asarray(b)
        return np.where(mask[..., None] if a_.ndim == 3 else mask, b_, a_), mask

    return Method(name or f"{base.name}+cv", f"{base.name}, its mask cleaned by a {window}x{window} majority filter "
                  f"and removal of regions under {area_ratio:g} of the image", run, family="probe", has_mask=True)
