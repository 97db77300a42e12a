"""No-reference statistics of the fused image: entropy, spatial frequency, average gradient.

They look at the fused image alone, so a noisy or over-sharpened result scores *higher*
on all three; read them beside the fusion metrics, never alone.
"""

from __future__ import annotations

import numpy as np
from skimage.measure import shannon_entropy

from smfuse.evaluation.metrics._common import levels, single

__all__ = ["entropy", "spatial_frequency", "average_gradient"]


def entropy(f: np.ndarray, *, data_range: float | None = None) -> float:
    r"""Shannon entropy of the fused image, :math:`-\sum_l p_l \log_2 p_l`, in bits.

    Parameters
    ----------
    f : (H, W) or (H, W, 3) ndarray
        ``uint8`` grey or RGB (converted with MATLAB ``rgb2gray``), ``uint16``, or float in
        [0, 1] (in [0, ``data_range``] if given), then on the 0..255 scale
        (rounded half away from zero to 256 levels).

    Returns
    -------
    float
        In [0, 8] bits.

    Notes
    -----
    Computed by ``skimage.measure.shannon_entropy(levels, base=2)`` on the 256 grey
    levels: the same definition as counting the levels by hand (``tests/test_metrics.py``
    checks the two agree to 1e-12; only the order of the float sums differs).

    References
    ----------
    Roberts, J. W., van Aardt, J., Ahmed, F. "Assessment of image fusion procedures using
    entropy, image quality, and multispectral classification." Journal of Applied Remote
    Sensing 2(1) (2008) 023522. doi:10.1117/1.2945910
    """
    return float(shannon_entropy(levels(single(f, data_range=data_range)), base=2))


def spatial_frequency(f: np.ndarray, *, data_range: float | None = None) -> float:
    r"""Spatial frequency of the fused image, :math:`\sqrt{RF^2 + CF^2}`.

    .. math::

        RF^2 = \frac{1}{MN} \sum_{i,j} (F_{i,j} - F_{i,j-1})^2, \quad
        CF^2 = \frac{1}{MN} \sum_{i,j} (F_{i,j} - F_{i-1,j})^2

    Both sums are divided by ``M N`` (the number of pixels), as in ``SF.m`` of Yu Liu's
    MFIF-Metrics code.

    Parameters
    ----------
    f : (H, W) or (H, W, 3) ndarray
        As for :func:`entropy`; grey levels on the 0..255 scale.

    Returns
    -------
    float
        Grey levels per pixel, >= 0.

    References
    ----------
    Eskicioglu, A. M., Fisher, P. S. "Image quality measures and their performance."
    IEEE Transactions on Communications 43(12) (1995) 2959-2965. doi:10.1109/26.477498
    """
    F = single(f, data_range=data_range)
    rf2 = np.sum(np.diff(F, axis=1) ** 2) / F.size
    cf2 = np.sum(np.diff(F, axis=0) ** 2) / F.size
    return float(np.sqrt(rf2 + cf2))


def average_gradient(f: np.ndarray, *, data_range: float | None = None) -> float:
    r"""Average gradient of the fused image.

    .. math::

        AG = \frac{1}{MN} \sum_{i,j} \sqrt{\frac{(F_{i+1,j} - F_{i,j})^2 + (F_{i,j+1} - F_{i,j})^2}{2}}

    with forward differences and replicated borders (the difference is 0 in the last row
    and column), as ``AG.m`` of Yu Liu's MFIF-Metrics code.

    Parameters
    ----------
    f : (H, W) or (H, W, 3) ndarray
        As for :func:`entropy`.

    Returns
    -------
    float
        Grey levels per pixel, >= 0.

    References
    ----------
    Cui, G., Feng, H., Xu, Z., Li, Q., Chen, Y. "Detail preserved fusion of visible and
    infrared images using regional saliency extraction and multi-scale image
    decomposition." Optics Communications 341 (2015) 199-209.
    doi:10.1016/j.optcom.2014.12.032
    """
    F = single(f, data_range=data_range)
    gx = np.zeros_like(F)
    gy = np.zeros_like(F)
    gx[:-1] = F[1:] - F[:-1]
    gy[:, :-1] = F[:, 1:] - F[:, :-1]
    return float(np.mean(np.sqrt((gx * gx + gy * gy) / 2)))
