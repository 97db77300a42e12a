"""The gradient-based fusion metric QAB/F of Xydeas and Petrovic (2000), "QG" in the tables.

How much of each source's edge strength and orientation (Sobel) survives in the fused
image, weighted by the source's edge strength.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from smfuse.evaluation.metrics._common import triple

__all__ = ["qabf"]

# Xydeas & Petrovic (2000), Fig. 1 constants ("QG" in the survey tables).
_GAMMA_G, _K_G, _SIGMA_G = 0.9994, -15.0, 0.5
_GAMMA_A, _K_A, _SIGMA_A = 0.9879, -22.0, 0.8
_EPS_QABF = 1e-5  # Yu Liu's (2019) zero-gradient rule


def _sobel(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sobel responses with zero padding (MATLAB ``filter2(.., 'same')``).

    ``sx`` correlates with ``[-1 0 1; -2 0 2; -1 0 1]`` (right minus left), ``sy`` with
    ``[-1 -2 -1; 0 0 0; 1 2 1]`` (down minus up).
    """
    smooth = np.array([1.0, 2.0, 1.0])
    diff = np.array([-1.0, 0.0, 1.0])
    sx = ndimage.correlate1d(ndimage.correlate1d(x, smooth, axis=0, mode="constant"), diff, axis=1, mode="constant")
    sy = ndimage.correlate1d(ndimage.correlate1d(x, diff, axis=0, mode="constant"), smooth, axis=1, mode="constant")
    return sx, sy


def _strength_orientation(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Edge strength g and orientation alpha = atan(sy / sx), sx = 0 replaced by 1e-5."""
    sx, sy = _sobel(x)
    g = np.sqrt(sx * sx + sy * sy)
    sx = np.where(sx == 0, _EPS_QABF, sx)
    return g, np.arctan(sy / sx)


def _qabf(A: np.ndarray, B: np.ndarray, F: np.ndarray) -> float:
    g_f, a_f = _strength_orientation(F)
    num = 0.0
    den = 0.0
    for S in (A, B):
        g_s, a_s = _strength_orientation(S)
        # Eq. (3): G^{SF} = g_F / g_S if g_S > g_F else g_S / g_F. The comparison uses g_F as
        # it stands when this source is processed (the reference code bumps zero g_F by 1e-5
        # while processing A, before B), then zero strengths are replaced by 1e-5.
        larger = g_s > g_f
        g_s = np.where(g_s == 0, _EPS_QABF, g_s)
        ratio_up = g_f / g_s
        g_f = np.where(g_f == 0, _EPS_QABF, g_f)
        G = np.where(larger, ratio_up, g_s / g_f)
        # Eq. (4): A^{SF} = 1 - |alpha_S - alpha_F| / (pi / 2)
        Ang = 1.0 - np.abs(a_s - a_f) * (2.0 / np.pi)
        # Eqs. (5)-(7): sigmoid preservation of strength and orientation
        Qg = _GAMMA_G / (1.0 + np.exp(_K_G * (G - _SIGMA_G)))
        Qa = _GAMMA_A / (1.0 + np.exp(_K_A * (Ang - _SIGMA_A)))
        # Eq. (8) numerator and denominator, weights w = g^L, L = 1
        num += np.sum(Qg * Qa * g_s)
        den += np.sum(g_s)
    return float(num / den)


def qabf(a: np.ndarray, b: np.ndarray, f: np.ndarray, *, data_range: float | None = None) -> float:
    r"""Gradient-based fusion metric QAB/F of Xydeas and Petrovic (2000), "QG" in tables.

    .. math::

        Q^{AB/F} = \frac{\sum_{n,m} Q^{AF}_{n,m} w^A_{n,m} + Q^{BF}_{n,m} w^B_{n,m}}
                        {\sum_{n,m} w^A_{n,m} + w^B_{n,m}}

    with :math:`Q^{SF} = Q_g^{SF} Q_\alpha^{SF}`,
    :math:`Q_g = \Gamma_g / (1 + e^{\kappa_g (G^{SF} - \sigma_g)})`,
    :math:`Q_\alpha = \Gamma_\alpha / (1 + e^{\kappa_\alpha (A^{SF} - \sigma_\alpha)})`,
    :math:`G^{SF} = g_F / g_S` where :math:`g_S > g_F`, else :math:`g_S / g_F`;
    :math:`A^{SF} = 1 - |\alpha_S - \alpha_F| / (\pi / 2)`; Sobel strength
    :math:`g = \sqrt{s_x^2 + s_y^2}` (zero padding), orientation
    :math:`\alpha = \arctan(s_y / s_x)` (``atan``, not ``atan2``); weights
    :math:`w = g^L`, :math:`L = 1`. One global weighted sum, not a mean of ratios.

    Constants (the standard metric, Fig. 1 of the paper): :math:`\Gamma_g = 0.9994`,
    :math:`\kappa_g = -15`, :math:`\sigma_g = 0.5`, :math:`\Gamma_\alpha = 0.9879`,
    :math:`\kappa_\alpha = -22`, :math:`\sigma_\alpha = 0.8`.

    Parameters
    ----------
    a, b, f : (H, W) or (H, W, 3) ndarray
        Sources and fused image, as for :func:`qmi` (no ``normalize1`` here).

    Returns
    -------
    float
        In [0, 1); about 0.72-0.76 for good methods on Lytro. ``qabf(a, a, a)`` is the
        product of both sigmoids at perfect preservation,
        0.998848 * 0.975918 = 0.974794 (the metric's maximum).

    Notes
    -----
    Zero gradients follow Yu Liu's 2019 correction of ``metricXydeas.m``: ``1e-5`` is added
    where :math:`s_x = 0` (before the arctangent) and where :math:`g = 0` (before the
    ratios and as the weight). The older toolbox file with :math:`\Gamma = 1`,
    :math:`\kappa_g = -10`, ... is a different metric.

    References
    ----------
    Xydeas, C. S., Petrovic, V. "Objective image fusion performance measure." Electronics
    Letters 36(4) (2000) 308-309. doi:10.1049/el:20000267
    """
    A, B, F = triple(a, b, f, data_range)
    return _qabf(A, B, F)
