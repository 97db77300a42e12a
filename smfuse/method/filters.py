"""Local filters: mean filter, box filter, He's guided filter, Laplacian.

numpy functions take ``(H, W)`` float arrays; :func:`laplacian` is torch on
``(B, C, H, W)`` because the losses differentiate through it.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

__all__ = ["mean_filter", "box_mean", "guided_filter", "laplacian", "LAPLACIAN_KERNEL"]


def _check_2d(x: np.ndarray, name: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (H, W) array, got shape {x.shape}")
    return x


def mean_filter(image: np.ndarray, size: int = 7) -> np.ndarray:
    """Mean (average) filter with replicate borders.

    MATLAB ``imfilter(I, fspecial('average', size), 'replicate')``: the "blur" of the
    guided block's repeated-blur focus measure.

    Parameters
    ----------
    image : (H, W) ndarray
    size : int
        Odd window side; the authors use 7.

    Returns
    -------
    (H, W) float64 ndarray
    """
    image = _check_2d(image, "image")
    if size < 1 or size % 2 == 0:
        raise ValueError(f"size must be a positive odd integer, got {size}")
    return ndimage.uniform_filter(image, size=size, mode="nearest")


def box_mean(image: np.ndarray, r: int) -> np.ndarray:
    """Mean over the (2r+1)x(2r+1) window, counting only pixels inside the image.

    He's MATLAB ``boxfilter(I, r) ./ boxfilter(ones, r)``: at the border the sum is
    divided by the number of in-image pixels, which is neither zero padding nor a
    mirrored border.

    Parameters
    ----------
    image : (H, W) ndarray
    r : int
        Window radius, >= 0.
    """
    image = _check_2d(image, "image")
    if r < 0:
        raise ValueError(f"r must be >= 0, got {r}")
    size = 2 * r + 1
    total = ndimage.uniform_filter(image, size=size, mode="constant", cval=0.0)
    count = ndimage.uniform_filter(np.ones_like(image), size=size, mode="constant", cval=0.0)
    return total / count


def guided_filter(guide: np.ndarray, src: np.ndarray, r: int, eps: float) -> np.ndarray:
    """He's guided filter (grey guide).

    .. math::

        a_k = \\frac{\\operatorname{cov}_k(I, p)}{\\operatorname{var}_k(I) + \\epsilon},\\quad
        b_k = \\bar p_k - a_k \\mu_k,\\quad q_i = \\bar a_i I_i + \\bar b_i

    Parameters
    ----------
    guide : (H, W) ndarray
        Guidance image ``I``, typically in [0, 1].
    src : (H, W) ndarray
        Image to filter, ``p``.
    r : int
        Window radius.
    eps : float
        Regularisation, > 0 (on the scale of ``guide`` squared).

    Returns
    -------
    q : (H, W) float64 ndarray

    References
    ----------
    K. He, J. Sun, X. Tang, "Guided Image Filtering", IEEE TPAMI 35(6), 2013, Alg. 1.
    doi:10.1109/TPAMI.2012.213
    """
    I = _check_2d(guide, "guide")
    p = _check_2d(src, "src")
    if I.shape != p.shape:
        raise ValueError(f"guide and src differ in shape: {I.shape} vs {p.shape}")
    if eps <= 0:
        raise ValueError(f"eps must be > 0, got {eps}")
    mean_I = box_mean(I, r)
    mean_p = box_mean(p, r)
    cov_Ip = box_mean(I * p, r) - mean_I * mean_p
    var_I = box_mean(I * I, r) - mean_I * mean_I
    a = cov_Ip / (var_I + eps)
    b = mean_p - a * mean_I
    return box_mean(a, r) * I + box_mean(b, r)


LAPLACIAN_KERNEL = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]])


def laplacian(x: torch.Tensor) -> torch.Tensor:
    """4-neighbour Laplacian with zero padding, per channel.

    The kernel ``[[0, 1, 0], [1, -4, 1], [0, 1, 0]]`` of the authors' gradient loss
    (not Sobel).

    Parameters
    ----------
    x : (B, C, H, W) tensor

    Returns
    -------
    (B, C, H, W) tensor
    """
    if x.ndim != 4:
        raise ValueError(f"laplacian expects a (B, C, H, W) tensor, got shape {tuple(x.shape)}")
    c = x.shape[1]
    k = LAPLACIAN_KERNEL.to(dtype=x.dtype, device=x.device).expand(c, 1, 3, 3)
    return F.conv2d(x, k, padding=1, groups=c)
