import numpy as np
import pytest

from smfuse.reproduce.claims import VERDICTS, bootstrap_interval, decide, decide_equivalence, mean_sd, not_measured


def test_interval_matches_the_normal_approximation_for_many_pairs():
    """For 400 normal effects the bootstrap interval is mean +- 1.96 sd / sqrt(n), within 8 %."""
    x = np.random.default_rng(1).normal(0.3, 2.0, 400)
    mean, lo, hi = bootstrap_interval(x, n_boot=20_000)
    half = 1.96 * x.std(ddof=1) / np.sqrt(x.size)
    assert mean == pytest.approx(x.mean())
    assert (hi - lo) / 2 == pytest.approx(half, rel=0.08)
    assert (lo + hi) / 2 == pytest.approx(x.mean(), abs=0.1 * half)


def test_constant_effect_gives_a_point_interval_and_a_verdict_by_sign():
    v = decide(np.full(12, 0.002), direction="greater")
    assert (v.verdict, v.estimate, v.low, v.high) == ("supported", pytest.approx(0.002), pytest.approx(0.002),
                                                      pytest.approx(0.002))
    assert decide(np.full(12, 0.002), direction="less").verdict == "refuted"
    assert decide(np.full(12, -0.002), direction="less").verdict == "supported"


def test_straddling_interval_is_inconclusive_and_a_margin_moves_the_boundary():
    x = np.random.default_rng(2).normal(0.0, 1.0, 30)
    assert decide(x, direction="greater").verdict == "inconclusive"
    assert decide(x, direction="greater", margin=-5.0).verdict == "supported"
    assert decide(x, direction="greater", margin=5.0).verdict == "refuted"


def test_seed_variation_widens_the_interval():
    """Three seeds that disagree by a constant offset per seed: the two-stage bootstrap sees it."""
    rng = np.random.default_rng(3)
    pairs = rng.normal(0.0, 0.01, 20)
    same = np.stack([pairs, pairs, pairs])
    spread = same + np.array([[-0.02], [0.0], [0.02]])
    w_same = np.subtract(*bootstrap_interval(same)[2:0:-1])
    w_spread = np.subtract(*bootstrap_interval(spread)[2:0:-1])
    assert w_spread > 2 * w_same
    assert decide(spread, direction="greater").n_seeds == 3


def test_interval_is_reproducible_and_depends_on_its_seed_only():
    x = np.random.default_rng(4).normal(size=15)
    np.random.seed(0)
    a = bootstrap_interval(x, seed=7)
    np.random.seed(1)
    assert bootstrap_interval(x, seed=7) == a
    assert bootstrap_interval(x, seed=8) != a


@pytest.mark.parametrize("bad, match", [([np.nan, 1.0], "NaN"), ([], "shape"), ([[1.0, 2.0], [1.0]], "same image pairs")])
def test_bad_effects_are_refused(bad, match):
    with pytest.raises(ValueError, match=match):
        decide(bad, direction="greater")


def test_direction_and_not_measured():
    with pytest.raises(ValueError, match="direction must be"):
        decide([1.0, 2.0], direction="up")
    v = not_measured("the authors' checkpoint is absent: smfuse data fetch authors")
    assert v.verdict == "not measured" and v.text().startswith("not measured (the authors'")
    with pytest.raises(ValueError, match="say why"):
        not_measured("")
    assert set(VERDICTS) == {"supported", "refuted", "inconclusive", "not measured"}


def test_verdict_text_and_mean_sd():
    v = decide(np.stack([np.full(4, 0.01), np.full(4, 0.03)]), direction="greater")
    assert v.text().startswith("supported (+0.0200 [+0.0100, +0.0300]; 4 pairs x 2 seeds)")
    assert mean_sd([0.95, 0.96, 0.94]) == "0.9500 ± 0.0100 (n=3 seeds)"
    assert mean_sd([0.9]) == "0.9000 ± n/a (n=1 seed)"


def test_equivalence_rule():
    assert decide_equivalence(np.zeros(5), tol=0).verdict == "supported"
    assert decide_equivalence([3.0], tol=0).verdict == "refuted"
    assert decide_equivalence(np.array([0.001, -0.001, 0.002, 0.0]), tol=0.01).verdict == "supported"
    assert decide_equivalence(np.array([0.0, 0.02, 0.0, 0.02]), tol=0.01).verdict == "inconclusive"
    with pytest.raises(ValueError, match="tol must be"):
        decide_equivalence([0.0], tol=-1)
