"""What notebook 09 (the paper's untested claims) reads off the study's supervision arms and its score tables.

Claim C5 of the register ("the guided block speeds up the convergence of binary-mask
generation") is read from the logs of the study's supervision arms
(:data:`smfuse.reproduce.study.SUPERVISION_ARMS`): arm d supervised by MI (``label-mi``) and
by the raw subtraction-map decision ``S2 > S1`` (``label-s``), same seeds, same schedule,
each evaluated every 50 steps over the first half of its schedule with the QAB/F of every
held-out pair's fused image in its log. :func:`supervision_logs` gathers those logs into one
long table; :func:`early_quality` gives each run's mean over the logged evaluations of each
held-out pair's QAB/F (the area under the curve over the first half, divided by its length),
the number the register compares between the arms.

:func:`best_method` picks the reference of a claim that compares against "the better" or "the
best" of several methods on a set (the transform-domain baseline of C9, the block size of C10,
the fastest learned peer of C13) by its mean over that set, as the register says.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["supervision_logs", "early_quality", "best_method"]


def supervision_logs(results: str | os.PathLike | None = None, arms=None, metric: str = "qabf") -> pd.DataFrame:
    """The held-out scores logged by the supervision arms' runs, one row per run, evaluation and held-out pair.

    Parameters
    ----------
    results : path, optional
        The study's results folder (default :data:`smfuse.reproduce.study.RESULTS_DIR`).
    arms : iterable of str, optional
        Default the supervision arms (:data:`smfuse.reproduce.study.SUPERVISION_ARMS`).
    metric : str
        The held-out metric logged (``qabf``: columns ``holdout_qabf_pairs``).

    Returns
    -------
    DataFrame
        Columns ``arm, seed, step, steps, pair, value``: ``steps`` is the run's schedule length
        (its configuration's ``steps``), ``pair`` the held-out pair's position (``held-out 1``
        ...); empty (with these columns) when no run has finished.
    """
    from smfuse.reproduce.study import RESULTS_DIR, SUPERVISION_ARMS, finished_runs

    col = f"holdout_{metric}_pairs"
    rows = []
    runs = finished_runs(RESULTS_DIR if results is None else results, list(arms or SUPERVISION_ARMS))
    for (arm, seed), folder in sorted(runs.items()):
        steps = json.loads((Path(folder) / "config.json").read_text())["steps"]
        with open(Path(folder) / "log.csv", newline="") as f:
            for r in csv.DictReader(f):
                if r.get(col):
                    for k, v in enumerate(r[col].split(), start=1):
                        rows.append({"arm": arm, "seed": seed, "step": int(r["step"]), "steps": int(steps),
                                     "pair": f"held-out {k}", "value": float(v)})
    return pd.DataFrame(rows, columns=["arm", "seed", "step", "steps", "pair", "value"])


def early_quality(logs: pd.DataFrame, *, fraction: float = 0.5) -> pd.DataFrame:
    """Each run's mean score over its logged evaluations in the first ``fraction`` of its schedule, per pair.

    Parameters
    ----------
    logs : DataFrame
        :func:`supervision_logs`.
    fraction : float
        The part of the schedule read (0.5: the register's "first half"), in (0, 1].

    Returns
    -------
    DataFrame
        Columns ``arm, seed, pair, early, evaluations`` (the number of evaluations averaged),
        the shape :func:`smfuse.reproduce.effects.paired_effect` takes.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    cols = ["arm", "seed", "pair", "early", "evaluations"]
    if logs.empty:
        return pd.DataFrame(columns=cols)
    early = logs[logs.step <= fraction * logs.steps]
    out = early.groupby(["arm", "seed", "pair"], sort=False).value.agg(["mean", "size"]).reset_index()
    return out.rename(columns={"mean": "early", "size": "evaluations"})[cols]


def best_method(table: pd.DataFrame, candidates, col: str, *, higher: bool = True, by: str = "method") -> str | None:
    """The candidate with the best mean of ``col`` over the table's rows (its pairs, and seeds if any).

    Parameters
    ----------
    table : DataFrame
        Long scores with columns ``by`` and ``col``.
    candidates : iterable of str
        The subjects to choose among (those absent from the table are skipped).
    col : str
        The score.
    higher : bool
        Whether higher is better (PSNR, MP/s) or lower (Delta-E).

    Returns
    -------
    str or None
        None when no candidate has a finite score.

    Examples
    --------
    >>> t = pd.DataFrame({"method": ["dwt", "dwt", "laplacian", "laplacian"], "delta_e": [1.0, 3.0, 1.5, 1.5]})
    >>> best_method(t, ["dwt", "laplacian"], "delta_e", higher=False)
    'laplacian'
    """
    vals = pd.to_numeric(table[col], errors="coerce")
    means = {c: float(vals[table[by] == c].mean()) for c in candidates if (table[by] == c).any()}
    means = {c: v for c, v in means.items() if np.isfinite(v)}
    if not means:
        return None
    return (max if higher else min)(means, key=means.get)
