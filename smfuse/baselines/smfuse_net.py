"""SMFuse itself behind the baseline interface: the authors' weights and ours.

Each entry takes its model from :func:`smfuse.weights.load_model` (the package's one
bounded cache; ``SMFUSE_WEIGHTS_DIR`` names other weights for ``code`` and ``paper``);
``fuse(a, b)`` returns the fused image only (use :func:`smfuse.fuse.fuse` for the mask too).
"""

from __future__ import annotations

import numpy as np

__all__ = ["smfuse_fuser", "authors", "ours_code", "ours_paper"]


def smfuse_fuser(weights: str):
    """A ``fuse(a, b) -> fused`` function for a weights spec (see :mod:`smfuse.weights`).

    The spec is resolved at each call, so a changed ``SMFUSE_WEIGHTS_DIR`` or a
    retrained file is seen.
    """

    def fuse(a: np.ndarray, b: np.ndarray) -> np.ndarray:
        from ..fuse import fuse as _fuse
        from ..weights import load_model

        return _fuse(a, b, load_model(weights)).fused

    fuse.__name__ = f"smfuse[{weights}]"
    return fuse


def authors(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SMFuse with the authors' released epoch-617 weights (needs the real data folder)."""
    return smfuse_fuser("official")(a, b)


def ours_code(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SMFuse with our weights trained with the ``code`` loss variant."""
    return smfuse_fuser("code")(a, b)


def ours_paper(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """SMFuse with our weights trained with the ``paper`` loss variant."""
    return smfuse_fuser("paper")(a, b)
