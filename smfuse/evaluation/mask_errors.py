"""Where a learned mask departs from its initial mask, and whether each departure moves towards the truth.

The paper's central claim is that the mask generator's mask MF improves on its own
initial mask MI (the guided block's output, its training label). On a pair whose true
focus map is known, every pixel where MF differs from MI is one of two kinds:

- **towards** the truth: MI was wrong there and MF is right;
- **away** from it: MI was right and MF is wrong.

(Both masks are binary, so a departure is always exactly one of the two.) Summed over an
image, ``towards - away`` is the change in correct pixels, so
``accuracy(MF) - accuracy(MI) = (towards - away) / N`` over the ``N`` pixels whose truth
is known. :func:`classify_departures` splits both counts by *where* the pixel lies
(:func:`pixel_classes`), one class per pixel:

- ``boundary``: within ``BAND = 8`` px (Euclidean) of a true boundary pixel, a pixel with
  a 4-neighbour of the other true label (the boundary of
  :func:`smfuse.evaluation.metrics.boundary_fscore`; the band of claims C9 and C10);
- ``small_region``: inside a small true region, a 4-connected region of one true label of
  at most ``SMALL_AREA = 804`` px (the area of a disc of radius 16 px, the small regions
  of claim C11);
- ``flat``: where the all-in-focus truth is texture-less, its grey (0..255, MATLAB
  ``rgb2gray``) having a local standard deviation below ``FLAT_STD = 2`` grey levels over
  a ``FLAT_WINDOW = 7`` px square window (there a blur changes almost nothing, so neither
  source is visibly sharper and the choice barely changes the fused image);
- ``elsewhere``: the rest (textured interior of large regions).

A pixel that meets several takes the first of ``small_region``, ``boundary``, ``flat``:
a small region's own pixels count as ``small_region`` even inside the band (otherwise a
region narrower than 16 px would have none), the band's pixels outside small regions as
``boundary`` even where flat.

Where the truth is known only in part (``nyud100_gt`` gives the all-in-focus image, not
the focus map), :func:`true_decision` derives it: a pixel's true decision is the source
that equals the truth there while the other does not; where both or neither do, it is
*undetermined*. Undetermined pixels are counted apart (row ``undetermined``) and never
scored; for drawing the boundaries and regions of the classes they take the label of the
nearest determined pixel. (:func:`smfuse.data.focus_maps.focus_map_from_truth` reads a complete map
instead, smoothing the errors and filling small regions, for the region scores of notebook 09;
scoring pixel by pixel needs the exact rule, which guesses no pixel.)

Examples
--------
>>> import numpy as np
>>> truth = np.zeros((64, 64), bool); truth[:, 32:] = True
>>> mi = truth.copy(); mi[5, 5] = True           # MI wrong at one interior pixel
>>> mf = truth.copy(); mf[5, 60] = False         # MF right there, but wrong at another
>>> image = np.random.default_rng(0).integers(0, 256, (64, 64), dtype=np.uint8)
>>> t = classify_departures(mf, mi, truth, image)
>>> t.loc["elsewhere", ["towards", "away"]].tolist()
[1, 1]
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage
from skimage.segmentation import find_boundaries

from smfuse.io import check_image, grey255

__all__ = ["classify_departures", "pixel_classes", "true_decision", "CLASSES", "COLUMNS", "BAND", "SMALL_AREA",
           "FLAT_STD", "FLAT_WINDOW"]

#: The classes of a pixel, in the order a pixel is assigned (the first that holds).
CLASSES = ("boundary", "small_region", "flat", "elsewhere")
#: The columns of :func:`classify_departures`.
COLUMNS = ("pixels", "departures", "towards", "away")
BAND = 8
SMALL_AREA = 804
FLAT_STD = 2.0
FLAT_WINDOW = 7


def _mask(x, name: str, shape=None) -> np.ndarray:
    m = np.asarray(x)
    if m.ndim != 2:
        raise ValueError(f"{name} must be an (H, W) mask, got shape {m.shape}")
    if m.dtype != bool:
        if m.dtype.kind not in "uif" or not np.isin(m, (0, 1)).all():
            raise ValueError(f"{name} must be boolean or 0/1 (True where the second source is sharp); threshold it first")
        m = m.astype(bool)
    if shape is not None and m.shape != shape:
        raise ValueError(f"{name} is {m.shape} but the true mask is {shape}; give masks of one size")
    return m


def true_decision(a: np.ndarray, b: np.ndarray, truth: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The true focus decision where the all-in-focus truth settles it.

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) ndarray
        The two sources.
    truth : ndarray
        The all-in-focus image, same shape and dtype.

    Returns
    -------
    mask : (H, W) bool ndarray
        True where ``b`` equals the truth (every channel) and ``a`` does not.
    determined : (H, W) bool ndarray
        True where exactly one source equals the truth; elsewhere (both equal it: a
        texture-less area the blur left unchanged; neither does: a blended boundary or
        a compression block that straddles one) the decision is undetermined.
    """
    a, b, t = (np.asarray(x) for x in (a, b, truth))
    if not (a.shape == b.shape == t.shape) or a.ndim not in (2, 3):
        raise ValueError(f"a, b and truth must be images of one shape, got {a.shape}, {b.shape}, {t.shape}")
    eq_a, eq_b = a == t, b == t
    if a.ndim == 3:
        eq_a, eq_b = eq_a.all(-1), eq_b.all(-1)
    return eq_b & ~eq_a, eq_a != eq_b


def pixel_classes(truth_mask: np.ndarray, truth_image: np.ndarray, *, determined: np.ndarray | None = None,
                  band: float = BAND, small_area: int = SMALL_AREA, flat_std: float = FLAT_STD,
                  flat_window: int = FLAT_WINDOW) -> np.ndarray:
    """The class of every pixel: an index into :data:`CLASSES` (see the module notes).

    Parameters
    ----------
    truth_mask : (H, W) bool ndarray
        The true focus map (True where the second source is sharp).
    truth_image : (H, W) or (H, W, 3) ndarray
        The all-in-focus image (``uint8``, ``uint16`` or float in [0, 1]).
    determined : (H, W) bool ndarray, optional
        Where ``truth_mask`` is known (default: everywhere); other pixels take the label of
        the nearest determined pixel here.
    band : float
        Half-width (px) of the boundary band.
    small_area : int
        Largest area (px) of a small true region.
    flat_std, flat_window : float, int
        A pixel is flat where the grey truth's standard deviation (0..255) over the odd
        ``flat_window``-sided window around it is below ``flat_std``.

    Returns
    -------
    (H, W) int8 ndarray
        0 boundary, 1 small_region, 2 flat, 3 elsewhere.
    """
    t = _mask(truth_mask, "truth_mask")
    if not np.isfinite(band) or band < 0:
        raise ValueError(f"band must be a distance >= 0 px, got {band!r}")
    if not isinstance(small_area, (int, np.integer)) or isinstance(small_area, bool) or small_area < 0:
        raise ValueError(f"small_area must be an integer >= 0 px, got {small_area!r}")
    if not np.isfinite(flat_std) or flat_std < 0:
        raise ValueError(f"flat_std must be >= 0 grey levels, got {flat_std!r}")
    if not isinstance(flat_window, (int, np.integer)) or flat_window < 1 or flat_window % 2 == 0:
        raise ValueError(f"flat_window must be a positive odd integer, got {flat_window!r}")
    grey = grey255(check_image(truth_image, role="truth_image"), role="truth_image")
    if grey.shape != t.shape:
        raise ValueError(f"truth_image is {grey.shape[:2]} but truth_mask is {t.shape}; give the pair's own truth")
    if determined is not None:
        known = _mask(determined, "determined", t.shape)
        if not known.any():
            raise ValueError("determined is False everywhere: no pixel's truth is known, nothing to classify")
        if not known.all():  # undetermined pixels take the nearest determined label
            idx = ndimage.distance_transform_edt(~known, return_distances=False, return_indices=True)
            t = t[tuple(idx)]
    out = np.full(t.shape, 3, np.int8)
    # flat: local std of the grey truth below flat_std (0..255), over a flat_window square
    mean = ndimage.uniform_filter(grey, flat_window, mode="nearest")
    var = ndimage.uniform_filter(grey * grey, flat_window, mode="nearest") - mean * mean
    out[var < flat_std ** 2] = 2
    # boundary band (over flat): within `band` px of a pixel with a 4-neighbour of the other label
    edge = find_boundaries(t, connectivity=1, mode="thick")
    if edge.any():
        out[ndimage.distance_transform_edt(~edge) <= band] = 0
    # small regions (over both): 4-connected regions of either true label, at most small_area pixels
    for part in (t, ~t):
        labels, n = ndimage.label(part)
        if n:
            area = np.bincount(labels.ravel())
            area[0] = small_area + 1
            out[area[labels] <= small_area] = 1
    return out


def classify_departures(mf: np.ndarray, mi: np.ndarray, truth_mask: np.ndarray, truth_image: np.ndarray, *,
                        determined: np.ndarray | None = None, classes: np.ndarray | None = None,
                        **options) -> pd.DataFrame:
    """Count the pixels where MF departs from MI, by class, towards or away from the truth.

    Parameters
    ----------
    mf, mi : (H, W) bool ndarray
        The learned mask and the initial mask (True where the second source is taken).
    truth_mask : (H, W) bool ndarray
        The true focus map.
    truth_image : (H, W) or (H, W, 3) ndarray
        The all-in-focus image (for the ``flat`` class).
    determined : (H, W) bool ndarray, optional
        Where ``truth_mask`` is known (:func:`true_decision`); default everywhere.
    classes : (H, W) int ndarray, optional
        :func:`pixel_classes` computed already (to score several masks of one pair).
    **options
        ``band``, ``small_area``, ``flat_std``, ``flat_window`` of :func:`pixel_classes`.

    Returns
    -------
    pandas.DataFrame
        Index :data:`CLASSES` then ``undetermined``; integer columns :data:`COLUMNS`:
        ``pixels`` (of the class), ``departures`` (``MF != MI`` there), ``towards`` (MI
        wrong, MF right) and ``away`` (MI right, MF wrong). ``towards + away ==
        departures`` in every class; the ``undetermined`` row scores nothing (0, 0).
        Over the class rows, ``sum(towards - away) / sum(pixels)`` equals
        ``accuracy(MF) - accuracy(MI)`` on the determined pixels.
    """
    t = _mask(truth_mask, "truth_mask")
    f = _mask(mf, "mf", t.shape)
    i = _mask(mi, "mi", t.shape)
    known = np.ones(t.shape, bool) if determined is None else _mask(determined, "determined", t.shape)
    if classes is None:
        classes = pixel_classes(t, truth_image, determined=determined, **options)
    elif options:
        raise ValueError(f"give either classes or the options {sorted(options)} that make them, not both")
    cls = np.asarray(classes)
    if cls.shape != t.shape or cls.dtype.kind not in "iu" or cls.min() < 0 or cls.max() >= len(CLASSES):
        raise ValueError(f"classes must be an (H, W) integer array of 0..{len(CLASSES) - 1} the size of truth_mask; "
                         "make it with pixel_classes")
    dep = f != i
    towards = dep & (f == t) & known
    away = dep & (i == t) & known
    k = len(CLASSES)
    cls_known = np.where(known, cls, k)  # undetermined pixels are class k
    count = lambda m: np.bincount(cls_known[m], minlength=k + 1)  # noqa: E731
    table = np.stack([count(np.ones_like(dep)), count(dep), count(towards), count(away)], axis=1)
    return pd.DataFrame(table.astype(np.int64), index=list(CLASSES) + ["undetermined"], columns=list(COLUMNS))
