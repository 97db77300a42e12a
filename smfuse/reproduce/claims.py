"""Claims and their verdicts: one rule, fixed before measuring, applied to paired effects.

The statistical policy
----------------------
**What is decided.** Each claim of the paper is written down with its direction (or its
threshold) before anything is measured. Its *effect* is a mean of paired measurements:
``ours - reference`` per image pair (and per training seed), or ``value - threshold`` for a
claim of the form "at least t". The claim is *supported* when the 95 % confidence interval
of the mean effect lies wholly on the claimed side of its boundary (zero, or a margin stated
with the claim), *refuted* when it lies wholly on the other side, and *inconclusive* when it
contains the boundary. A claim of equality within a tolerance is supported when the interval
lies inside ``[-tol, tol]`` and refuted when it lies wholly outside (the two one-sided tests
of an equivalence test read off one interval). A claim whose data or weights are absent is
*not measured*, with the reason and the command that measures it, instead of vanishing.

**The unit is the base image, not the pair.** The synthetic pairs are cut from a few base
images; pairs cut from the same image share its content and are not independent evidence.
Pairs that share a base image form a *cluster* (``clusters=``, one label per pair): each
cluster is first reduced to the mean of its pairs, and the clusters, not the pairs, are the
units the interval counts. A pair without a cluster label is its own cluster. The estimate
is the mean over clusters (and seeds) of these cluster means; with one pair per cluster it
is the plain mean.

**How seeds count.** There are two kinds of subject.

* A *fixed subject* (the authors' released weights, our shipped weights, a deterministic
  method such as a baseline) has no population of seeds: its effect varies only from image
  to image. The interval is Student's t interval over the C cluster means, with C - 1
  degrees of freedom. A 1-D array of effects, one per pair, is a fixed subject.
* A *retrain* (a claim about what training produces, measured on S seeds trained
  independently) varies from seed to seed as well as from image to image, and a new seed is
  as much a new sample as a new image. A 2-D array of effects, seeds x pairs, is a retrain,
  even with a single row (then it is a retrain with one seed, see below).
  Its cluster means follow the two-way crossed random-effects model (Searle, Casella &
  McCulloch 1992, ch. 4)

      y[s, c] = mu + a_s + b_c + e_sc,   a ~ N(0, sigma_a^2), b ~ N(0, sigma_b^2), e ~ N(0, sigma_e^2),

  so the mean over S seeds and C clusters has variance
  ``sigma_a^2 / S + sigma_b^2 / C + sigma_e^2 / (S C)``. The seed and cluster mean squares of
  the two-way analysis of variance estimate it by ``MS_seed / (S C) + MS_cluster / (S C)``,
  which counts ``sigma_e^2 / (S C)`` twice and so errs on the wide side. (``MS_seed / (S C)``
  is the sample variance of the S seed means divided by S; ``MS_cluster / (S C)`` that of
  the C cluster means divided by C.) The two shares are independent, each a scaled
  chi-square with its own degrees of freedom (S - 1 and C - 1), and each is multiplied by
  the squared t quantile of its own degrees of freedom before they are added: the
  half-width is ``sqrt(t_{S-1}^2 MS_seed / (S C) + t_{C-1}^2 MS_cluster / (S C))``.
  Banerjee (1961) showed that such an interval covers at least its stated level whatever
  the ratio of the two variances; when one source dominates it becomes the ordinary t
  interval of that source. We chose it over the better-known single t quantile with
  Satterthwaite's (1946) estimated degrees of freedom, which covers only about 90 % with
  two seeds when seed and image variation are of similar size. The price is width where the
  seed-by-image residual dominates (it is counted twice). ``tests/test_claims_coverage.py``
  simulates every design the claims use (1, 2, 3, 5 seeds or a fixed subject; 1 to 40 pairs
  in clusters of 1 to 4; seed-, image- and residual-dominated variation) and requires at
  least 93 % coverage at each, with pairs of unequal cluster sizes included.
  ``seeds_random=False`` treats the rows of a 2-D array as fixed (the interval is then
  over clusters only); ``pairs_random=False`` treats the columns as fixed, for a number per
  seed with no image population behind it (the interval is then over seeds only).

**One seed, one cluster.** Where a source of variation is random but seen at one level only
(a retrain with one seed; a single pair, or pairs all cut from one base image), its size
cannot be estimated from the data. The interval is then ``(-inf, inf)`` and the verdict is
inconclusive, with a reason that says what to add. An interval is never narrowed to force a
decision.

**More seeds, not a narrower interval.** Where the study's three seeds leave a claim about
the retrain undecided, more seeds are trained (``smfuse study --arms d f --seeds 3 4``
resumes the study) and the claim is read again on every finished seed; the register says
which claims were read so. A second look after an undecided first one is sequential
testing: the chance of a false "supported" over both looks is at most the sum of the two
looks' levels (Bonferroni), so at most twice the nominal level for a claim read twice, and
the report's verdict is the last look's.

**Exact checks.** Deterministic facts (a parameter count, two code paths that must agree bit
for bit, a largest absolute difference) are not estimates and get no interval:
:func:`exact_check` says *supported* if ``|value - expected| <= tol``, else *refuted*.

**The family.** The paper's claims are tested as one family, at family-wise error 5 % by
Holm's step-down procedure (Holm 1979). Each statistical verdict carries a one-sided p-value
for its claimed direction against its boundary and one for the opposite direction, from the
same reference distribution as its interval: Student's t where one source of variation
counts; with two, the tail at which the interval's edge just touches the boundary.
:func:`holm` re-decides the family: a claim is supported only if its claimed-direction
p-value survives Holm's adjustment, refuted only if its opposite-direction p-value does, and
inconclusive otherwise. One-sided p-values are compared with half the family-wise level, so a
family of one gives exactly the verdict of the 95 % interval. Exact checks, claims not
measured and claims whose interval is infinite are not tests and pass through unchanged.

References
----------
S. K. Banerjee, "On confidence interval for two-means problem based on separate estimates of
variances and tabulated values of t-table", Sankhya A 23 (1961), 359-378.

S. Holm, "A simple sequentially rejective multiple test procedure", Scandinavian Journal of
Statistics 6 (1979), 65-70.

F. E. Satterthwaite, "An approximate distribution of estimates of variance components",
Biometrics Bulletin 2 (1946), 110-114. doi:10.2307/3002019

S. R. Searle, G. Casella, C. E. McCulloch, *Variance Components*, Wiley, 1992.
doi:10.1002/9780470316856

Examples
--------
>>> import numpy as np
>>> d = np.array([0.010, 0.012, 0.008, 0.011, 0.009])   # ours - baseline, 5 pairs, fixed subject
>>> decide(d, direction="greater").verdict
'supported'
>>> decide(-d, direction="greater").verdict
'refuted'
>>> decide(np.array([0.01, -0.01, 0.02, -0.02]), direction="greater").verdict
'inconclusive'
>>> decide(d[None, :], direction="greater").reason       # one seed of a retrain
'one seed: seed-to-seed variation unknown; train more seeds (`smfuse study` resumes)'
>>> exact_check(38339, 38339).text()
'supported (holds exactly: value 38339, expected 38339)'
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq
from scipy.special import stdtr, stdtrit

__all__ = ["VERDICTS", "Verdict", "decide", "decide_equivalence", "exact_check", "holm", "not_measured", "mean_sd"]

VERDICTS = ("supported", "refuted", "inconclusive", "not measured")
DIRECTIONS = ("greater", "less")
LEVEL = 0.95
ALPHA = 0.05

ONE_SEED = "one seed: seed-to-seed variation unknown; train more seeds (`smfuse study` resumes)"
ONE_PAIR = "one pair: image-to-image variation unknown; measure more image pairs"
ONE_CLUSTER = ("one cluster: every pair is cut from the same base image, so image-to-image variation is unknown; "
               "add pairs from other base images")


@dataclass(frozen=True)
class Verdict:
    """The outcome of one claim's rule.

    Attributes
    ----------
    verdict : str
        One of :data:`VERDICTS`.
    estimate : float
        Mean effect: over seeds, of the mean over clusters of each cluster's mean over its
        pairs (NaN when not measured). For an exact check, the value checked (the largest
        deviation ``|value - expected|`` when several values are checked at once).
    low, high : float
        The 95 % interval of the mean effect; ``-inf, inf`` when a source of variation was seen
        at one level only (see ``reason``).
    n_pairs, n_seeds : int
        How much paired data the rule saw (``n_seeds`` is 0 for a fixed subject given as 1-D).
    rule : str
        The rule in words, e.g. ``"95% CI of mean(ours - MI) > 0"``.
    reason : str
        For ``not measured``: why, and how to measure it. For an inconclusive verdict with an
        infinite interval: which variation is unknown, and what to add.
    n_clusters : int
        Independent units over image pairs (base images); ``n_pairs`` when no clusters were given.
    seeds_random : bool
        Whether seeds counted as a population (a retrain) or as fixed.
    p, p_opposite : float
        One-sided p-values of the claimed direction against the boundary and of the opposite
        direction (NaN for exact checks, claims not measured and infinite intervals).
    exact : bool
        The verdict of :func:`exact_check`: no interval, no p-value.
    expected : float
        For an exact check, the expected value or the threshold.
    relation : str
        For an exact check, ``"=="`` (within ``tol``), ``">"`` or ``"<"``.
    tol : float
        For an exact check of equality, the tolerance.
    holm_family : int
        The size of the family when :func:`holm` re-decided this verdict, else 0.
    p_holm : float
        The Holm-adjusted two-sided p-value (NaN unless re-decided by :func:`holm`).
    """

    verdict: str
    estimate: float = float("nan")
    low: float = float("nan")
    high: float = float("nan")
    n_pairs: int = 0
    n_seeds: int = 0
    rule: str = ""
    reason: str = ""
    n_clusters: int = 0
    seeds_random: bool = False
    p: float = float("nan")
    p_opposite: float = float("nan")
    exact: bool = False
    expected: float = float("nan")
    relation: str = ""
    tol: float = 0.0
    holm_family: int = 0
    p_holm: float = float("nan")

    def __post_init__(self) -> None:
        # a verdict read back from JSON may carry None for a number that was NaN or infinite
        for name in _FLOAT_FIELDS:
            if getattr(self, name) is None:
                object.__setattr__(self, name, float("nan"))

    def to_record(self) -> dict:
        """The verdict as a JSON-safe dict: non-finite numbers as ``"nan"``, ``"inf"``, ``"-inf"``.

        :meth:`from_record` reads it back to an equal verdict (infinite intervals included).
        """
        return {f: (_FINITE_TEXT.get(str(v), str(v)) if f in _FLOAT_FIELDS and not math.isfinite(v) else v)
                for f, v in ((f, getattr(self, f)) for f in self.__dataclass_fields__)}

    @classmethod
    def from_record(cls, record: dict) -> Verdict:
        """A verdict from :meth:`to_record` (unknown keys ignored; ``None`` for a number reads as NaN)."""
        if not isinstance(record, dict) or record.get("verdict") not in VERDICTS:
            raise ValueError(f"a verdict record needs 'verdict' set to one of {VERDICTS}; got {record!r:.80}")
        kw = {k: v for k, v in record.items() if k in cls.__dataclass_fields__}
        for k in _FLOAT_FIELDS & kw.keys():
            kw[k] = float("nan") if kw[k] is None else float(kw[k])
        return cls(**kw)

    @property
    def tested(self) -> bool:
        """Whether this verdict is a statistical test with p-values (what :func:`holm` adjusts)."""
        return not self.exact and self.verdict != "not measured" and math.isfinite(self.p)

    def text(self, digits: int = 4) -> str:
        """One cell of the summary table.

        Examples: ``supported (+0.0012 [+0.0004, +0.0020]; 20 pairs in 8 clusters x 3 seeds; one-sided p = 0.003)``,
        ``supported (holds exactly: value 38339, expected 38339)``.
        """
        if self.verdict == "not measured":
            return f"not measured ({self.reason})" if self.reason else "not measured"
        if self.exact:
            return f"{self.verdict} ({self._exact_text()})"
        units = f"{self.n_pairs} pair{'s' if self.n_pairs != 1 else ''}"
        if self.n_clusters != self.n_pairs:
            units += f" in {self.n_clusters} cluster{'s' if self.n_clusters != 1 else ''}"
        if self.n_seeds:
            units += f" x {self.n_seeds} seed{'s' if self.n_seeds != 1 else ''}"
            units += "" if self.seeds_random else " (fixed)"
        low = f"{self.low:+.{digits}f}" if math.isfinite(self.low) else "-inf"
        high = f"{self.high:+.{digits}f}" if math.isfinite(self.high) else "+inf"
        tail = f"; {self.reason}" if self.reason else f"; one-sided p = {_p_text(self.p)}"
        if self.holm_family:
            tail += f", two-sided p after Holm = {_p_text(self.p_holm)} in a family of {self.holm_family}"
        return f"{self.verdict} ({self.estimate:+.{digits}f} [{low}, {high}]; {units}{tail})"

    def _exact_text(self) -> str:
        if self.relation in (">", "<"):
            ok = self.verdict == "supported"
            return (f"{'holds' if ok else 'fails'}: value {_num(self.estimate)} "
                    f"{self.relation if ok else _NOT[self.relation]} {_num(self.expected)}")
        word = ("holds exactly" if self.tol == 0 else f"holds within {_num(self.tol)}") \
            if self.verdict == "supported" else ("fails" if self.tol == 0 else f"fails tolerance {_num(self.tol)}")
        if self.n_pairs > 1:
            return f"{word}: largest |value - expected| {_num(self.estimate)} over {self.n_pairs} values"
        return f"{word}: value {_num(self.estimate)}, expected {_num(self.expected)}"


_NOT = {">": "<=", "<": ">="}
_FLOAT_FIELDS = frozenset({"estimate", "low", "high", "p", "p_opposite", "expected", "tol", "p_holm"})
_FINITE_TEXT = {"nan": "nan", "inf": "inf", "-inf": "-inf"}


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() and abs(x) < 1e15 else f"{x:.6g}"


def _p_text(p: float) -> str:
    return "< 1e-300" if p < 1e-300 else f"{p:.2g}" if p < 0.001 else f"{p:.3f}"


# ---------------------------------------------------------------------------------------------
# The interval: cluster means, variance shares, half-width and its inverse (the p-value)
# ---------------------------------------------------------------------------------------------

def _as_matrix(effects) -> tuple[np.ndarray, bool]:
    """Effects as a (K, N) float matrix, and whether they came as 2-D (seeds x pairs)."""
    if isinstance(effects, (list, tuple)) and effects and np.ndim(effects[0]) == 1:
        lengths = {len(e) for e in effects}
        if len(lengths) != 1:
            raise ValueError(f"every seed needs the same image pairs, got lengths {sorted(lengths)}")
    a = np.asarray(effects, dtype=np.float64)
    two_d = a.ndim == 2
    if a.ndim == 1:
        a = a[None, :]
    if a.ndim != 2 or a.size == 0:
        raise ValueError(f"effects must be (pairs,) or (seeds, pairs) numbers, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("effects contain NaN or infinite values; drop the pairs that were not measured")
    return a, two_d


def _cluster_means(a: np.ndarray, clusters) -> tuple[np.ndarray, int]:
    """(..., N) effects -> (..., C) means of each cluster's pairs, clusters in order of first appearance."""
    n = a.shape[-1]
    if clusters is None:
        return a, n
    try:
        labels = None if isinstance(clusters, (str, bytes)) else list(clusters)
    except TypeError:
        labels = None
    if labels is None:
        raise TypeError(f"clusters must be a sequence of labels, one per pair, got {type(clusters).__name__}")
    if len(labels) != n:
        raise ValueError(f"clusters must give one label per pair: {n} pairs, {len(labels)} labels")
    index: dict[Hashable, int] = {}
    try:
        which = np.array([index.setdefault(lab, len(index)) for lab in labels])
    except TypeError:
        raise TypeError("clusters must be hashable labels such as base-image names, one per pair") from None
    member = np.zeros((n, len(index)))
    member[np.arange(n), which] = 1.0
    return a @ (member / member.sum(0)), len(index)


def _shares(y: np.ndarray, *, seeds_random: bool, pairs_random: bool) -> tuple[np.ndarray, list]:
    """Estimate and the variance shares of cluster means ``y`` of shape (..., S, C).

    Returns the estimate (...) and a list of ``(share, df)``: ``share`` (...) is
    ``MS_seed / (S C)`` (the variance of the seed means over S) or ``MS_cluster / (S C)``
    (the variance of the cluster means over C); ``df`` is ``S - 1`` or ``C - 1``; a random
    source seen at one level has ``df = 0`` and an infinite share.
    """
    s, c = y.shape[-2:]
    shares = []
    for random, axis, k in ((seeds_random, -1, s), (pairs_random, -2, c)):
        if not random:
            continue
        means = y.mean(axis)                      # seed means (over clusters) or cluster means (over seeds)
        share = means.var(-1, ddof=1) / k if k > 1 else np.full(means.shape[:-1], np.inf)
        shares.append((share, k - 1))
    return y.mean((-2, -1)), shares


def _half_width(shares: list, tail: float) -> np.ndarray:
    """Banerjee's half-width with ``tail`` beyond each end: sqrt(sum_i t_{df_i}(1 - tail)^2 share_i)."""
    total = 0.0
    with np.errstate(over="ignore"):              # t quantiles of tails near 1e-300 overflow to inf when squared
        for share, df in shares:
            total = total + (np.inf if df == 0 else stdtrit(df, tail) ** 2) * share
    return np.sqrt(total)


def _p_greater(d: float, shares: list) -> float:
    """One-sided p-value of "effect > boundary" at ``d = estimate - boundary``.

    With one source of variation this is Student's t tail. With two, it inverts Banerjee's
    interval: ``p`` is the tail for which the half-width at level ``1 - 2 p`` equals ``|d|``,
    so ``p < 0.025`` exactly when the 95 % interval lies above the boundary.
    """
    shares = [(float(v), df) for v, df in shares]
    if any(df == 0 for _, df in shares):
        return float("nan")
    live = [(v, df) for v, df in shares if v > 0]
    if not live:                                  # no variation at all: the sign decides
        return 0.0 if d > 0 else 1.0 if d < 0 else 0.5
    if len(live) == 1:
        v, df = live[0]
        return float(stdtr(df, -d / math.sqrt(v)))
    if d == 0:
        return 0.5
    gap = abs(d)
    f = lambda log_p: float(_half_width(live, math.exp(log_p))) - gap  # noqa: E731
    lo_log = math.log(1e-300)
    tail = 0.0 if f(lo_log) < 0 else math.exp(brentq(f, lo_log, math.log(0.5), xtol=1e-12, rtol=1e-12))
    return tail if d > 0 else 1.0 - tail


def _interval(effects, clusters, seeds_random, pairs_random, level):
    """Shared front of decide and decide_equivalence: validate, reduce, and build the interval."""
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    a, two_d = _as_matrix(effects)
    if seeds_random is None:
        seeds_random = two_d
    if not isinstance(seeds_random, (bool, np.bool_)) or not isinstance(pairs_random, (bool, np.bool_)):
        raise TypeError("seeds_random and pairs_random must be True or False (seeds_random may be None)")
    if not (seeds_random or pairs_random):
        raise ValueError("with seeds and pairs both fixed nothing is random and there is no interval; "
                         "state a deterministic fact with exact_check")
    y, n_clusters = _cluster_means(a, clusters)
    mean, shares = _shares(y, seeds_random=bool(seeds_random), pairs_random=bool(pairs_random))
    half = float(_half_width(shares, (1 - level) / 2))
    reasons = []
    if seeds_random and a.shape[0] == 1:
        reasons.append(ONE_SEED)
    if pairs_random and n_clusters == 1:
        reasons.append(ONE_PAIR if a.shape[1] == 1 else ONE_CLUSTER)
    sizes = dict(n_pairs=a.shape[1], n_seeds=a.shape[0] if two_d or seeds_random else 0, n_clusters=n_clusters,
                 seeds_random=bool(seeds_random), reason="; ".join(reasons))
    return float(mean), half, shares, sizes


def decide(effects, *, direction: str, margin: float = 0.0, rule: str = "", clusters=None,
           seeds_random: bool | None = None, pairs_random: bool = True, level: float = LEVEL) -> Verdict:
    """Apply the claims rule to paired effects.

    Parameters
    ----------
    effects : (N,) or (K, N) array_like
        ``ours - reference`` per image pair (and seed), or ``value - threshold``. A 1-D array
        is a fixed subject; a (K, N) array is K independently trained seeds (a retrain).
    direction : {'greater', 'less'}
        The claimed sign of the mean effect (beyond ``margin``).
    margin : float
        The boundary the claim must clear (0: any improvement; a tolerance for claims of
        equality-or-better can be stated as a negative margin).
    rule : str
        The rule in words, kept with the verdict.
    clusters : sequence of N labels, optional
        The base image of each pair: pairs with the same label are one unit. Default: each
        pair is its own unit.
    seeds_random : bool, optional
        Whether the K rows are a sample of training seeds (default: True for a 2-D array,
        False for a 1-D one). A retrain with one seed gets an infinite interval.
    pairs_random : bool
        Whether the pairs are a sample of images (True). False for a number per seed with no
        images behind it (e.g. ``(K, 1)`` times to reach a quality): the interval is then
        over seeds only.
    level : float
        Two-sided level of the interval (0.95).

    Returns
    -------
    Verdict
        ``supported`` if the whole interval lies beyond ``margin`` in ``direction``,
        ``refuted`` if it lies wholly on the other side, else ``inconclusive``; with its
        one-sided p-values for :func:`holm`.

    Raises
    ------
    ValueError
        Unknown direction, effects that are empty or not finite, ragged seeds, a label count
        that is not one per pair, or seeds and pairs both fixed.
    """
    if direction not in DIRECTIONS:
        raise ValueError(f"direction must be 'greater' or 'less', got {direction!r}")
    margin = float(margin)
    if not math.isfinite(margin):
        raise ValueError(f"margin must be a finite number, got {margin}")
    mean, half, shares, sizes = _interval(effects, clusters, seeds_random, pairs_random, level)
    lo, hi = mean - half, mean + half
    p_up = _p_greater(mean - margin, shares)
    if direction == "greater":
        verdict = "supported" if lo > margin else "refuted" if hi < margin else "inconclusive"
        p, p_opp = p_up, 1.0 - p_up
    else:
        verdict = "supported" if hi < margin else "refuted" if lo > margin else "inconclusive"
        p, p_opp = 1.0 - p_up, p_up
    return Verdict(verdict, mean, lo, hi, rule=rule, p=p, p_opposite=p_opp, **sizes)


def decide_equivalence(effects, *, tol: float, rule: str = "", clusters=None, seeds_random: bool | None = None,
                       pairs_random: bool = True, level: float = LEVEL) -> Verdict:
    """The claims rule for a claim of equality within ``tol`` of a measured, varying effect.

    ``supported`` if the whole interval lies in ``[-tol, tol]``, ``refuted`` if it lies
    wholly outside it, else ``inconclusive`` (the two one-sided tests of an equivalence
    test, read off one interval). Arguments as :func:`decide`. A deterministic fact (a
    parameter count, two code paths that must agree) is an :func:`exact_check` instead.

    The claimed-direction p-value is the larger of the two one-sided p-values of
    ``effect > -tol`` and ``effect < tol``; the opposite-direction p-value is the smaller of
    those of ``effect > tol`` and ``effect < -tol``.
    """
    tol = float(tol)
    if not tol >= 0 or not math.isfinite(tol):
        raise ValueError(f"tol must be >= 0, got {tol}")
    mean, half, shares, sizes = _interval(effects, clusters, seeds_random, pairs_random, level)
    lo, hi = mean - half, mean + half
    if -tol <= lo and hi <= tol:
        verdict = "supported"
    elif lo > tol or hi < -tol:
        verdict = "refuted"
    else:
        verdict = "inconclusive"
    above_low, above_high = _p_greater(mean + tol, shares), _p_greater(mean - tol, shares)
    p = max(above_low, 1.0 - above_high)
    p_opp = min(above_high, 1.0 - above_low)
    return Verdict(verdict, mean, lo, hi, rule=rule, p=p, p_opposite=p_opp, **sizes)


def exact_check(value, expected, *, tol: float = 0.0, direction: str | None = None, rule: str = "") -> Verdict:
    """The verdict of a deterministic fact: no interval, no p-value.

    Parameters
    ----------
    value : float or array_like
        What was computed (a parameter count, a largest absolute difference, ...); several
        values are checked together (all must hold).
    expected : float or array_like
        What the claim says (broadcast against ``value``), or the threshold when
        ``direction`` is given.
    tol : float
        For equality: ``supported`` if ``|value - expected| <= tol`` everywhere, else
        ``refuted`` (0: bit for bit).
    direction : {'greater', 'less'}, optional
        For a deterministic inequality: ``supported`` if ``value > expected`` (or ``<``)
        everywhere, else ``refuted``. ``tol`` must then be 0.
    rule : str
        The rule in words, kept with the verdict.

    Examples
    --------
    >>> exact_check(38339, 38339, rule="parameters == 38339").text()
    'supported (holds exactly: value 38339, expected 38339)'
    >>> exact_check(0.62, 0.5, direction="greater").text()
    'supported (holds: value 0.62 > 0.5)'
    """
    v = np.asarray(value, dtype=np.float64)
    e = np.asarray(expected, dtype=np.float64)
    if v.size == 0 or e.size == 0:
        raise ValueError("exact_check needs a value and an expected value, got an empty array")
    try:
        v, e = np.broadcast_arrays(v, e)
    except ValueError:
        raise ValueError(f"value {v.shape} and expected {e.shape} do not broadcast; pass one expected value "
                         "or one per value") from None
    if not (np.isfinite(v).all() and np.isfinite(e).all()):
        raise ValueError("exact_check got NaN or infinite values; a deterministic fact must be a finite number")
    tol = float(tol)
    if not tol >= 0 or not math.isfinite(tol):
        raise ValueError(f"tol must be >= 0, got {tol}")
    if direction is not None:
        if direction not in DIRECTIONS:
            raise ValueError(f"direction must be 'greater', 'less' or None, got {direction!r}")
        if tol:
            raise ValueError("tol applies to equality; with a direction, put any margin in expected")
        ok = bool((v > e).all() if direction == "greater" else (v < e).all())
        worst = int(np.argmin(v - e) if direction == "greater" else np.argmax(v - e))
        value_shown, expected_shown = float(v.flat[worst]), float(e.flat[worst])
        relation = ">" if direction == "greater" else "<"
    else:
        dev = np.abs(v - e)
        ok = bool((dev <= tol).all())
        worst = int(np.argmax(dev))
        value_shown, expected_shown = ((float(v.flat[0]), float(e.flat[0])) if v.size == 1
                                       else (float(dev.flat[worst]), 0.0))
        relation = "=="
    return Verdict("supported" if ok else "refuted", value_shown, n_pairs=int(v.size), rule=rule, exact=True,
                   expected=expected_shown, relation=relation, tol=tol)


def holm(verdicts: Sequence[Verdict], *, alpha: float = ALPHA) -> list[Verdict]:
    """Re-decide a family of verdicts at family-wise error ``alpha`` (Holm's step-down).

    Parameters
    ----------
    verdicts : sequence of Verdict
        The family: every claim of the paper's register, decided one by one.
    alpha : float
        Family-wise error rate (0.05, the complement of the per-claim 95 % level).

    Returns
    -------
    list of Verdict
        In the input order. Each statistical verdict (finite p-values) is re-decided:
        *supported* only if its claimed-direction p-value survives Holm's adjustment,
        *refuted* only if its opposite-direction p-value does, else *inconclusive*; it
        records ``holm_family`` (the number of tests) and ``p_holm``. Exact checks, claims
        not measured and infinite intervals are returned unchanged and are not counted.

    Notes
    -----
    Each test's two-sided p-value is ``2 min(p, p_opposite)``; Holm's step-down
    multiplies the i-th smallest of m by ``m - i + 1`` (keeping the sequence monotone),
    and a test whose adjusted value is below ``alpha`` is decided by the side of its smaller
    one-sided p-value. A family of one thus gives the verdict of the 95 % interval.

    Examples
    --------
    >>> import numpy as np
    >>> v = decide(np.array([0.010, 0.012, 0.008, 0.011, 0.009]), direction="greater")
    >>> [w.verdict for w in holm([v])]
    ['supported']
    """
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must lie in (0, 1), got {alpha}")
    verdicts = list(verdicts)
    for v in verdicts:
        if not isinstance(v, Verdict):
            raise TypeError(f"holm takes Verdicts from the claims rule, got {type(v).__name__}")
    tested = [i for i, v in enumerate(verdicts) if v.tested]
    m = len(tested)
    two_sided = np.array([min(1.0, 2.0 * min(verdicts[i].p, verdicts[i].p_opposite)) for i in tested])
    order = np.argsort(two_sided, kind="stable")
    adjusted = np.empty(m)
    running = 0.0
    for rank, j in enumerate(order):
        running = max(running, min(1.0, (m - rank) * two_sided[j]))
        adjusted[j] = running
    out = list(verdicts)
    for j, i in enumerate(tested):
        v = verdicts[i]
        if adjusted[j] < alpha:
            word = "supported" if v.p <= v.p_opposite else "refuted"
        else:
            word = "inconclusive"
        out[i] = replace(v, verdict=word, holm_family=m, p_holm=float(adjusted[j]))
    return out


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
