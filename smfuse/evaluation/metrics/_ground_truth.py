"""Scores against a ground truth: the all-in-focus image (PSNR, SSIM) and the true focus map.

For synthetic sets and ``nyud100_gt``, where the truth is known; the published
multi-focus tables have none of these.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.segmentation import find_boundaries

from smfuse.evaluation.metrics._common import pair
from smfuse.evaluation.metrics._structural import wang_ssim

__all__ = ["psnr", "ssim_gt", "mask_accuracy", "boundary_fscore", "boundary_distance", "delta_e_cie76",
           "region_recall"]


def _where(where, shape: tuple[int, int]) -> np.ndarray | None:
    if where is None:
        return None
    w = np.asarray(where)
    if w.dtype != bool:
        raise TypeError(f"where must be a boolean (H, W) mask, got dtype {w.dtype}")
    if w.shape != shape:
        raise ValueError(f"where is {w.shape} but the images are {shape}; give a mask of the images' size")
    if not w.any():
        raise ValueError("where selects no pixel; there is nothing to score (drop this pair)")
    return w


def psnr(f: np.ndarray, truth: np.ndarray, *, data_range: float | None = None, where=None) -> float:
    r"""Peak signal-to-noise ratio of the fused image against the all-in-focus truth.

    .. math::

        PSNR = 10 \log_{10} \frac{255^2}{\operatorname{mean}((F - G)^2)}

    on grey images (colour converted with MATLAB ``rgb2gray``), 0..255 scale.

    Parameters
    ----------
    f, truth : (H, W) or (H, W, 3) ndarray
        Same kind and size; ``uint8`` or float grey 0..255.
    where : (H, W) bool ndarray, optional
        Score these pixels only (the mean squared error over them), e.g. a band around the
        true focus boundaries (:func:`boundary_distance`).

    Returns
    -------
    float
        Decibels; ``inf`` when the images are equal (over ``where``).

    References
    ----------
    Huynh-Thu, Q., Ghanbari, M. "Scope of validity of PSNR in image/video quality
    assessment." Electronics Letters 44(13) (2008) 800-801. doi:10.1049/el:20080522
    """
    F, G = pair(f, truth, 1, data_range)
    w = _where(where, F.shape)
    mse = float(np.mean((F - G) ** 2 if w is None else (F[w] - G[w]) ** 2))
    if mse == 0:
        return float("inf")
    return float(10.0 * np.log10(255.0**2 / mse))


def ssim_gt(f: np.ndarray, truth: np.ndarray, *, data_range: float | None = None) -> float:
    """Wang et al.'s SSIM of the fused image against the truth, :math:`SSIM(F, G)`.

    Same window and constants as :func:`ssim` (11x11 Gaussian, sigma 1.5, 'valid' region),
    on grey images, 0..255 scale.

    Parameters
    ----------
    f, truth : (H, W) or (H, W, 3) ndarray
        Same kind and size, at least 11x11.

    Returns
    -------
    float
        At most 1 (equal images).

    References
    ----------
    Wang, Z., Bovik, A. C., Sheikh, H. R., Simoncelli, E. P. IEEE TIP 13(4) (2004)
    600-612. doi:10.1109/TIP.2003.819861
    """
    F, G = pair(f, truth, data_range=data_range)
    return wang_ssim(F, G)


def _binary(mask, name: str) -> np.ndarray:
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (H, W) mask, got shape {m.shape}")
    if m.dtype == bool:
        return m
    if m.dtype.kind not in "uif":
        raise ValueError(f"{name} has type {m.dtype}; expected a boolean or 0/1 mask")
    if not np.isin(m, (0, 1)).all():
        raise ValueError(f"{name} holds values other than 0 and 1; threshold it first (e.g. mask >= 128)")
    return m.astype(bool)


def _mask_pair(mask, true_mask) -> tuple[np.ndarray, np.ndarray]:
    m, t = _binary(mask, "mask"), _binary(true_mask, "true_mask")
    if m.shape != t.shape:
        raise ValueError(f"mask is {m.shape} but true_mask is {t.shape}; masks must have the same size")
    return m, t


def mask_accuracy(mask: np.ndarray, true_mask: np.ndarray) -> float:
    r"""Pixel accuracy of a focus map: the fraction of pixels where it equals the truth.

    .. math::

        \mathrm{acc} = \frac{1}{MN} \sum_{i,j} [M_{i,j} = T_{i,j}]

    Parameters
    ----------
    mask, true_mask : (H, W) ndarray
        Boolean or 0/1 masks of the same size (1 where the second source is sharper,
        the convention of :mod:`smfuse.data.sets`). The polarity is not flipped for you.

    Returns
    -------
    float
        In [0, 1].
    """
    m, t = _mask_pair(mask, true_mask)
    return float(np.mean(m == t))


def boundary_fscore(mask: np.ndarray, true_mask: np.ndarray, *, tol: float = 2) -> float:
    r"""Boundary F-score of a focus map against the true one, with a distance tolerance.

    Boundary pixels are those with a 4-neighbour of the other label (both sides of each
    edge; the image border is not an edge): ``skimage.segmentation.find_boundaries(m,
    connectivity=1, mode="thick")``. Precision :math:`P` is the fraction of the
    predicted boundary pixels within Euclidean distance ``tol`` of a true boundary pixel,
    recall :math:`R` the fraction of true boundary pixels within ``tol`` of a predicted
    one, and

    .. math::

        F = \frac{2 P R}{P + R}

    Parameters
    ----------
    mask, true_mask : (H, W) ndarray
        Boolean or 0/1 masks of the same size.
    tol : float
        Distance tolerance in pixels, >= 0.

    Returns
    -------
    float
        In [0, 1]; 1 when neither mask has a boundary, 0 when exactly one has.

    References
    ----------
    Martin, D. R., Fowlkes, C. C., Malik, J. "Learning to detect natural image boundaries
    using local brightness, color, and texture cues." IEEE TPAMI 26(5) (2004) 530-549.
    doi:10.1109/TPAMI.2004.1273918
    """
    m, t = _mask_pair(mask, true_mask)
    tol = float(tol)
    if not np.isfinite(tol) or tol < 0:
        raise ValueError(f"tol must be a finite distance >= 0 pixels, got {tol}")
    bm = find_boundaries(m, connectivity=1, mode="thick")
    bt = find_boundaries(t, connectivity=1, mode="thick")
    nm, nt = int(bm.sum()), int(bt.sum())
    if nm == 0 and nt == 0:
        return 1.0
    if nm == 0 or nt == 0:
        return 0.0
    dist_to_t = ndimage.distance_transform_edt(~bt)
    dist_to_m = ndimage.distance_transform_edt(~bm)
    precision = float(np.mean(dist_to_t[bm] <= tol))
    recall = float(np.mean(dist_to_m[bt] <= tol))
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)


def boundary_distance(true_mask: np.ndarray) -> np.ndarray:
    r"""Distance of each pixel from the focus boundary of a map: to the nearest pixel of the other label.

    A pixel next to the boundary (a 4- or 8-neighbour of the other label) is at 1 or
    :math:`\sqrt{2}`; the image border is no boundary. The band within ``d`` px of the boundary
    is ``boundary_distance(m) <= d``, the regions at least ``d`` px inside is ``> d`` (together
    every pixel once).

    Parameters
    ----------
    true_mask : (H, W) ndarray
        Boolean or 0/1 focus map.

    Returns
    -------
    (H, W) float64 ndarray
        Euclidean distances in pixels; ``inf`` everywhere when the map holds one label only.

    Examples
    --------
    >>> import numpy as np
    >>> m = np.zeros((1, 6), bool); m[:, 3:] = True
    >>> boundary_distance(m).tolist()
    [[3.0, 2.0, 1.0, 1.0, 2.0, 3.0]]
    """
    t = _binary(true_mask, "true_mask")
    if t.all() or not t.any():
        return np.full(t.shape, np.inf)
    return np.where(t, ndimage.distance_transform_edt(t), ndimage.distance_transform_edt(~t))


def delta_e_cie76(f: np.ndarray, truth: np.ndarray, *, where=None, data_range: float | None = None) -> float:
    r"""Mean colour difference CIE76 of a colour fused image against the truth, in CIELAB.

    .. math::

        \Delta E^*_{76} = \sqrt{(L^*_F - L^*_G)^2 + (a^*_F - a^*_G)^2 + (b^*_F - b^*_G)^2}

    averaged over the pixels (``where``), both images read as sRGB (D65) and converted with
    ``skimage.color.rgb2lab``. A difference of about 2.3 is just noticeable (Sharma 2003).

    Parameters
    ----------
    f, truth : (H, W, 3) ndarray
        Colour images of the same size and kind (``uint8``, ``uint16`` or float in [0, 1]).
    where : (H, W) bool ndarray, optional
        Score these pixels only, e.g. the focused regions away from the boundary.
    data_range : float, optional
        White level of float images, if not 1.

    Returns
    -------
    float
        >= 0; 0 when the images are equal (over ``where``).

    References
    ----------
    CIE, Colorimetry, 3rd ed., CIE 15:2004, sec. 8.2.1 (the CIELAB colour difference).
    G. Sharma, Digital Color Imaging Handbook, CRC Press (2003), ch. 1.
    """
    from skimage.color import deltaE_cie76, rgb2lab

    from smfuse.io import as_image

    F = as_image(f, role="the fused image", data_range=data_range)
    G = as_image(truth, role="the truth", data_range=data_range)
    if F.ndim != 3 or F.shape[2] != 3 or G.shape != F.shape:
        raise ValueError(f"delta_e_cie76 needs two colour (H, W, 3) images of one size, got {F.shape} and {G.shape}")
    w = _where(where, F.shape[:2])
    de = deltaE_cie76(rgb2lab(F), rgb2lab(G))
    return float(de.mean() if w is None else de[w].mean())


def region_recall(mask: np.ndarray, true_mask: np.ndarray, regions: np.ndarray) -> np.ndarray:
    r"""Share of each true region's pixels that a decision map takes from the focused source.

    .. math::

        R_k = \frac{|\{p \in \Omega_k : M_p = T_p\}|}{|\Omega_k|}

    for the region :math:`\Omega_k` labelled ``k`` in ``regions``.

    Parameters
    ----------
    mask, true_mask : (H, W) ndarray
        Boolean or 0/1 maps (True where the second source is taken / is sharp).
    regions : (H, W) int ndarray
        Labels 1..K of the true regions (0: not a region), e.g.
        ``pair.meta["regions"]`` of :func:`smfuse.data.small_regions.small_region_pair`.

    Returns
    -------
    (K,) float64 ndarray
        :math:`R_1 .. R_K`, each in [0, 1]; NaN for a label with no pixel.
    """
    m, t = _mask_pair(mask, true_mask)
    lab = np.asarray(regions)
    if lab.shape != m.shape or lab.dtype.kind not in "iu":
        raise ValueError(f"regions must be an integer (H, W) label image of the masks' size {m.shape}, got "
                         f"{lab.dtype} {lab.shape}")
    k = int(lab.max()) if lab.size else 0
    if k < 1:
        return np.zeros(0)
    hit = np.bincount(lab.ravel(), weights=(m == t).ravel().astype(np.float64), minlength=k + 1)[1:]
    size = np.bincount(lab.ravel(), minlength=k + 1)[1:].astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(size > 0, hit / size, np.nan)
