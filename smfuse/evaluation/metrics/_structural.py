"""Structural-similarity fusion metrics: SSIM (Wang et al. 2004) and QY (Yang et al. 2008).

SSIM comes from scikit-image (the identical definition, see :func:`wang_ssim`); QY needs
local SSIM maps with its own tiny constants and a rule for flat windows, computed here
from Gaussian-weighted local moments over the 'valid' region.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage
from skimage.metrics import structural_similarity

from smfuse.evaluation.metrics._common import triple

__all__ = ["ssim", "ssim_mean", "qy", "wang_ssim"]


# ----------------------------------------------------------------------------- local windows (QY)

@lru_cache(maxsize=8)
def _gauss1d(size: int, sigma: float) -> np.ndarray:
    """Normalised 1-D Gaussian; ``outer(g, g)`` is MATLAB ``fspecial('gaussian', size, sigma)``."""
    x = np.arange(size, dtype=np.float64) - (size - 1) / 2
    g = np.exp(-x * x / (2 * sigma * sigma))
    g = g / g.sum()
    g.setflags(write=False)
    return g


def _filter_valid(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(outer(w, w), x, 'valid')`` for a symmetric separable window."""
    r = len(w) // 2
    y = ndimage.correlate1d(x, w, axis=0, mode="constant")[r:-r]
    return ndimage.correlate1d(y, w, axis=1, mode="constant")[:, r:-r]


class _Moments:
    """Local Gaussian-weighted means and second moments over the 'valid' region, cached."""

    def __init__(self, images: dict[str, np.ndarray], size: int, sigma: float):
        self.images = images
        self.w = _gauss1d(size, sigma)
        self._cache: dict = {}

    def mu(self, k: str) -> np.ndarray:
        if k not in self._cache:
            self._cache[k] = _filter_valid(self.images[k], self.w)
        return self._cache[k]

    def cov(self, k1: str, k2: str) -> np.ndarray:
        """Population (co)variance ``E[xy] - E[x] E[y]`` in each window."""
        key = tuple(sorted((k1, k2)))
        if key not in self._cache:
            x, y = self.images[k1], self.images[k2]
            self._cache[key] = _filter_valid(x * y, self.w) - self.mu(k1) * self.mu(k2)
        return self._cache[key]


def _ssim_map(m: _Moments, k1: str, k2: str, c1: float, c2: float, zero_below: float | None = None):
    """SSIM map of Wang et al. (2004), Eq. (13); optionally with tiny moments set to 0."""
    mu1, mu2 = m.mu(k1), m.mu(k2)
    s11, s22, s12 = m.cov(k1, k1), m.cov(k2, k2), m.cov(k1, k2)
    if zero_below is not None:
        s11, s22, s12 = (_zero_small(s, zero_below) for s in (s11, s22, s12))
    num = (2 * mu1 * mu2 + c1) * (2 * s12 + c2)
    den = (mu1 * mu1 + mu2 * mu2 + c1) * (s11 + s22 + c2)
    return num / den


def _zero_small(s: np.ndarray, tol: float) -> np.ndarray:
    return np.where(np.abs(s) < tol, 0.0, s)


def wang_ssim(x: np.ndarray, y: np.ndarray) -> float:
    """Wang et al.'s SSIM of two grey float64 images (0..255), 11x11 Gaussian window, 'valid' mean.

    ``skimage.metrics.structural_similarity`` with ``gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=255``: its Gaussian (truncated at 3.5 sigma)
    is the 11x11 window, and it averages over the region away from the 5-pixel border,
    which is exactly MATLAB's ``filter2(..., 'valid')``; ``tests/test_metrics.py`` checks
    it against a direct 'valid' implementation of Eq. (13).
    """
    return float(structural_similarity(x, y, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
                                       data_range=255))


def ssim(a: np.ndarray, b: np.ndarray, f: np.ndarray, *, data_range: float | None = None) -> float:
    r"""Fusion SSIM, :math:`SSIM(A, F) + SSIM(B, F)` (the VIFB / MFIFB convention).

    Each term is Wang et al.'s SSIM, Eq. (13),

    .. math::

        SSIM(X, F) = \operatorname{mean} \frac{(2 \mu_X \mu_F + C_1)(2 \sigma_{XF} + C_2)}
                     {(\mu_X^2 + \mu_F^2 + C_1)(\sigma_X^2 + \sigma_F^2 + C_2)}

    with an 11x11 Gaussian window (sigma 1.5, normalised), population moments,
    :math:`C_1 = (0.01 \cdot 255)^2`, :math:`C_2 = (0.03 \cdot 255)^2`, averaged over the
    'valid' region (windows fully inside the image).

    Parameters
    ----------
    a, b, f : (H, W) or (H, W, 3) ndarray
        Sources and fused image, as for :func:`qmi`.

    Returns
    -------
    float
        At most 2; see :func:`ssim_mean` for the halved form.

    Notes
    -----
    Equals ``skimage.metrics.structural_similarity(x, f, gaussian_weights=True,
    sigma=1.5, use_sample_covariance=False, data_range=255)`` summed over both sources.
    No automatic down-sampling (that belongs to Wang's later ``ssim.m``).

    References
    ----------
    Wang, Z., Bovik, A. C., Sheikh, H. R., Simoncelli, E. P. "Image quality assessment:
    from error visibility to structural similarity." IEEE Transactions on Image Processing
    13(4) (2004) 600-612. doi:10.1109/TIP.2003.819861
    """
    A, B, F = triple(a, b, f, data_range)
    return wang_ssim(A, F) + wang_ssim(B, F)


def ssim_mean(a: np.ndarray, b: np.ndarray, f: np.ndarray, *, data_range: float | None = None) -> float:
    r"""Half of :func:`ssim`: :math:`(SSIM(A, F) + SSIM(B, F)) / 2`, at most 1.

    The form of papers that average the two terms; same definition and window as
    :func:`ssim`.

    References
    ----------
    Wang, Z., Bovik, A. C., Sheikh, H. R., Simoncelli, E. P. IEEE TIP 13(4) (2004)
    600-612. doi:10.1109/TIP.2003.819861
    """
    return ssim(a, b, f, data_range=data_range) / 2.0


_QY_C = 2e-16
_QY_ZERO = 1e-6  # local (co)variances below this magnitude (0..255 scale) are taken as 0


def _qy(m: _Moments) -> float:
    s_ab = _ssim_map(m, "a", "b", _QY_C, _QY_C, _QY_ZERO)
    s_af = _ssim_map(m, "a", "f", _QY_C, _QY_C, _QY_ZERO)
    s_bf = _ssim_map(m, "b", "f", _QY_C, _QY_C, _QY_ZERO)
    var_a = _zero_small(m.cov("a", "a"), _QY_ZERO)
    var_b = _zero_small(m.cov("b", "b"), _QY_ZERO)
    # lambda = var_A / (var_A + var_B); 0.5 where both are 0 (Yu Liu's rule)
    tot = var_a + var_b
    flat = tot == 0
    lam = np.where(flat, 0.5, var_a / np.where(flat, 1.0, tot))
    q = np.where(s_ab >= 0.75, lam * s_af + (1 - lam) * s_bf, np.maximum(s_af, s_bf))
    return float(np.mean(q))


def qy(a: np.ndarray, b: np.ndarray, f: np.ndarray, *, data_range: float | None = None) -> float:
    r"""Structural-similarity fusion metric QY of Yang et al. (2008).

    .. math::

        Q_Y = \operatorname{mean}_w \begin{cases}
            \lambda_w SSIM(A, F | w) + (1 - \lambda_w) SSIM(B, F | w),
                & SSIM(A, B | w) \ge 0.75 \\
            \max(SSIM(A, F | w), SSIM(B, F | w)), & \text{otherwise}
        \end{cases}

    with :math:`\lambda_w = \sigma_A^2 / (\sigma_A^2 + \sigma_B^2)` in window :math:`w`
    (0.5 where both variances are 0). The local SSIM maps use a 7x7 Gaussian window
    (sigma 1.5), :math:`C_1 = C_2 = 2 \times 10^{-16}` and the 'valid' region.

    Parameters
    ----------
    a, b, f : (H, W) or (H, W, 3) ndarray
        Sources and fused image, as for :func:`qmi`.

    Returns
    -------
    float
        At most 1 (``qy(a, a, a) == 1``); each window's term lies in [-1, 1], and the mean
        is in [0, 1] on natural images (0.93-0.99 for the survey's methods on Lytro).

    Notes
    -----
    With constants as small as :math:`2 \times 10^{-16}`, a window where a source is flat
    gives :math:`\sigma \approx 10^{-12}` of rounding noise on both sides of the SSIM
    fraction and values far outside [0, 1] (3.74 was seen on a Lytro pair). Rule used here:
    every local variance and covariance whose magnitude is below ``1e-6`` (0..255 scale)
    is set to exactly 0 before the SSIM terms and :math:`\lambda` are formed. A flat
    window then scores its luminance term only. This reproduces the published MATLAB
    values to about 1e-4 (the MATLAB code's own rounding noise sets the limit).

    References
    ----------
    Yang, C., Zhang, J.-Q., Wang, X.-R., Liu, X. "A novel similarity based quality metric
    for image fusion." Information Fusion 9(2) (2008) 156-160.
    doi:10.1016/j.inffus.2006.09.001
    """
    A, B, F = triple(a, b, f, data_range)
    return _qy(_Moments({"a": A, "b": B, "f": F}, 7, 1.5))
