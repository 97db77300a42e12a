"""Shared pieces of the metrics: the input convention, normalize1, histograms, local moments.

Every public metric checks its inputs once here (:func:`triple`, :func:`single`,
:func:`pair`) and then works on grey ``float64`` images on the 0..255 scale (colour
converted with MATLAB ``rgb2gray``; see :mod:`smfuse.evaluation.metrics` for the convention).
"""

from __future__ import annotations

import numpy as np

from smfuse.io import grey255
from smfuse.io import round_half_away

MIN_SIDE = 11  # the SSIM window


# ----------------------------------------------------------------------------- input checks

def check_same(images: dict, min_side: int = MIN_SIDE) -> None:
    """Refuse images of different kinds (grey / colour) or sizes, or smaller than ``min_side``."""
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


A, B, F, T = "the first source", "the second source", "the fused image", "the ground truth"


def triple(a, b, f, data_range: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Sources and fused image, each through the input contract, then checked together."""
    ga, gb, gf = grey255(a, role=A, data_range=data_range), grey255(b, role=B, data_range=data_range), grey255(f, role=F, data_range=data_range)
    check_same({A: a, B: b, F: f})
    return ga, gb, gf


def single(f, name: str = F, data_range: float | None = None) -> np.ndarray:
    """One image (a no-reference statistic's input), at least 2x2, in the metric convention."""
    g = grey255(f, role=name, data_range=data_range)
    if min(g.shape) < 2:
        raise ValueError(f"{name} is {g.shape}; need at least 2x2 pixels")
    return g


def pair(f, truth, min_side: int = MIN_SIDE, data_range: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """A fused image and its truth, each through the input contract, then checked together."""
    gf, gt = grey255(f, role=F, data_range=data_range), grey255(truth, role=T, data_range=data_range)
    check_same({F: f, T: truth}, min_side)
    return gf, gt


# ----------------------------------------------------------------------------- histograms

def normalize1(x: np.ndarray) -> np.ndarray:
    """Zheng Liu's ``normalize1``: stretch to 0..255 and round half away from zero."""
    hi, lo = float(x.max()), float(x.min())
    if hi == 0 and lo == 0:
        return x.copy()
    if hi == lo:  # MATLAB: 0/0 = NaN; a constant image carries no information
        return np.zeros_like(x)
    v = (x - lo) / (hi - lo) * 255
    return np.floor(v + 0.5)  # MATLAB round; v >= 0


def levels(x: np.ndarray) -> np.ndarray:
    """Grey levels 0..255 as integers (MATLAB rounding of non-integer floats)."""
    xi = x.astype(np.intp)
    if np.array_equal(xi, x):
        return xi
    return np.clip(round_half_away(x), 0, 255).astype(np.intp)


def joint_prob(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """256x256 joint probability of two level images (rows: x, columns: y)."""
    idx = levels(x).ravel() * 256 + levels(y).ravel()
    return np.bincount(idx, minlength=65536).reshape(256, 256) / idx.size


def shannon_bits(p: np.ndarray) -> float:
    """Shannon entropy in bits of a probability array, 0 log 0 = 0."""
    p = p[p > 0]
    return float(-np.sum(p * np.log2(p)))


def entropies(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """H(x), H(y), H(x, y) in bits from the 256-bin joint histogram."""
    p = joint_prob(x, y)
    return shannon_bits(p.sum(axis=1)), shannon_bits(p.sum(axis=0)), shannon_bits(p)
