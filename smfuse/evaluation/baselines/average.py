"""Averaging fusion: the pixelwise mean of the two sources.

The floor every fusion method must clear: it keeps all the information of both sources
and halves the contrast of the in-focus detail of each.
"""

from __future__ import annotations

import numpy as np

from smfuse.evaluation.baselines._common import finish, prepare

__all__ = ["fuse"]


def fuse(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> np.ndarray:
    """Fuse two sources by their pixelwise mean.

    Parameters
    ----------
    a, b : (H, W) or (H, W, 3) ndarray
        Registered sources of the same shape and dtype (``uint8``, ``uint16``, or float
        in [0, 1]).
    data_range : float, optional
        White level of float sources (e.g. 255); the result is then on the same scale.

    Returns
    -------
    fused : ndarray
        ``(a + b) / 2``, same shape and dtype as the sources (integers rounded half away
        from zero).

    Raises
    ------
    ValueError
        If the sources differ in shape or dtype, hold NaN or infinity, or a float source
        leaves [0, 1].

    Examples
    --------
    >>> import numpy as np
    >>> from smfuse.evaluation.baselines.average import fuse
    >>> a = np.full((4, 4), 10, np.uint8)
    >>> b = np.full((4, 4), 21, np.uint8)
    >>> int(fuse(a, b)[0, 0])  # 15.5 rounds half away from zero
    16
    """
    a01, b01, dtype = prepare(a, b, data_range)
    return finish(0.5 * (a01 + b01), dtype, data_range)
