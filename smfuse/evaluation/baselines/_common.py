"""Shared input and output handling of the baselines.

Every baseline takes two same-shape sources in their own dtype and returns the fused
image in that dtype. The work is done on float64 in [0, 1]; the result is rounded
(half away from zero, as MATLAB's ``uint8``/``uint16`` conversions do) and clipped,
never stretched.
"""

from __future__ import annotations

import numpy as np

from smfuse.io import as_image, check_data_range, check_pair, round_half_away

__all__ = ["prepare", "finish"]


def prepare(a: np.ndarray, b: np.ndarray, data_range: float | None = None) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    """Check a source pair (the input contract) and return both as float64 in [0, 1], with the output dtype.

    Parameters
    ----------
    a, b : ndarray
        The sources: uint8, uint16, or float in [0, 1] (in [0, ``data_range``] if given).
    data_range : float, optional
        White level of float sources.

    Raises
    ------
    TypeError, ValueError
        If :func:`smfuse.io.check_pair` refuses the pair (wrong type, shape, pixel type,
        NaN, or a float source outside its range: the message names the fix).
    """
    a, b = check_pair(a, b, data_range=check_data_range(data_range))
    return (as_image(a, role="the first source", data_range=data_range),
            as_image(b, role="the second source", data_range=data_range), a.dtype)


def finish(fused: np.ndarray, dtype: np.dtype, data_range: float | None = None) -> np.ndarray:
    """A fused image in [0, 1] (float64) back to ``dtype``: clipped and, for integers, rounded.

    Float results are scaled back to [0, ``data_range``] when one was given.
    """
    assert np.isfinite(fused).all(), "a baseline produced NaN or infinity"
    dtype = np.dtype(dtype)
    fused = np.clip(fused, 0.0, 1.0)
    if dtype.kind == "f":
        return (fused * data_range if data_range is not None else fused).astype(dtype)
    top = float(np.iinfo(dtype).max)
    return np.clip(round_half_away(fused * top), 0, top).astype(dtype)
