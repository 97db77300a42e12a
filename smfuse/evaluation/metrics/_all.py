"""Every fusion metric and no-reference statistic of one triple at once: a table row.

The grey and ``normalize1``'d images are made once and shared; each value is identical
to calling its function.
"""

from __future__ import annotations

import numpy as np

from smfuse.evaluation.metrics._common import normalize1, triple
from smfuse.evaluation.metrics._gradient import _qabf
from smfuse.evaluation.metrics._information import _mutual_info_bits, _qmi, _qncie
from smfuse.evaluation.metrics._no_reference import average_gradient, entropy, spatial_frequency
from smfuse.evaluation.metrics._perceptual import _qcb
from smfuse.evaluation.metrics._structural import _Moments, _qy, wang_ssim

__all__ = ["compute_all", "METRIC_KEYS"]

#: Keys of :func:`compute_all`, in table order. ``mutual_info`` is plain mutual information
#: (:func:`smfuse.evaluation.metrics.mutual_information`); nothing here is named after the guided
#: block's initial mask.
METRIC_KEYS = ("qmi", "qabf", "ssim", "ssim_mean", "qy", "qcb", "qncie", "mutual_info", "entropy", "sf", "ag")


def compute_all(a: np.ndarray, b: np.ndarray, f: np.ndarray, *, data_range: float | None = None) -> dict[str, float]:
    """Every metric of :mod:`smfuse.evaluation.metrics` for one source pair and fused image.

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) ndarray
        The sources: ``uint8`` or ``uint16`` grey or RGB, or float in [0, 1] (see ``data_range``).
    f : (H, W) or (H, W, 3) ndarray
        The fused image, of the same kind and size.
    data_range : float, optional
        The white level of float images (255 for float images on 0..255); default: float
        images lie in [0, 1]. Integer images always use their type's range. Every
        metric function of this package takes it.

    Returns
    -------
    dict
        Python floats under the keys of :data:`METRIC_KEYS`: ``qmi`` (:func:`qmi`),
        ``qabf`` (:func:`qabf`), ``ssim`` (:func:`ssim`, sum of two), ``ssim_mean``,
        ``qy``, ``qcb``, ``qncie``, ``mutual_info`` (:func:`mutual_information`, bits),
        ``entropy`` (of ``f``, bits), ``sf`` (:func:`spatial_frequency`) and ``ag``
        (:func:`average_gradient`). Identical to calling each function.

    Raises
    ------
    ValueError
        If the images differ in kind or size, are smaller than 11x11, or have an
        unsupported pixel type.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).integers(0, 256, (32, 32)).astype(np.uint8)
    >>> m = compute_all(x, x, x)
    >>> round(m["ssim"], 12), round(m["qy"], 12), round(m["qcb"], 12)
    (2.0, 1.0, 1.0)
    """
    A, B, F = triple(a, b, f, data_range)
    na, nb, nf = normalize1(A), normalize1(B), normalize1(F)
    s = wang_ssim(A, F) + wang_ssim(B, F)
    out = {
        "qmi": _qmi(na, nb, nf),
        "qabf": _qabf(A, B, F),
        "ssim": s,
        "ssim_mean": s / 2.0,
        "qy": _qy(_Moments({"a": A, "b": B, "f": F}, 7, 1.5)),
        "qcb": _qcb(na, nb, nf),
        "qncie": _qncie(na, nb, nf),
        "mutual_info": _mutual_info_bits(A, F) + _mutual_info_bits(B, F),
        "entropy": entropy(F, data_range=255),
        "sf": spatial_frequency(F, data_range=255),
        "ag": average_gradient(F, data_range=255),
    }
    return {k: float(out[k]) for k in METRIC_KEYS}
