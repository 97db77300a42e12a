"""Methods scored where the paper's claims about decision maps say they differ: away from and near focus boundaries, and on small regions.

Three of the paper's claims (Sec. I, contribution 4) are about *where* a fused image is
right, so each is scored on a region of the image defined by the true focus map ``T`` (True
where the second source is sharp) and the distance ``d`` of each pixel from its boundary
(:func:`smfuse.evaluation.metrics.boundary_distance`, in pixels, to the nearest pixel of the
other label):

- **colour in focused regions** (claim C9, chromatic aberration): the mean CIELAB
  Delta-E (CIE76) against the all-in-focus truth over the pixels with ``d > band``
  (:func:`smfuse.evaluation.metrics.delta_e_cie76`), colour pairs only;
- **the boundary band** (claim C10, blur from patch decisions): PSNR against the truth over
  the pixels with ``d <= band`` (:func:`smfuse.evaluation.metrics.psnr` with ``where``); a
  pair whose map holds one label only has no band (NaN);
- **small regions** (claim C11): the share of each true region's pixels taken from its
  focused source (:func:`smfuse.evaluation.metrics.region_recall`), for pairs whose regions
  are labelled (:func:`smfuse.data.small_regions.small_region_pair`).

``band = 8`` px (:data:`BAND`) for both: wider than the 9x9 receptive field's reach
(4 px) and the guided filter's radius (5 px), so the band holds every pixel whose decision
can see the boundary, and the focused regions hold none.

Each function runs the methods it is given over the pairs and returns a long table, one row
per method, seed and pair (with the pair's ``cluster``, its base image), the shape
:func:`smfuse.reproduce.effects.paired_effect` takes.
"""

from __future__ import annotations

from typing import Callable, Iterable

import numpy as np
import pandas as pd

from smfuse.data.sets import Pair, base_images
from smfuse.evaluation.metrics import boundary_distance, delta_e_cie76, psnr, region_recall

__all__ = ["BAND", "Subject", "region_scores", "score_regions", "disc_recalls"]

#: Half-width of the boundary band, and the least distance of a "focused region" pixel from the boundary (px).
BAND = 8

#: One scored subject: ``(method, seed, fn)``; ``seed`` is None for a fixed subject (a method, the
#: released weights) and the training seed for one of our retrains; ``fn(a, b)`` returns a
#: :class:`smfuse.evaluation.methods.Fused` (or anything with ``fused`` and ``mask``).
Subject = tuple


def region_scores(fused: np.ndarray, truth: np.ndarray, true_mask: np.ndarray, *, band: int = BAND,
                  distance: np.ndarray | None = None) -> dict:
    """Delta-E in the focused regions and PSNR in the boundary band of one fused image.

    Parameters
    ----------
    fused, truth : (H, W) or (H, W, 3) ndarray
        The fused image and the all-in-focus truth.
    true_mask : (H, W) bool ndarray
        The true focus map.
    band : int
        Half-width of the band in pixels.
    distance : (H, W) ndarray, optional
        ``boundary_distance(true_mask)``, if already computed.

    Returns
    -------
    dict
        ``delta_e`` (NaN for grey images, or when no pixel lies more than ``band`` px from the
        boundary), ``band_psnr`` (NaN when the map has no boundary; ``inf`` when the band is
        exact), ``band_pixels``.
    """
    d = boundary_distance(true_mask) if distance is None else distance
    inner, near = d > band, d <= band
    colour = np.ndim(fused) == 3
    return {"delta_e": delta_e_cie76(fused, truth, where=inner) if colour and inner.any() else np.nan,
            "band_psnr": psnr(fused, truth, where=near) if near.any() else np.nan,
            "band_pixels": int(near.sum())}


def _rows(pairs: list[Pair], subjects: Iterable[Subject], score: Callable, set_name: str,
          prepare: Callable = lambda k, pair: None) -> pd.DataFrame:
    """Run every subject on every pair and score it: rows by subject, then pair.

    The pairs are the outer loop, so that ``prepare(k, pair)`` (what every subject's score of
    pair ``k`` shares, e.g. its distance map) runs once per pair.
    """
    subjects = list(subjects)
    rows: list[list[dict]] = [[] for _ in subjects]
    for k, (pair, cluster) in enumerate(zip(pairs, base_images(pairs))):
        ready = prepare(k, pair)
        for i, (method, seed, fn) in enumerate(subjects):
            for extra in score(pair, fn(pair.a, pair.b), ready):
                rows[i].append({"set": set_name, "pair": pair.name, "cluster": cluster, "method": method,
                                "seed": np.nan if seed is None else int(seed), **extra})
    return pd.DataFrame([r for block in rows for r in block])


def score_regions(pairs: list[Pair], subjects: Iterable[Subject], *, true_masks: list[np.ndarray] | None = None,
                  set_name: str = "", band: int = BAND) -> pd.DataFrame:
    """:func:`region_scores` of every subject on every pair, as a long table.

    Parameters
    ----------
    pairs : list of Pair
        Pairs with their all-in-focus ``truth``.
    subjects : iterable of (method, seed, fn)
        See :data:`Subject`.
    true_masks : list of (H, W) bool ndarrays, optional
        The true focus map of each pair; default each pair's ``mask`` (for ``nyud100_gt``,
        which has none, :func:`smfuse.data.focus_maps.focus_map_from_truth`).
    set_name : str
        The ``set`` column.
    band : int
        Half-width of the band in pixels.

    Returns
    -------
    DataFrame
        Columns ``set, pair, cluster, method, seed, delta_e, band_psnr, band_pixels``.
    """
    if any(p.truth is None for p in pairs):
        raise ValueError("every pair needs its all-in-focus truth (pair.truth) to be scored against it")
    masks = [p.mask for p in pairs] if true_masks is None else list(true_masks)
    if len(masks) != len(pairs) or any(m is None for m in masks):
        raise ValueError("give one true focus map per pair (true_masks=), e.g. focus_map_from_truth(a, b, truth)")
    return _rows(pairs, subjects,
                 lambda p, out, ready: [region_scores(out.fused, p.truth, ready[0], band=band, distance=ready[1])],
                 set_name, prepare=lambda k, p: (masks[k], boundary_distance(masks[k])))


def disc_recalls(pairs: list[Pair], subjects: Iterable[Subject], *, set_name: str = "") -> pd.DataFrame:
    """The recall of each true region (disc) by each subject's mask, as a long table.

    Parameters
    ----------
    pairs : list of Pair
        Pairs with ``mask`` and ``meta["regions"]`` / ``meta["radii"]``
        (:func:`smfuse.data.small_regions.small_region_pair`).
    subjects : iterable of (method, seed, fn)
        Methods that return their mask (see :data:`Subject`).

    Returns
    -------
    DataFrame
        Columns ``set, pair, cluster, method, seed, disc, radius, recall``: one row per disc.
    """
    def score(p: Pair, out, ready) -> list[dict]:
        if out.mask is None:
            raise ValueError("disc_recalls needs methods that return their decision mask")
        rec = region_recall(out.mask, p.mask, p.meta["regions"])
        return [{"disc": k + 1, "radius": r, "recall": float(v)} for k, (r, v) in enumerate(zip(p.meta["radii"], rec))]

    if any("regions" not in p.meta or p.mask is None for p in pairs):
        raise ValueError("every pair needs its true mask and labelled regions (smfuse.data.small_regions)")
    return _rows(pairs, subjects, score, set_name)
