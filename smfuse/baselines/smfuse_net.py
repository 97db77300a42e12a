"""SMFuse itself behind the baseline interface: the authors' weights and ours.

Each entry loads its weights on first use and keeps them; ``fuse(a, b)`` returns the
fused image only (use :func:`smfuse.fuse.fuse` for the mask too).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

__all__ = ["smfuse_fuser", "authors", "ours_code", "ours_paper"]


@lru_cache(maxsize=8)
def _model(weights: str):
    from ..fuse import load_model

    return load_model(weights)


def smfuse_fuser(weights: str):
    """A ``fuse(a, b) -> fused`` function for a weights spec (see :func:`smfuse.fuse.load_model`)."""

    def fuse(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> np.ndarray:
        from ..fuse import fuse as _fuse
        from ..io import check_pair

        check_pair(a, b, data_range=data_range)  # before loading any weights
        return _fuse(a, b, _model(weights), data_range=data_range).fused

    fuse.__name__ = f"smfuse[{weights}]"
    return fuse


def authors(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> np.ndarray:
    """SMFuse with the authors' released epoch-617 weights (needs the real data folder)."""
    return smfuse_fuser("official")(a, b, data_range=data_range)


def ours_code(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> np.ndarray:
    """SMFuse with our weights trained with the ``code`` loss variant."""
    from ..fuse import shipped_weights

    return smfuse_fuser(str(shipped_weights("code")))(a, b, data_range=data_range)


def ours_paper(a: np.ndarray, b: np.ndarray, *, data_range: float | None = None) -> np.ndarray:
    """SMFuse with our weights trained with the ``paper`` loss variant."""
    from ..fuse import shipped_weights

    return smfuse_fuser(str(shipped_weights("paper")))(a, b, data_range=data_range)
