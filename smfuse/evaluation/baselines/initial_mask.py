"""The guided block's initial mask (the paper's MI) used directly as the fusion decision.

SMFuse's mask generator is trained to improve on its initial mask; fusing with that mask
itself shows what the network adds. ``mask = initial_mask(grey(a), grey(b))`` is True
where the second source is sharper (:func:`smfuse.method.guided_block.initial_mask`); the fused
image copies, on every channel, each pixel from the source the mask picks. No
morphology, no smoothing: exactly the mask the authors trained with. Registered as the
method ``initial_mask`` in :mod:`smfuse.evaluation.methods`.
"""

from __future__ import annotations

import numpy as np

from smfuse.method.guided_block import initial_mask
from smfuse.io import grey_unit
from smfuse.evaluation.baselines._common import prepare

__all__ = ["fuse", "fuse_with_mask"]


def fuse_with_mask(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Fuse two sources with their initial mask; return the fused image and the mask.

    As :func:`fuse`, plus the ``(H, W)`` bool mask (True where ``b`` was taken).
    """
    prepare(a, b, data_range)
    a, b = np.asarray(a), np.asarray(b)
    mask = initial_mask(grey_unit(a, role="the first source", data_range=data_range),
                        grey_unit(b, role="the second source", data_range=data_range))
    return np.where(mask[..., None] if a.ndim == 3 else mask, b, a), mask


def fuse(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> np.ndarray:
    """Fuse two sources with their initial mask: ``where(mask, b, a)``.

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) ndarray
        Registered sources of the same shape and dtype (``uint8``, ``uint16``, or float
        in [0, 1]); ``a`` is the first source (the authors' near-focus ``Train_ir``).
    data_range : float, optional
        White level of float sources (e.g. 255).

    Returns
    -------
    fused : ndarray
        Same shape and dtype; every pixel is a pixel of ``a`` or of ``b``.

    Raises
    ------
    ValueError
        If the sources are refused by :func:`smfuse.io.check_pair` or a float source
        leaves [0, 1].

    References
    ----------
    J. Ma, Z. Le, X. Tian, J. Jiang, "SMFuse: Multi-focus image fusion via
    self-supervised mask-optimization", IEEE Trans. Computational Imaging 7, 2021,
    309-320. doi:10.1109/TCI.2021.3063872

    Examples
    --------
    >>> import numpy as np
    >>> from smfuse.evaluation.baselines.initial_mask import fuse
    >>> x = np.random.default_rng(0).integers(0, 256, (32, 32), dtype=np.uint8)
    >>> bool((fuse(x, x) == x).all())
    True
    """
    return fuse_with_mask(a, b, data_range=data_range)[0]
