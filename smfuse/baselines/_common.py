"""Shared input and output handling of the baselines.

Every baseline takes two same-shape sources in their own dtype and returns the fused
image in that dtype. The work is done on float64 in [0, 1]; the result is rounded
(half away from zero, as MATLAB's ``uint8``/``uint16`` conversions do) and clipped,
never stretched.
"""

from __future__ import annotations

import numpy as np

from ..io import check_pair, round_half_away, to_unit

__all__ = ["prepare", "finish"]


def prepare(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.dtype]:
    """Check a source pair and return both as float64 in [0, 1], with the output dtype.

    Raises
    ------
    ValueError
        If :func:`smfuse.io.check_pair` refuses the pair, if the dtype is not
        ``uint8``, ``uint16`` or float, or if a float source leaves [0, 1].
    """
    a, b = np.asarray(a), np.asarray(b)
    check_pair(a, b)
    if a.dtype not in (np.uint8, np.uint16) and a.dtype.kind != "f":
        raise ValueError(
            f"sources have pixel type {a.dtype}; expected uint8, uint16 or float in [0, 1]"
        )
    if a.dtype.kind == "f":
        for name, x in (("a", a), ("b", b)):
            lo, hi = float(x.min()), float(x.max())
            if lo < 0.0 or hi > 1.0:
                raise ValueError(
                    f"float source {name} spans [{lo:g}, {hi:g}]; float images must lie in "
                    "[0, 1] (divide 0..255 floats by 255, or pass the uint8 image)"
                )
    return to_unit(a), to_unit(b), a.dtype


def finish(fused: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A fused image in [0, 1] (float64) back to ``dtype``: clipped and, for integers, rounded."""
    assert np.isfinite(fused).all(), "a baseline produced NaN or infinity"
    dtype = np.dtype(dtype)
    fused = np.clip(fused, 0.0, 1.0)
    if dtype.kind == "f":
        return fused.astype(dtype)
    top = float(np.iinfo(dtype).max)
    return np.clip(round_half_away(fused * top), 0, top).astype(dtype)
