"""Fusion speed of several methods on one pair, timed side by side in one process.

A claim about run time ("SMFuse is faster than the learned peers", claim C13 of the register,
notebook 09) compares numbers that drift with the machine's load. :func:`time_methods` times
the methods in rounds: after one untimed warm-up call each (weights loaded, buffers and thread
pools made), every round times one call of every method, the order rotated from round to
round, so that a change of load during the measurement reaches every method alike and the
runs can be paired by round. Speed is in megapixels of the fused image per second
(``H x W / 1e6`` over the seconds of one call), the unit of ``benchmarks/``.

Examples
--------
>>> import numpy as np
>>> ticks = iter(np.arange(0.0, 100.0, 0.5))        # a fake clock: every call "takes" 0.5 s
>>> x = np.zeros((100, 100), np.uint8)
>>> t = time_methods({"copy": lambda a, b: a}, x, x, runs=2, clock=lambda: next(ticks))
>>> t[["method", "run", "seconds", "mp_per_s"]].values.tolist()
[['copy', 0, 0.5, 0.02], ['copy', 1, 0.5, 0.02]]
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
import pandas as pd

__all__ = ["time_methods"]


def time_methods(methods: dict[str, Callable], a: np.ndarray, b: np.ndarray, *, runs: int = 5, warmup: int = 1,
                 clock: Callable[[], float] = time.perf_counter) -> pd.DataFrame:
    """Time each method fusing ``(a, b)``, ``runs`` times, in rotating order.

    Parameters
    ----------
    methods : dict of str to callable
        ``name -> fn(a, b)`` (e.g. methods of :mod:`smfuse.evaluation.methods`); what a call
        returns is not kept.
    a, b : (H, W) or (H, W, 3) ndarray
        The pair.
    runs : int
        Timed calls of each method (>= 1).
    warmup : int
        Untimed calls of each method first (>= 0).
    clock : callable
        Seconds as a float (``time.perf_counter``; a fake clock in tests).

    Returns
    -------
    DataFrame
        One row per timed call: ``method``, ``run`` (the round, 0-based: calls of one round
        are paired), ``order`` (position within the round), ``seconds``, ``megapixels``
        (``H x W / 1e6``) and ``mp_per_s``.
    """
    if not methods:
        raise ValueError("methods is empty; give at least one name -> fn(a, b)")
    for name, fn in methods.items():
        if not callable(fn):
            raise TypeError(f"method {name!r} is not callable")
    for what, v, least in (("runs", runs, 1), ("warmup", warmup, 0)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < least:
            raise ValueError(f"{what} must be an integer >= {least}, got {v!r}")
    a, b = np.asarray(a), np.asarray(b)
    mp = a.shape[0] * a.shape[1] / 1e6
    names = list(methods)
    for _ in range(warmup):
        for name in names:
            methods[name](a, b)
    rows = []
    for r in range(runs):
        order = names[r % len(names):] + names[:r % len(names)]  # rotate: no method always first
        for k, name in enumerate(order):
            t0 = clock()
            methods[name](a, b)
            seconds = clock() - t0
            rows.append({"method": name, "run": r, "order": k, "seconds": seconds, "megapixels": mp,
                         "mp_per_s": mp / seconds if seconds > 0 else float("inf")})
    rank = {n: i for i, n in enumerate(names)}  # rows in the order the methods were given, then by round
    rows.sort(key=lambda row: (rank[row["method"]], row["run"]))
    return pd.DataFrame(rows)
