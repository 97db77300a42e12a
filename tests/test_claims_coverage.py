"""Does the claims rule's 95 % interval cover the true effect at every design the claims use?

Simulated effects follow the random-effects model of :mod:`smfuse.reproduce.claims`, with
pairs nested in base images:

    effect[s, p] = mu + a_s + g_c(p) + h_p + e_sp,

a seed effect ``a``, a base-image (cluster) effect ``g``, a pair-within-image effect ``h`` and
a residual ``e``, each normal with the standard deviations of one configuration below.
Clusters hold 1, 2, 3, 4, 1, 2, ... pairs (so 6 pairs are 3 clusters, 20 pairs 8, 40 pairs
16). Each design is simulated 2000 times with a seeded generator, all replicates at once
through the same private functions that :func:`~smfuse.reproduce.claims.decide` uses (a test
below checks that they agree with it).
"""

import numpy as np
import pytest
from scipy.special import stdtrit

from smfuse.reproduce.claims import _cluster_means, _half_width, _shares, decide

R = 2000
MU = 0.3
FLOOR = 0.93
# standard deviations of (seed, base image, pair within image, residual)
CONFIGS = {
    "seed-dominated": (1.0, 0.2, 0.1, 0.1),
    "pair-dominated": (0.1, 1.0, 0.5, 0.1),
    "residual-dominated": (0.1, 0.1, 0.1, 1.0),
    "seed and image alike": (0.5, 0.5, 0.3, 0.5),
}
SEEDS = (1, 2, 3, 5)
PAIRS = (1, 2, 6, 20, 40)


def layout(n_pairs):
    """Cluster label of each pair: clusters of 1, 2, 3, 4, 1, 2, ... pairs (the last one cut short)."""
    sizes = []
    while sum(sizes) < n_pairs:
        sizes.append(min(len(sizes) % 4 + 1, n_pairs - sum(sizes)))
    return np.repeat(np.arange(len(sizes)), sizes)


def simulate(config, n_seeds, n_pairs, *, seed, reps=R):
    """Effects (reps, n_seeds, n_pairs), their cluster labels, and the parts of each replicate's truth."""
    s_a, s_g, s_h, s_e = CONFIGS[config]
    rng = np.random.default_rng(seed)
    labels = layout(n_pairs)
    a = rng.normal(0, s_a, (reps, n_seeds, 1))
    g = rng.normal(0, s_g, (reps, 1, labels.max() + 1))[:, :, labels]
    h = rng.normal(0, s_h, (reps, 1, n_pairs))
    e = rng.normal(0, s_e, (reps, n_seeds, n_pairs))
    return MU + a + g + h + e, labels, a, g + h


def rule(x, labels, *, seeds_random, pairs_random=True, level=0.95):
    """The claims rule on a stack of designs: estimate and half-width per replicate."""
    y, _ = _cluster_means(x, list(labels))
    est, shares = _shares(y, seeds_random=seeds_random, pairs_random=pairs_random)
    return est, _half_width(shares, (1 - level) / 2)


def cluster_mean(v, labels):
    """Mean over clusters of each cluster's mean over its pairs, along the last axis."""
    return _cluster_means(v, list(labels))[0].mean(-1)


def coverage(est, half, truth):
    return float(np.mean(np.abs(est - truth) <= half))


def designs():
    """(config, seeds, pairs, kind) for every design the claims use."""
    for config in CONFIGS:
        for n in PAIRS:
            yield config, 1, n, "fixed subject"
            for k in SEEDS:
                yield config, k, n, "retrain"
            for k in SEEDS[1:]:
                yield config, k, n, "fixed seeds"
        for k in SEEDS[1:]:
            yield config, k, 1, "per-seed number"


def run_design(config, k, n, kind, seed):
    if kind == "fixed subject":   # the released weights, a deterministic method: its own seed effect is its effect
        x, labels, a, _ = simulate(config, 1, n, seed=seed)
        return x[:, 0], labels, rule(x[:, 0][:, None], labels, seeds_random=False), MU + a[:, 0, 0]
    x, labels, a, b = simulate(config, k, n, seed=seed)
    if kind == "retrain":         # seeds are a sample: the truth is mu
        return x, labels, rule(x, labels, seeds_random=True), np.full(R, MU)
    if kind == "fixed seeds":     # these seeds only: the truth includes their mean seed effect
        return x, labels, rule(x, labels, seeds_random=False), MU + a.mean((1, 2))
    # a number per seed (pairs fixed): the truth includes the fixed pairs' mean effect
    return x, labels, rule(x, labels, seeds_random=True, pairs_random=False), MU + cluster_mean(b[:, 0], labels)


def test_the_rule_covers_the_true_effect_at_every_design():
    low = []
    n_designs = 0
    for i, (config, k, n, kind) in enumerate(designs()):
        _, _, (est, half), truth = run_design(config, k, n, kind, seed=1000 + i)
        cov = coverage(est, half, truth)
        n_designs += 1
        if cov < FLOOR:
            low.append(f"{kind} {config} {k} seeds x {n} pairs: {cov:.3f}")
    assert n_designs == 4 * (5 * (1 + 4 + 3) + 3)
    assert not low, "coverage below 0.93: " + "; ".join(low)


@pytest.mark.parametrize("config", list(CONFIGS))
def test_an_interval_is_infinite_exactly_where_a_source_is_seen_once(config):
    for k in SEEDS:
        for n in PAIRS:
            x, labels, _, _ = simulate(config, k, n, seed=7, reps=50)
            _, half = rule(x, labels, seeds_random=True)
            assert np.isinf(half).all() == (k == 1 or n == 1), (k, n)
            assert np.isfinite(half).all() == (k > 1 and n > 1), (k, n)


@pytest.mark.parametrize("config, k, n, kind, bound", [("pair-dominated", 3, 20, "retrain", 3.0),
                                                       ("pair-dominated", 1, 20, "fixed subject", 3.0),
                                                       ("seed-dominated", 5, 40, "retrain", 3.0),
                                                       ("residual-dominated", 5, 40, "retrain", 4.0)])
def test_a_finite_interval_is_not_absurdly_wide(config, k, n, kind, bound):
    """Mean half-width below ``bound`` true standard errors (1.96 would be a known-variance interval).

    A rule that always answered (-inf, inf), or one that used the t quantile of the smallest
    degrees of freedom for every source (4.30 at three seeds), would fail at 3 seeds x 20 pairs.
    Where the seed-by-image residual dominates, the rule pays for counting it twice.
    """
    _, _, (est, half), truth = run_design(config, k, n, kind, seed=5)
    true_se = float(np.std(est - truth))
    assert np.isfinite(half).all()
    assert float(np.mean(half)) < bound * true_se


def _old_percentile_bootstrap(x, *, n_boot=400, seed=0, chunk=250):
    """The rule this one replaced: a two-stage percentile bootstrap over seeds and pairs, vectorised."""
    rng = np.random.default_rng(seed)
    reps, k, n = x.shape
    lo, hi = np.empty(reps), np.empty(reps)
    for start in range(0, reps, chunk):
        xs = x[start:start + chunk]
        m = xs.shape[0]
        si = rng.integers(0, k, (m, n_boot, k))
        pj = rng.integers(0, n, (m, n_boot, n))
        boots = xs[np.arange(m)[:, None, None, None], si[..., None], pj[:, :, None, :]].mean((2, 3))
        lo[start:start + m], hi[start:start + m] = np.quantile(boots, [0.025, 0.975], axis=1)
    return lo, hi


def _satterthwaite(x, labels):
    """The single-t alternative: (MS_seed + MS_cluster) / (S C) with Satterthwaite's degrees of freedom."""
    y, _ = _cluster_means(x, list(labels))
    s, c = y.shape[-2:]
    v_s, v_c = y.mean(-1).var(-1, ddof=1) / s, y.mean(-2).var(-1, ddof=1) / c
    df = (v_s + v_c) ** 2 / (v_s ** 2 / (s - 1) + v_c ** 2 / (c - 1))
    return y.mean((-2, -1)), stdtrit(df, 0.975) * np.sqrt(v_s + v_c)


def test_the_old_bootstrap_and_satterthwaite_fall_short_where_this_rule_does_not():
    """The test can fail: the percentile bootstrap at 3 seeds x 6 pairs (the measured 0.80 of the old
    rule), and Satterthwaite's single t at 2 seeds x 40 pairs, cover less than 0.93 on the same data
    where this rule covers at least 0.93."""
    x, labels, _, _ = simulate("seed-dominated", 3, 6, seed=11)
    lo, hi = _old_percentile_bootstrap(x)
    assert float(np.mean((lo <= MU) & (MU <= hi))) < FLOOR
    est, half = rule(x, labels, seeds_random=True)
    assert coverage(est, half, MU) >= FLOOR

    x, labels, _, _ = simulate("seed and image alike", 2, 40, seed=12)
    est, half = _satterthwaite(x, labels)
    assert coverage(est, half, MU) < FLOOR
    est, half = rule(x, labels, seeds_random=True)
    assert coverage(est, half, MU) >= FLOOR


@pytest.mark.parametrize("kind, k, n", [("retrain", 3, 6), ("fixed subject", 1, 20), ("fixed seeds", 2, 6),
                                        ("per-seed number", 5, 1)])
def test_the_vectorised_path_is_what_decide_computes(kind, k, n):
    x, labels, (est, half), _ = run_design("seed and image alike", k, n, kind, seed=3)
    for r in range(3):
        if kind == "fixed subject":
            v = decide(x[r], direction="greater", clusters=list(labels))
        else:
            v = decide(x[r], direction="greater", clusters=list(labels), seeds_random=kind != "fixed seeds",
                       pairs_random=kind != "per-seed number")
        assert v.estimate == pytest.approx(est[r], rel=1e-12)
        assert v.low == pytest.approx(est[r] - half[r], rel=1e-12)
        assert v.high == pytest.approx(est[r] + half[r], rel=1e-12)
