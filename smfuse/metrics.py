"""Objective metrics of multi-focus image fusion, in the convention of the published tables.

Numbers in this field move by more than the gap between methods when a convention changes,
so every function here follows one convention, the one behind the Lytro tables of Liu et
al. (2020) and validated against their MATLAB reference values (``tests/test_metrics.py``):

1. Every image goes through the one input contract (:func:`smfuse.io.gray255`): ``uint8``,
   ``uint16`` or float in [0, 1] (in [0, ``data_range``] with ``data_range=``; float
   images on 0..255 need ``data_range=255``). An 8-bit colour image is turned grey with
   MATLAB ``rgb2gray`` (rounded half away from zero to ``uint8``,
   :func:`smfuse.io.rgb2gray_matlab`), other colour images with its weights unrounded;
   then everything is ``float64`` on the 0..255 scale (8-bit grey exactly as it is).
2. Sources ``a``, ``b`` and fused ``f`` must be of the same kind (all grey or all colour)
   and the same size, at least 11x11 pixels.
3. Metrics built on histograms of rescaled images (QMI, QNCIE) and QCB first apply Zheng
   Liu's ``normalize1``: ``round((X - min) / (max - min) * 255)`` with MATLAB rounding.

Fusion metrics (sources and fused image): :func:`qmi`, :func:`qabf`, :func:`ssim`,
:func:`ssim_mean`, :func:`qy`, :func:`qcb`, :func:`qncie`, :func:`mutual_information`.
No-reference statistics of the fused image: :func:`entropy`, :func:`spatial_frequency`,
:func:`average_gradient`. Against a ground truth: :func:`psnr`, :func:`ssim_gt`,
:func:`mask_accuracy`, :func:`boundary_fscore`. :func:`compute_all` gives every fusion
metric at once, sharing the intermediate images.

Departures from the MATLAB reference code, all on inputs where that code returns NaN or
values outside the metric's range:

- ``normalize1`` of a constant non-zero image gives all zeros (MATLAB: NaN).
- QY: local variances and covariances of magnitude below ``1e-6`` are set to exactly 0
  before the SSIM terms are formed (see :func:`qy`).
- QCB, QMI, QNCIE: 0/0 cases (all-constant images) get the limit value stated in each
  function's Notes.

References
----------
Liu, Y., Wang, L., Cheng, J., Li, C., Chen, X. "Multi-focus image fusion: a survey of the
state of the art." Information Fusion 64 (2020) 71-91. doi:10.1016/j.inffus.2020.06.013

Liu, Z., Blasch, E., Xue, Z., Zhao, J., Laganiere, R., Wu, W. "Objective assessment of
multiresolution image fusion algorithms for context enhancement in night vision: a
comparative study." IEEE TPAMI 34(1) (2012) 94-109. doi:10.1109/TPAMI.2011.109
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from scipy import ndimage

from .io import gray255, round_half_away

__all__ = [
    "qmi",
    "qabf",
    "ssim",
    "ssim_mean",
    "qy",
    "qcb",
    "qncie",
    "mutual_information",
    "entropy",
    "spatial_frequency",
    "average_gradient",
    "psnr",
    "ssim_gt",
    "mask_accuracy",
    "boundary_fscore",
    "compute_all",
    "METRIC_KEYS",
]

#: Keys of :func:`compute_all`, in table order.
METRIC_KEYS = ("qmi", "qabf", "ssim", "ssim_mean", "qy", "qcb", "qncie", "mi", "entropy", "sf", "ag")

_MIN_SIDE = 11  # the SSIM window


# ----------------------------------------------------------------------------- input checks

def _gray255(x, role: str, data_range: float | None = None) -> np.ndarray:
    """One image in the metric convention: grey float64 on the 0..255 scale (the input contract)."""
    return gray255(x, role=role, data_range=data_range)


def _check_same(images: dict, min_side: int = _MIN_SIDE) -> None:
    arrs = {k: np.asarray(v) for k, v in images.items()}
    (n0, x0), *rest = arrs.items()
    kinds = {2: "grey", 3: "colour"}
    for n, x in rest:
        if x.ndim != x0.ndim:
            raise ValueError(f"{n0} is {kinds.get(x0.ndim, f'{x0.ndim}-D')} and {n} is "
                             f"{kinds.get(x.ndim, f'{x.ndim}-D')}; pass all images as the same kind")
        if x.shape[:2] != x0.shape[:2]:
            raise ValueError(f"{n0} is {x0.shape[:2]} but {n} is {x.shape[:2]}; images must have the same size")
    if x0.ndim >= 2 and min(x0.shape[:2]) < min_side:
        raise ValueError(f"images are {x0.shape[:2]}; this metric needs at least {min_side}x{min_side} pixels")


_A, _B, _F, _T = "the first source", "the second source", "the fused image", "the ground truth"


def _triple(a, b, f, data_range=None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    A, B, F = _gray255(a, _A, data_range), _gray255(b, _B, data_range), _gray255(f, _F, data_range)
    _check_same({_A: a, _B: b, _F: f})
    return A, B, F


def _single(f, name: str = _F, data_range=None) -> np.ndarray:
    g = _gray255(f, name, data_range)
    if min(g.shape) < 2:
        raise ValueError(f"{name} is {g.shape}; need at least 2x2 pixels")
    return g


# ----------------------------------------------------------------------------- shared pieces

def _normalize1(x: np.ndarray) -> np.ndarray:
    """Zheng Liu's ``normalize1``: stretch to 0..255 and round half away from zero."""
    hi, lo = float(x.max()), float(x.min())
    if hi == 0 and lo == 0:
        return x.copy()
    if hi == lo:  # MATLAB: 0/0 = NaN; a constant image carries no information
        return np.zeros_like(x)
    v = (x - lo) / (hi - lo) * 255
    return np.floor(v + 0.5)  # MATLAB round; v >= 0


def _levels(x: np.ndarray) -> np.ndarray:
    """Grey levels 0..255 as integers (MATLAB rounding of non-integer floats)."""
    xi = x.astype(np.intp)
    if np.array_equal(xi, x):
        return xi
    return np.clip(round_half_away(x), 0, 255).astype(np.intp)


def _joint_prob(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """256x256 joint probability of two level images (rows: x, columns: y)."""
    idx = _levels(x).ravel() * 256 + _levels(y).ravel()
    return np.bincount(idx, minlength=65536).reshape(256, 256) / idx.size


def _h(p: np.ndarray) -> float:
    """Shannon entropy in bits of a probability array, 0 log 0 = 0."""
    p = p[p > 0]
    return float(-np.sum(p * np.log2(p)))


def _entropies(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """H(x), H(y), H(x, y) in bits from the 256-bin joint histogram."""
    p = _joint_prob(x, y)
    return _h(p.sum(axis=1)), _h(p.sum(axis=0)), _h(p)


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


# ----------------------------------------------------------------------------- QMI, QNCIE, MI

def _qmi(na: np.ndarray, nb: np.ndarray, nf: np.ndarray) -> float:
    total = 0.0
    for ns in (na, nb):
        hs, hf, hsf = _entropies(ns, nf)
        if hs + hf == 0:  # both constant: F keeps all of the source's (zero) information
            total += 0.5
        else:
            total += (hs + hf - hsf) / (hs + hf)  # MI / (H_S + H_F)
    return 2.0 * total


def qmi(a: np.ndarray, b: np.ndarray, f: np.ndarray, *, data_range: float | None = None) -> float:
    r"""Normalised mutual information fusion metric QMI of Hossny et al. (2008).

    .. math::

        Q_{MI} = 2 \left[ \frac{MI(A, F)}{H(A) + H(F)} + \frac{MI(B, F)}{H(B) + H(F)} \right]

    with :math:`MI(X, F) = H(X) + H(F) - H(X, F)` from 256x256 joint histograms of the
    ``normalize1``'d images (zero bins skipped; the log base cancels).

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) ndarray
        The sources: ``uint8`` or ``uint16`` grey or RGB, or float in [0, 1] (see ``data_range``).
    f : (H, W) or (H, W, 3) ndarray
        The fused image, of the same kind and size.

    Returns
    -------
    float
        In [0, 2]; 2 when ``a``, ``b`` and ``f`` are the same image. Good multi-focus
        methods reach about 1.1-1.2 on Lytro.

    Raises
    ------
    ValueError
        If the images differ in kind (grey/colour) or size, or have an unsupported type.

    Notes
    -----
    Colour is converted with MATLAB ``rgb2gray``, then ``normalize1``
    (``round((X - min) / (max - min) * 255)``, MATLAB rounding), as in ``metricMI.m``
    (``sw = 1``) of Zheng Liu's toolbox. This is not Studholme's NMI (scikit-image's
    ``normalized_mutual_information``). When a source and ``f`` are both constant its term
    is taken as 1/2 (MATLAB: 0/0).

    References
    ----------
    Hossny, M., Nahavandi, S., Creighton, D. "Comments on 'Information measure for
    performance of image fusion'." Electronics Letters 44(18) (2008) 1066-1067.
    doi:10.1049/el:20081754

    Examples
    --------
    >>> import numpy as np
    >>> x = np.random.default_rng(0).integers(0, 256, (32, 32)).astype(np.uint8)
    >>> round(qmi(x, x, x), 12)
    2.0
    """
    A, B, F = _triple(a, b, f, data_range)
    return _qmi(_normalize1(A), _normalize1(B), _normalize1(F))


def _ncc(x: np.ndarray, y: np.ndarray) -> float:
    """Nonlinear correlation coefficient: MI in base-256 logarithms (256 bins)."""
    hx, hy, hxy = _entropies(x, y)
    return (hx + hy - hxy) / 8.0


def _qncie(na: np.ndarray, nb: np.ndarray, nf: np.ndarray) -> float:
    n_ab, n_af, n_bf = _ncc(na, nb), _ncc(na, nf), _ncc(nb, nf)
    R = np.array([[1.0, n_ab, n_af], [n_ab, 1.0, n_bf], [n_af, n_bf, 1.0]])
    lam = np.clip(np.linalg.eigvalsh(R), 0.0, None) / 3.0  # lambda_i / K, K = 3
    lam = lam[lam > 0]
    h_r = -np.sum(lam * np.log2(lam)) / 8.0  # log base b = 256
    return float(1.0 - h_r)


def qncie(a: np.ndarray, b: np.ndarray, f: np.ndarray, *, data_range: float | None = None) -> float:
    r"""Nonlinear correlation information entropy QNCIE (Wang, Shen, Jin).

    .. math::

        Q_{NCIE} = 1 + \sum_{i=1}^{3} \frac{\lambda_i}{3} \log_{256} \frac{\lambda_i}{3}

    where :math:`\lambda_i` are the eigenvalues of the nonlinear correlation matrix
    :math:`R = [[1, NCC_{AB}, NCC_{AF}], [NCC_{AB}, 1, NCC_{BF}], [NCC_{AF}, NCC_{BF}, 1]]`
    and :math:`NCC_{XY} = H(X) + H(Y) - H(X, Y)` with base-256 logarithms of 256-bin
    histograms of the ``normalize1``'d images.

    Parameters
    ----------
    a, b, f : (H, W) or (H, W, 3) ndarray
        Sources and fused image, as for :func:`qmi`.

    Returns
    -------
    float
        In [0, 1]; about 0.82-0.86 for good methods on Lytro.

    Notes
    -----
    Follows ``metricWang.m`` / ``NCC.m`` of Zheng Liu's toolbox. Eigenvalues are clipped
    at 0 and ``0 log 0 = 0`` (MATLAB would return a complex value or NaN there).

    References
    ----------
    Wang, Q., Shen, Y., Zhang, J. Q. "A nonlinear correlation measure for multivariable
    data set." Physica D 200(3-4) (2005) 287-295. doi:10.1016/j.physd.2004.11.001

    Wang, Q., Shen, Y., Jin, J. "Performance evaluation of image fusion techniques." In
    Image Fusion: Algorithms and Applications (T. Stathaki, ed.), Academic Press (2008)
    469-492. doi:10.1016/B978-0-12-372529-5.00017-2
    """
    A, B, F = _triple(a, b, f, data_range)
    return _qncie(_normalize1(A), _normalize1(B), _normalize1(F))


def _mi(x: np.ndarray, y: np.ndarray) -> float:
    hx, hy, hxy = _entropies(x, y)
    return hx + hy - hxy


def mutual_information(a: np.ndarray, b: np.ndarray, f: np.ndarray, *, data_range: float | None = None) -> float:
    r"""Plain mutual information :math:`MI(A, F) + MI(B, F)`, in bits.

    :math:`MI(X, F) = H(X) + H(F) - H(X, F)` from the 256x256 joint histogram of the grey
    levels (no ``normalize1``; non-integer float levels are rounded half away from zero).

    Parameters
    ----------
    a, b, f : (H, W) or (H, W, 3) ndarray
        Sources and fused image, as for :func:`qmi`.

    Returns
    -------
    float
        Bits, >= 0 (at most ``2 * 8``).

    References
    ----------
    Qu, G., Zhang, D., Yan, P. "Information measure for performance of image fusion."
    Electronics Letters 38(7) (2002) 313-315. doi:10.1049/el:20020212
    """
    A, B, F = _triple(a, b, f, data_range)
    return _mi(A, F) + _mi(B, F)


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

    References
    ----------
    Roberts, J. W., van Aardt, J., Ahmed, F. "Assessment of image fusion procedures using
    entropy, image quality, and multispectral classification." Journal of Applied Remote
    Sensing 2(1) (2008) 023522. doi:10.1117/1.2945910
    """
    F = _single(f, data_range=data_range)
    return _h(np.bincount(_levels(F).ravel(), minlength=256) / F.size)


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
    F = _single(f, data_range=data_range)
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
    F = _single(f, data_range=data_range)
    gx = np.zeros_like(F)
    gy = np.zeros_like(F)
    gx[:-1] = F[1:] - F[:-1]
    gy[:, :-1] = F[:, 1:] - F[:, :-1]
    return float(np.mean(np.sqrt((gx * gx + gy * gy) / 2)))


# ----------------------------------------------------------------------------- QAB/F

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
    A, B, F = _triple(a, b, f, data_range)
    return _qabf(A, B, F)


# ----------------------------------------------------------------------------- SSIM, QY

_SSIM_C1 = (0.01 * 255) ** 2
_SSIM_C2 = (0.03 * 255) ** 2


def _wang_ssim(m: _Moments, k1: str, k2: str) -> float:
    return float(np.mean(_ssim_map(m, k1, k2, _SSIM_C1, _SSIM_C2)))


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
    A, B, F = _triple(a, b, f, data_range)
    m = _Moments({"a": A, "b": B, "f": F}, 11, 1.5)
    return _wang_ssim(m, "a", "f") + _wang_ssim(m, "b", "f")


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
    A, B, F = _triple(a, b, f, data_range)
    return _qy(_Moments({"a": A, "b": B, "f": F}, 7, 1.5))


# ----------------------------------------------------------------------------- QCB

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
    A, B, F = _triple(a, b, f, data_range)
    return _qcb(_normalize1(A), _normalize1(B), _normalize1(F))


# ----------------------------------------------------------------------------- all at once

def compute_all(a: np.ndarray, b: np.ndarray, f: np.ndarray, *, data_range: float | None = None) -> dict[str, float]:
    """Every fusion metric of this module for one source pair and fused image.

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) ndarray
        The sources: ``uint8`` or ``uint16`` grey or RGB, or float in [0, 1] (see ``data_range``).
    f : (H, W) or (H, W, 3) ndarray
        The fused image, of the same kind and size.
    data_range : float, optional
        The white level of float images (255 for float images on 0..255); default: float
        images lie in [0, 1]. Integer images always use their type's range. Every
        metric function of this module takes it.

    Returns
    -------
    dict
        Python floats under the keys of :data:`METRIC_KEYS`: ``qmi`` (:func:`qmi`),
        ``qabf`` (:func:`qabf`), ``ssim`` (:func:`ssim`, sum of two), ``ssim_mean``,
        ``qy``, ``qcb``, ``qncie``, ``mi`` (:func:`mutual_information`, bits),
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
    A, B, F = _triple(a, b, f, data_range)
    na, nb, nf = _normalize1(A), _normalize1(B), _normalize1(F)
    images = {"a": A, "b": B, "f": F}
    m11 = _Moments(images, 11, 1.5)
    s = _wang_ssim(m11, "a", "f") + _wang_ssim(m11, "b", "f")
    out = {
        "qmi": _qmi(na, nb, nf),
        "qabf": _qabf(A, B, F),
        "ssim": s,
        "ssim_mean": s / 2.0,
        "qy": _qy(_Moments(images, 7, 1.5)),
        "qcb": _qcb(na, nb, nf),
        "qncie": _qncie(na, nb, nf),
        "mi": _mi(A, F) + _mi(B, F),
        "entropy": _h(np.bincount(_levels(F).ravel(), minlength=256) / F.size),
        "sf": spatial_frequency(F, data_range=255),
        "ag": average_gradient(F, data_range=255),
    }
    return {k: float(out[k]) for k in METRIC_KEYS}


# ----------------------------------------------------------------------------- ground truth

def _pair(f, truth, min_side: int = _MIN_SIDE, data_range=None) -> tuple[np.ndarray, np.ndarray]:
    F, G = _gray255(f, _F, data_range), _gray255(truth, _T, data_range)
    _check_same({_F: f, _T: truth}, min_side)
    return F, G


def psnr(f: np.ndarray, truth: np.ndarray, *, data_range: float | None = None) -> float:
    r"""Peak signal-to-noise ratio of the fused image against the all-in-focus truth.

    .. math::

        PSNR = 10 \log_{10} \frac{255^2}{\operatorname{mean}((F - G)^2)}

    on grey images (colour converted with MATLAB ``rgb2gray``), 0..255 scale.

    Parameters
    ----------
    f, truth : (H, W) or (H, W, 3) ndarray
        Same kind and size; ``uint8``, ``uint16`` or float in [0, 1] (see ``data_range``).

    Returns
    -------
    float
        Decibels; ``inf`` when the images are equal.

    References
    ----------
    Huynh-Thu, Q., Ghanbari, M. "Scope of validity of PSNR in image/video quality
    assessment." Electronics Letters 44(13) (2008) 800-801. doi:10.1049/el:20080522
    """
    F, G = _pair(f, truth, 1, data_range)
    mse = float(np.mean((F - G) ** 2))
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
    F, G = _pair(f, truth, data_range=data_range)
    return _wang_ssim(_Moments({"f": F, "g": G}, 11, 1.5), "f", "g")


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
        the convention of :mod:`smfuse.data`). The polarity is not flipped for you.

    Returns
    -------
    float
        In [0, 1].
    """
    m, t = _mask_pair(mask, true_mask)
    return float(np.mean(m == t))


def _boundary(m: np.ndarray) -> np.ndarray:
    """Pixels with a 4-neighbour (inside the image) of the other label: both sides of an edge."""
    b = np.zeros_like(m)
    dv = m[1:] != m[:-1]
    dh = m[:, 1:] != m[:, :-1]
    b[1:] |= dv
    b[:-1] |= dv
    b[:, 1:] |= dh
    b[:, :-1] |= dh
    return b


def boundary_fscore(mask: np.ndarray, true_mask: np.ndarray, *, tol: float = 2) -> float:
    r"""Boundary F-score of a focus map against the true one, with a distance tolerance.

    Boundary pixels are those with a 4-neighbour of the other label (both sides of each
    edge; the image border is not an edge). Precision :math:`P` is the fraction of the
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
    bm, bt = _boundary(m), _boundary(t)
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
