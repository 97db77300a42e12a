r"""Block-wise focus decision by spatial frequency: the classic patch-based rival of a pixel mask.

The image is cut into non-overlapping ``block x block`` blocks; in each, the spatial
frequency (SF) of both grey sources is compared and the whole block is copied from the
source with the larger SF (Li, Kwok & Wang 2001). A block that straddles a focus boundary
holds focused and defocused pixels, yet it is taken whole from one source: the blur at
boundaries that SMFuse's pixel-wise mask is claimed to avoid (claim C10 of the register,
notebook 09).

Spatial frequency of a block :math:`B` of :math:`M \times N` pixels (Eskicioglu & Fisher
1995; Li, Kwok & Wang 2001, Eqs. 1-3):

.. math::

    RF = \sqrt{\tfrac{1}{MN} \sum_{m=1}^{M} \sum_{n=2}^{N} (B_{m,n} - B_{m,n-1})^2},\quad
    CF = \sqrt{\tfrac{1}{MN} \sum_{m=2}^{M} \sum_{n=1}^{N} (B_{m,n} - B_{m-1,n})^2},\quad
    SF = \sqrt{RF^2 + CF^2}

Departures from Li, Kwok & Wang (2001): no averaging of the two blocks where their SFs
differ by less than a threshold and no consistency verification of the block decisions
(a majority filter), so that the decision is the plain block-wise rule; blocks at the
right and bottom edges are as large as the image leaves them. Ties (equal SF, e.g. flat
blocks) take the first source, as ``F2 > F1`` does in :func:`smfuse.method.guided_block.initial_mask`.

Registered as ``blockwise_sf`` (16 x 16 blocks) in :mod:`smfuse.evaluation.methods`, in the family
``probe``; any block size: :func:`smfuse.evaluation.methods.blockwise_method`.

References
----------
S. Li, J. T. Kwok, Y. Wang, "Combination of images with diverse focuses using the spatial
frequency", Information Fusion 2(3) (2001) 169-176. doi:10.1016/S1566-2535(01)00038-0

S. Li, J. T. Kwok, Y. Wang, "Multifocus image fusion using artificial neural networks",
Pattern Recognition Letters 23(8) (2002) 985-997. doi:10.1016/S0167-8655(02)00029-6

A. M. Eskicioglu, P. S. Fisher, "Image quality measures and their performance", IEEE
Trans. Communications 43(12) (1995) 2959-2965. doi:10.1109/26.477498
"""

from __future__ import annotations

import numpy as np

from smfuse.evaluation.baselines._common import prepare
from smfuse.io import grey_unit

__all__ = ["block_spatial_frequency", "block_decision", "fuse_with_mask", "fuse", "BLOCK_SIZES"]

#: The block sizes the register's claim C10 compares (the best of them per data set).
BLOCK_SIZES = (8, 16, 32)


def _check_block(block) -> int:
    if isinstance(block, bool) or not isinstance(block, (int, np.integer)) or block < 2:
        raise ValueError(f"block must be an integer side of at least 2 pixels, got {block!r}")
    return int(block)


def block_spatial_frequency(image: np.ndarray, block: int) -> np.ndarray:
    """Spatial frequency of each non-overlapping ``block x block`` block of a grey image.

    Parameters
    ----------
    image : (H, W) ndarray
        Grey image, float (any scale: SF scales with it).
    block : int
        Block side in pixels, >= 2. Edge blocks are as large as the image leaves them.

    Returns
    -------
    (ceil(H / block), ceil(W / block)) float64 ndarray
        SF of each block (Eqs. 1-3 of Li, Kwok & Wang 2001), differences taken inside the block only.
    """
    block = _check_block(block)
    x = np.asarray(image, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"image must be a grey (H, W) array, got shape {x.shape}")
    h, w = x.shape
    by, bx = -(-h // block), -(-w // block)
    # squared horizontal / vertical differences, zero where the pair of pixels crosses a block edge
    dh = np.zeros_like(x)
    dh[:, 1:] = (x[:, 1:] - x[:, :-1]) ** 2
    dh[:, ::block] = 0.0
    dv = np.zeros_like(x)
    dv[1:, :] = (x[1:, :] - x[:-1, :]) ** 2
    dv[::block, :] = 0.0

    def block_sum(a: np.ndarray) -> np.ndarray:
        padded = np.zeros((by * block, bx * block))
        padded[:h, :w] = a
        return padded.reshape(by, block, bx, block).sum(axis=(1, 3))

    area = block_sum(np.ones_like(x))  # M N of each block (smaller at the right and bottom edges)
    rf2 = block_sum(dh) / area  # Eq. (1), squared
    cf2 = block_sum(dv) / area  # Eq. (2), squared
    return np.sqrt(rf2 + cf2)  # Eq. (3)


def block_decision(g1: np.ndarray, g2: np.ndarray, block: int) -> np.ndarray:
    """The block-wise decision: True on every pixel of a block where ``SF(g2) > SF(g1)``.

    Parameters
    ----------
    g1, g2 : (H, W) ndarray
        Grey sources, same size.
    block : int
        Block side in pixels.

    Returns
    -------
    (H, W) bool ndarray
        True where the second source is taken.
    """
    g1, g2 = np.asarray(g1), np.asarray(g2)
    if g1.shape != g2.shape:
        raise ValueError(f"sources differ in size: {g1.shape} and {g2.shape}")
    take_b = block_spatial_frequency(g2, block) > block_spatial_frequency(g1, block)
    h, w = g1.shape
    return np.repeat(np.repeat(take_b, block, axis=0), block, axis=1)[:h, :w]


def fuse_with_mask(a: np.ndarray, b: np.ndarray, *, block: int = 16,
                   data_range: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fuse two sources block by block; return the fused image and the decision mask.

    As :func:`fuse`, plus the ``(H, W)`` bool mask (True where ``b`` was taken).
    """
    block = _check_block(block)
    prepare(a, b, data_range)
    a, b = np.asarray(a), np.asarray(b)
    mask = block_decision(grey_unit(a, role="the first source", data_range=data_range),
                          grey_unit(b, role="the second source", data_range=data_range), block)
    return np.where(mask[..., None] if a.ndim == 3 else mask, b, a), mask


def fuse(a: np.ndarray, b: np.ndarray, *, block: int = 16, data_range: float | None = None) -> np.ndarray:
    """Fuse two sources by the block-wise spatial-frequency decision.

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) ndarray
        Registered sources of the same shape and dtype (``uint8``, ``uint16``, or float in
        [0, 1]); the decision is made on their grey images (:func:`smfuse.io.grey_unit`) and
        applied to every channel.
    block : int
        Block side in pixels (the register compares 8, 16 and 32).
    data_range : float, optional
        White level of float sources (e.g. 255).

    Returns
    -------
    fused : ndarray
        Same shape and dtype; every pixel is a pixel of ``a`` or of ``b``, and every block
        comes whole from one of them.

    Raises
    ------
    ValueError
        If ``block`` is not an integer >= 2, or the sources are refused by
        :func:`smfuse.io.check_pair`.

    Examples
    --------
    >>> import numpy as np
    >>> from smfuse.evaluation.baselines.blockwise import fuse
    >>> rng = np.random.default_rng(0)
    >>> sharp = rng.integers(0, 256, (32, 32), dtype=np.uint8)
    >>> flat = np.full((32, 32), 128, dtype=np.uint8)
    >>> bool((fuse(flat, sharp, block=8) == sharp).all())
    True
    """
    return fuse_with_mask(a, b, block=block, data_range=data_range)[0]
