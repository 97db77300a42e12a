"""The human-perception fusion metric QCB of Chen and Blum (2009).

Local contrast of each image after filtering by a contrast sensitivity function, and how
much of each source's contrast the fused image preserves, weighted by saliency.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage

from smfuse.evaluation.metrics._common import normalize1, triple

__all__ = ["qcb"]

# Chen & Blum (2009) constants as in metricChenBlum.m: CSF (DoG model, Eq. 5) ...
_CB_F0, _CB_F1, _CB_A = 15.3870, 1.3456, 0.7622
# ... and the local contrast (Eq. 8): C' = k C^p / (h C^q + Z)
_CB_K, _CB_H, _CB_Z = 1.0, 1.0, 1e-4  # p = 3, q = 2 (written out below)
_CB_SIGMAS = (2.0, 4.0)
_CB_HALF = 15  # 31x31 kernels


@lru_cache(maxsize=8)
def _csf_half(shape: tuple[int, int]) -> np.ndarray:
    """The CSF filter in ``rfft2`` layout for an image of ``shape``.

    MATLAB: ``[u, v] = freqspace([H, W], 'meshgrid')``, scaled by ``W/30`` and ``H/30``,
    ``Sd = exp(-(r/f0)^2) - a exp(-(r/f1)^2)``, applied to the centred spectrum.
    """
    h, w = shape
    fu = ((np.arange(w) - w // 2) * (2.0 / w)) * (w / 30.0)
    fv = ((np.arange(h) - h // 2) * (2.0 / h)) * (h / 30.0)
    r = np.sqrt(fu[None, :] ** 2 + fv[:, None] ** 2)
    sd = np.exp(-((r / _CB_F0) ** 2)) - _CB_A * np.exp(-((r / _CB_F1) ** 2))
    half = np.ascontiguousarray(np.fft.ifftshift(sd)[:, : w // 2 + 1])
    half.setflags(write=False)
    return half


@lru_cache(maxsize=4)
def _cb_gauss1d(sigma: float) -> np.ndarray:
    """1-D factor of the unnormalised 31x31 Gaussian exp(-(x^2+y^2)/(2 s^2)) / (2 pi s^2)."""
    x = np.arange(-_CB_HALF, _CB_HALF + 1, dtype=np.float64)
    g = np.exp(-x * x / (2 * sigma * sigma)) / np.sqrt(2 * np.pi * sigma * sigma)
    g.setflags(write=False)
    return g


def _filter_same(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """MATLAB ``filter2(outer(w, w), x, 'same')`` (zero padding) for a symmetric window."""
    return ndimage.correlate1d(ndimage.correlate1d(x, w, axis=0, mode="constant"), w, axis=1, mode="constant")


def _cb_contrast(n: np.ndarray) -> np.ndarray:
    """Masked local contrast C' of a normalize1'd image after CSF filtering."""
    # CSF filtering in the frequency domain (circular, as the reference's fft2/ifft2); the
    # filter is real and symmetric, so the result is real.
    x = np.fft.irfft2(np.fft.rfft2(n) * _csf_half(n.shape), s=n.shape)
    g1, g2 = (_cb_gauss1d(s) for s in _CB_SIGMAS)
    num, den = _filter_same(x, g1), _filter_same(x, g2)
    # Eq. (7): C = |G1 * I / G2 * I - 1|; 0 where the denominator is 0 (MATLAB: Inf/NaN)
    safe = den != 0
    c = np.where(safe, np.abs(num / np.where(safe, den, 1.0) - 1.0), 0.0)
    # Eq. (8): masked contrast
    c2 = c * c  # C^q, q = 2
    return _CB_K * (c2 * c) / (_CB_H * c2 + _CB_Z)  # C^p, p = 3


def _ratio_min_max(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """min(x, y) / max(x, y) elementwise, 1 where both are 0."""
    lo, hi = np.minimum(x, y), np.maximum(x, y)
    return np.where(hi > 0, lo / np.where(hi > 0, hi, 1.0), 1.0)


def _qcb(na: np.ndarray, nb: np.ndarray, nf: np.ndarray) -> float:
    ca, cb, cf = _cb_contrast(na), _cb_contrast(nb), _cb_contrast(nf)
    # Eq. (9): contrast preservation Q_SF = C'_S / C'_F if C'_S < C'_F else C'_F / C'_S
    q_af, q_bf = _ratio_min_max(ca, cf), _ratio_min_max(cb, cf)
    # Eq. (10): saliency lambda_A = C'_A^2 / (C'_A^2 + C'_B^2); 1/2 where both are 0
    sa, sb = ca * ca, cb * cb
    tot = sa + sb
    lam = np.where(tot > 0, sa / np.where(tot > 0, tot, 1.0), 0.5)
    # Eqs. (11)-(12): global quality map and its mean
    return float(np.mean(lam * q_af + (1 - lam) * q_bf))


def qcb(a: np.ndarray, b: np.ndarray, f: np.ndarray, *, data_range: float | None = None) -> float:
    r"""Human-perception fusion metric QCB of Chen and Blum (2009).

    Each ``normalize1``'d image is filtered by the contrast sensitivity function (the DoG
    model, :math:`S(r) = e^{-(r/f_0)^2} - a e^{-(r/f_1)^2}`, :math:`f_0 = 15.3870`,
    :math:`f_1 = 1.3456`, :math:`a = 0.7622`, with :math:`r` the radial frequency of
    MATLAB ``freqspace`` scaled by ``W/30`` and ``H/30``), then local contrast
    :math:`C = |G_2 \star I / G_4 \star I - 1|` with unnormalised 31x31 Gaussians of
    sigma 2 and 4 (zero padding), masked as :math:`C' = C^3 / (C^2 + 10^{-4})`. Then

    .. math::

        Q_{CB} = \operatorname{mean}\left(\lambda_A Q_{AF} + \lambda_B Q_{BF}\right),
        \quad Q_{SF} = \frac{\min(C'_S, C'_F)}{\max(C'_S, C'_F)},
        \quad \lambda_A = \frac{C_A'^2}{C_A'^2 + C_B'^2}

    Parameters
    ----------
    a, b, f : (H, W) or (H, W, 3) ndarray
        Sources and fused image, as for :func:`qmi`.

    Returns
    -------
    float
        In [0, 1]; about 0.70-0.81 for good methods on Lytro.

    Notes
    -----
    Follows ``metricChenBlum.m`` of Zheng Liu's toolbox (the copy used by Liu et al. 2020)
    constant for constant, including its :math:`|C|` and the single DoG level
    ``H/30``. Where the reference code divides 0 by 0 (constant images), ratios are taken
    as 1, weights as 1/2 and a zero-denominator contrast as 0.

    References
    ----------
    Chen, Y., Blum, R. S. "A new automated quality assessment algorithm for image fusion."
    Image and Vision Computing 27(10) (2009) 1421-1432. doi:10.1016/j.imavis.2007.12.002
    """
    A, B, F = triple(a, b, f, data_range)
    return _qcb(normalize1(A), normalize1(B), normalize1(F))
