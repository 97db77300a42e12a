"""Information-theoretic fusion metrics: QMI, QNCIE and plain mutual information.

All three count grey levels in 256-bin (joint) histograms; QMI and QNCIE first apply
Zheng Liu's ``normalize1`` (:func:`smfuse.evaluation.metrics._common.normalize1`).
"""

from __future__ import annotations

import numpy as np

from smfuse.evaluation.metrics._common import entropies, normalize1, triple

__all__ = ["qmi", "qncie", "mutual_information"]


def _qmi(na: np.ndarray, nb: np.ndarray, nf: np.ndarray) -> float:
    total = 0.0
    for ns in (na, nb):
        hs, hf, hsf = entropies(ns, nf)
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
    A, B, F = triple(a, b, f, data_range)
    return _qmi(normalize1(A), normalize1(B), normalize1(F))


def _ncc_grey_levels(x: np.ndarray, y: np.ndarray) -> float:
    """The toolbox's nonlinear correlation coefficient (``NCC.m``): mutual information in
    base-256 logarithms over the 256 grey levels of two ``normalize1``'d images."""
    hx, hy, hxy = entropies(x, y)
    return (hx + hy - hxy) / 8.0


def _qncie(na: np.ndarray, nb: np.ndarray, nf: np.ndarray) -> float:
    n_ab, n_af, n_bf = _ncc_grey_levels(na, nb), _ncc_grey_levels(na, nf), _ncc_grey_levels(nb, nf)
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
    Which NCC: the grey-level one of ``NCC.m`` in Zheng Liu's toolbox (the code behind the
    published tables), i.e. the mutual information of the 256x256 joint histogram of grey
    levels with base-256 logarithms. Wang, Shen and Zhang (2005) define NCC on ranks
    instead: each variable's samples sorted into ``b`` equally filled bins, so that both
    marginal entropies are 1; that rank NCC gives other values and is not implemented
    here. Follows ``metricWang.m`` otherwise. Eigenvalues are clipped at 0 and
    ``0 log 0 = 0`` (MATLAB would return a complex value or NaN there).

    References
    ----------
    Wang, Q., Shen, Y., Zhang, J. Q. "A nonlinear correlation measure for multivariable
    data set." Physica D 200(3-4) (2005) 287-295. doi:10.1016/j.physd.2004.11.001

    Wang, Q., Shen, Y., Jin, J. "Performance evaluation of image fusion techniques." In
    Image Fusion: Algorithms and Applications (T. Stathaki, ed.), Academic Press (2008)
    469-492. doi:10.1016/B978-0-12-372529-5.00017-2
    """
    A, B, F = triple(a, b, f, data_range)
    return _qncie(normalize1(A), normalize1(B), normalize1(F))


def _mutual_info_bits(x: np.ndarray, y: np.ndarray) -> float:
    """MI(X, Y) = H(X) + H(Y) - H(X, Y) in bits, 256-bin joint histogram."""
    hx, hy, hxy = entropies(x, y)
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
    A, B, F = triple(a, b, f, data_range)
    return _mutual_info_bits(A, F) + _mutual_info_bits(B, F)
