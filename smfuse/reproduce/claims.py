"""Claims and their verdicts: a rule fixed in advance, applied to paired data.

A replication states each claim of the paper with its direction (or threshold) before
measuring, then lets one rule decide: the claim is *supported* when the 95 % interval
of the effect lies wholly on the claimed side, *refuted* when it lies wholly on the
other side, and *inconclusive* when it straddles the boundary. Where the data or the
weights are absent the verdict is *not measured*, with the reason and how to get it,
instead of the row vanishing.

The effect is a mean over paired measurements: ``ours - reference`` per image pair
(and per training seed, for trained models), or ``value - threshold`` for a claim of
the form "at least t". Its interval is a percentile bootstrap that resamples image
pairs and, when there are several, seeds, so both sources of variation widen it
(Efron & Tibshirani, *An Introduction to the Bootstrap*, 1993, ch. 13; the two-stage
resampling of Davison & Hinkley, *Bootstrap Methods and their Application*, 1997,
sec. 3.8).

Examples
--------
>>> import numpy as np
>>> d = np.array([0.010, 0.012, 0.008, 0.011, 0.009])   # ours - baseline, 5 pairs
>>> decide(d, direction="greater").verdict
'supported'
>>> decide(-d, direction="greater").verdict
'refuted'
>>> decide(np.array([0.01, -0.01, 0.02, -0.02]), direction="greater").verdict
'inconclusive'
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["VERDICTS", "Verdict", "decide", "decide_equivalence", "not_measured", "bootstrap_interval", "mean_sd"]

VERDICTS = ("supported", "refuted", "inconclusive", "not measured")
DIRECTIONS = ("greater", "less")
N_BOOT = 10_000
LEVEL = 0.95


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim's rule.

    Attributes
    ----------
    verdict : str
        One of :data:`VERDICTS`.
    estimate : float
        Mean effect (NaN when not measured).
    low, high : float
        The bootstrap interval of the mean effect.
    n_pairs, n_seeds : int
        How much paired data the rule saw.
    rule : str
        The rule in words, e.g. ``"95% CI of mean(ours - MI) > 0"``.
    reason : str
        For ``not measured``: why, and how to measure it.
    """

    verdict: str
    estimate: float = float("nan")
    low: float = float("nan")
    high: float = float("nan")
    n_pairs: int = 0
    n_seeds: int = 0
    rule: str = ""
    reason: str = ""

    def text(self, digits: int = 4) -> str:
        """One cell of the summary table, e.g. ``supported (+0.0012 [0.0004, 0.0020]; 20 pairs x 3 seeds)``."""
        if self.verdict == "not measured":
            return f"not measured ({self.reason})" if self.reason else "not measured"
        seeds = f" x {self.n_seeds} seeds" if self.n_seeds > 1 else ""
        return (f"{self.verdict} ({self.estimate:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}]; "
                f"{self.n_pairs} pairs{seeds})")


def _as_matrix(effects) -> np.ndarray:
    if isinstance(effects, (list, tuple)) and effects and np.ndim(effects[0]) == 1:
        lengths = {len(e) for e in effects}
        if len(lengths) != 1:
            raise ValueError(f"every seed needs the same image pairs, got lengths {sorted(lengths)}")
    a = np.asarray(effects, dtype=np.float64)
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"effects must be (pairs,) or (seeds, pairs) numbers, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("effects contain NaN or infinite values; drop the pairs that were not measured")
    return a


def bootstrap_interval(effects, *, level: float = LEVEL, n_boot: int = N_BOOT,
                       seed: int = 0) -> tuple[float, float, float]:
    """Mean effect and its percentile-bootstrap interval.

    Parameters
    ----------
    effects : (N,) or (K, N) array_like
        Paired effects over N image pairs (and K seeds).
    level : float
        Coverage of the interval (0.95).
    n_boot : int
        Bootstrap resamples.
    seed : int
        Seed of the local generator (the interval is reproducible).

    Returns
    -------
    mean, low, high : float
        ``mean`` is the plain mean over seeds and pairs. Each resample draws K seeds and
        N pairs with replacement (two-stage, so seed-to-seed variation counts); with one
        pair and one seed the interval is the point itself.
    """
    a = _as_matrix(effects)
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    k, n = a.shape
    rng = np.random.default_rng(seed)
    si = rng.integers(0, k, size=(n_boot, k)) if k > 1 else np.zeros((n_boot, 1), dtype=np.int64)
    pj = rng.integers(0, n, size=(n_boot, n))
    # mean over the drawn seeds of the mean over the drawn pairs
    boots = np.stack([a[si[:, s]][np.arange(n_boot)[:, None], pj].mean(1) for s in range(si.shape[1])], 1).mean(1)
    lo, hi = np.quantile(boots, [(1 - level) / 2, (1 + level) / 2])
    return float(a.mean()), float(lo), float(hi)


def decide(effects, *, direction: str, margin: float = 0.0, rule: str = "", level: float = LEVEL,
           n_boot: int = N_BOOT, seed: int = 0) -> Verdict:
    """Apply the claims rule to paired effects.

    Parameters
    ----------
    effects : (N,) or (K, N) array_like
        ``ours - reference`` per image pair (and seed), or ``value - threshold``.
    direction : {'greater', 'less'}
        The claimed sign of the mean effect (beyond ``margin``).
    margin : float
        The boundary the claim must clear (0: any improvement; a tolerance for claims of
        equality-or-better can be stated as a negative margin).
    rule : str
        The rule in words, kept with the verdict.

    Returns
    -------
    Verdict
        ``supported`` if the whole interval lies beyond ``margin`` in ``direction``,
        ``refuted`` if it lies wholly on the other side, else ``inconclusive``.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'greater' or 'less', got {direction!r}")
    a = _as_matrix(effects)
    mean, lo, hi = bootstrap_interval(a, level=level, n_boot=n_boot, seed=seed)
    if direction == "greater":
        verdict = "supported" if lo > margin else "refuted" if hi < margin else "inconclusive"
    else:
        verdict = "supported" if hi < margin else "refuted" if lo > margin else "inconclusive"
    return Verdict(verdict, mean, lo, hi, n_pairs=a.shape[1], n_seeds=a.shape[0], rule=rule)


def decide_equivalence(effects, *, tol: float, rule: str = "", level: float = LEVEL, n_boot: int = N_BOOT,
                       seed: int = 0) -> Verdict:
    """The claims rule for a claim of equality within ``tol`` (e.g. "the same mask", "38,339 parameters").

    ``supported`` if the whole interval lies in ``[-tol, tol]``, ``refuted`` if it lies
    wholly outside it, else ``inconclusive`` (the two one-sided tests of an equivalence
    test, read off one interval).
    """
    if not tol >= 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    a = _as_matrix(effects)
    mean, lo, hi = bootstrap_interval(a, level=level, n_boot=n_boot, seed=seed)
    if -tol <= lo and hi <= tol:
        verdict = "supported"
    elif lo > tol or hi < -tol:
        verdict = "refuted"
    else:
        verdict = "inconclusive"
    return Verdict(verdict, mean, lo, hi, n_pairs=a.shape[1], n_seeds=a.shape[0], rule=rule)


def not_measured(reason: str, *, rule: str = "") -> Verdict:
    """The verdict of a claim whose data or weights are absent: say why and how to get them."""
    if not reason:
        raise ValueError("say why the claim was not measured and how to measure it")
    return Verdict("not measured", rule=rule, reason=reason)


def mean_sd(per_seed, digits: int = 4) -> str:
    """``mean ± sd (n=K seeds)`` of one number per seed (sample sd, ``ddof=1``)."""
    v = np.asarray(per_seed, dtype=np.float64).ravel()
    if v.size == 0:
        return "n/a"
    sd = float(v.std(ddof=1)) if v.size > 1 else float("nan")
    sd_text = f"{sd:.{digits}f}" if v.size > 1 else "n/a"
    return f"{v.mean():.{digits}f} ± {sd_text} (n={v.size} seed{'s' if v.size != 1 else ''})"
