"""Paired effects: one score of two subjects, matched by seed and image pair, from a table of scores.

Every statistical claim of the replication is decided on a matrix of paired differences,
``x - y`` per training seed and image pair (:mod:`smfuse.reproduce.claims`). The notebooks
keep their scores in long tables, one row per subject, seed and pair; :func:`paired_effect`
is the one way they turn such a table into that matrix, so that every claim pairs its
numbers the same way: the same seed of both subjects, the same pairs, each pair's cluster
(the base image it was cut from) carried along.

Examples
--------
>>> import pandas as pd
>>> t = pd.DataFrame({"arm": ["d", "d", "f", "f"], "seed": [0, 0, 0, 0], "pair": ["p1", "p2", "p1", "p2"],
...                   "accuracy": [0.98, 0.96, 0.80, 0.70]})
>>> e = paired_effect(t, "d", "f", "accuracy")
>>> e.effects.round(2).tolist()
[[0.18, 0.26]]
>>> e.text()
'0.7500 ± n/a (n=1 seed) -> 0.9700 ± n/a (n=1 seed)'
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from smfuse.reproduce.claims import mean_sd

__all__ = ["PairedEffect", "paired_effect"]


@dataclass(frozen=True)
class PairedEffect:
    """Two subjects' scores, matched by seed and pair, and their differences ``x - y``.

    Attributes
    ----------
    x_scores, y_scores : (S, N) ndarray
        The scores per seed (rows, in ``seeds`` order) and pair (columns, in ``pairs``
        order); ``y_scores`` repeats one row when ``y`` is fixed or a number.
    seeds : list of int
        The seeds of ``x`` (those ``y`` has too, when ``y`` has seeds); empty when ``x`` is a
        fixed subject.
    pairs : list
        The pairs both subjects were scored on: ``(set, pair)`` tuples when the table has a
        ``set`` column, else pair names.
    clusters : list or None
        The cluster label of each pair (the table's ``cluster`` column), for the claims
        rule's ``clusters=``; None without that column.
    y_fixed : bool
        ``y`` had no seeds (a fixed subject, e.g. a baseline) or was a number (a threshold).
    x_fixed : bool
        ``x`` had no seeds: a fixed subject (the released weights, a deterministic method).
    """

    x_scores: np.ndarray
    y_scores: np.ndarray
    seeds: list
    pairs: list
    clusters: list | None
    y_fixed: bool = False
    x_fixed: bool = False

    @property
    def effects(self) -> np.ndarray:
        """``x - y`` as :func:`smfuse.reproduce.claims.decide` takes it: (S, N), or (N,) for a fixed ``x``."""
        d = self.x_scores - self.y_scores
        return d[0] if self.x_fixed else d

    @property
    def x_per_seed(self) -> np.ndarray:
        """``x``'s mean over the pairs, per seed, (S,)."""
        return self.x_scores.mean(axis=1)

    @property
    def y_per_seed(self) -> np.ndarray:
        """``y``'s mean over the pairs, per seed, (S,)."""
        return self.y_scores.mean(axis=1)

    def text(self, digits: int = 4) -> str:
        """``y -> x``: each subject's mean over the pairs, as ``mean ± sd (n=K seeds)`` where it has seeds."""
        y = f"{self.y_per_seed[0]:.{digits}f}" if self.y_fixed else mean_sd(self.y_per_seed, digits)
        x = f"{self.x_per_seed[0]:.{digits}f}" if self.x_fixed else mean_sd(self.x_per_seed, digits)
        return f"{y} -> {x}"


def paired_effect(table, x, y, col: str, sets=None, *, by: str = "arm") -> PairedEffect | None:
    """The paired differences ``x - y`` of score ``col``, seeds x pairs.

    Parameters
    ----------
    table : pandas.DataFrame
        Long scores: one row per subject, seed and pair, with columns ``by`` (the subject),
        ``seed``, ``pair`` and ``col``; optionally ``set`` (the data set of each pair, so that
        one pair name may stand in several sets) and ``cluster`` (the base image of each
        pair).
    x : hashable
        The subject whose scores come first: a value of ``table[by]``, scored at one or more
        seeds, or without seeds (``NaN``: a fixed subject; ``y`` must then be fixed too, or a
        number, and the effects are one per pair).
    y : hashable or float
        The reference: a value of ``table[by]`` with seeds (paired seed by seed with ``x``),
        or one whose rows have no seed (``NaN``: a fixed subject, subtracted from every seed
        of ``x``); or a number (a threshold).
    col : str
        The score.
    sets : iterable of str, optional
        Keep only the rows of these values of ``table["set"]`` (default: every row).
    by : str
        The column naming the subject (``"arm"``; ``"method"`` for a table of methods).

    Returns
    -------
    PairedEffect or None
        None when either subject has no finite score on the chosen sets, or when they share
        no seed or no pair.

    Raises
    ------
    ValueError
        When a column is missing, when ``sets`` is given and the table has no ``set``
        column, or when a subject has two rows for one seed and pair.

    Notes
    -----
    Only the seeds both subjects have and the pairs both were scored on at every one of
    those seeds are kept (a score that is NaN for a seed drops that pair), so the matrix has
    no hole; ``seeds`` and ``pairs`` say what was kept.
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"table must be a pandas DataFrame of scores, got {type(table).__name__}")
    missing = [c for c in (by, "seed", "pair", col) if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks the column(s) {', '.join(missing)}; it needs {by}, seed, pair and {col}")
    keys = ["set", "pair"] if "set" in table.columns else ["pair"]
    rows = table
    if sets is not None:
        if "set" not in table.columns:
            raise ValueError("sets= filters the table's 'set' column, which it does not have; drop sets=")
        rows = table[table["set"].isin(list(sets))]
    rows = rows[np.isfinite(pd.to_numeric(rows[col], errors="coerce").astype(float))]

    def scores(who) -> tuple[pd.DataFrame | None, bool]:
        """Seeds x pair keys of one subject (one row with index None when it has no seeds)."""
        mine = rows[rows[by] == who]
        if mine.empty:
            return None, False
        if mine.duplicated(["seed", *keys]).any():
            raise ValueError(f"{by} {who!r} has two rows for one seed and pair in column {col!r}; "
                             "average them first or say which to keep")
        fixed = bool(mine["seed"].isna().all())
        wide = (mine.assign(seed=-1) if fixed else mine.dropna(subset=["seed"])).pivot(
            index="seed", columns=keys, values=col)
        return wide.astype(float), fixed

    xs, x_fixed = scores(x)
    if xs is None:
        return None
    if isinstance(y, (int, float, np.number)) and not isinstance(y, bool):
        if not math.isfinite(float(y)):
            raise ValueError(f"y as a threshold must be a finite number, got {y}")
        ys, y_fixed = pd.DataFrame([np.full(xs.shape[1], float(y))], columns=xs.columns, index=[-1]), True
    else:
        ys, y_fixed = scores(y)
        if ys is None:
            return None
        if x_fixed and not y_fixed:
            raise ValueError(f"{by} {x!r} has no seeds but {y!r} has: put the subject with seeds first, or compare "
                             "two fixed subjects")
    seeds = sorted(xs.index) if y_fixed else sorted(set(xs.index) & set(ys.index))
    if not seeds:
        return None
    xs = xs.loc[seeds]
    ys = ys if y_fixed else ys.loc[seeds]
    cols = [c for c in xs.columns if c in ys.columns and xs[c].notna().all() and ys[c].notna().all()]
    if not cols:
        return None
    first = {k: i for i, k in enumerate(dict.fromkeys(rows[keys].itertuples(index=False, name=None)))}
    cols.sort(key=lambda c: first[c if isinstance(c, tuple) else (c,)])  # the table's order, whatever pivot does
    xv = xs[cols].to_numpy(dtype=np.float64)
    yv = np.broadcast_to(ys[cols].to_numpy(dtype=np.float64), xv.shape).copy()
    pairs = [tuple(c) if isinstance(c, tuple) else c for c in cols]
    clusters = None
    if "cluster" in table.columns:
        label = rows[rows[by] == x].drop_duplicates(keys).set_index(keys)["cluster"]
        clusters = [label.loc[c] for c in cols]
    return PairedEffect(x_scores=xv, y_scores=yv, seeds=[] if x_fixed else [int(s) for s in seeds], pairs=pairs,
                        clusters=clusters, y_fixed=y_fixed, x_fixed=x_fixed)
