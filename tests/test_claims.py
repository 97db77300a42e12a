import json
import math

import numpy as np
import pytest
from scipy import stats

from smfuse.reproduce.claims import (ONE_CLUSTER, ONE_PAIR, ONE_SEED, VERDICTS, Verdict, decide, decide_equivalence,
                                     exact_check, holm, mean_sd, not_measured)

# upper 2.5 % quantiles of Student's t: closed forms for 1 and 2 degrees of freedom, a printed table for 3
T1 = math.tan(0.475 * math.pi)
T2 = 0.95 / math.sqrt(2 * 0.975 * 0.025)
T3 = 3.182446305284263


def test_a_fixed_subject_gets_the_t_interval_over_pairs():
    """[1, 2, 3, 6]: mean 3, sd sqrt(14/3), se sd/2, 3 degrees of freedom."""
    v = decide([1.0, 2.0, 3.0, 6.0], direction="greater")
    half = T3 * math.sqrt(14 / 3) / 2
    assert (v.estimate, v.low, v.high) == (3.0, pytest.approx(3 - half, rel=1e-9), pytest.approx(3 + half, rel=1e-9))
    assert v.verdict == "inconclusive" and (v.n_pairs, v.n_clusters, v.n_seeds, v.seeds_random) == (4, 4, 0, False)
    assert v.p == pytest.approx(stats.t.sf(3 / (math.sqrt(14 / 3) / 2), 3), rel=1e-10)
    assert v.p + v.p_opposite == pytest.approx(1.0)


def test_pairs_of_one_base_image_count_once():
    """Clusters a, a, b, c: cluster means 2, 2, 6; mean 10/3, se 4/3, 2 degrees of freedom."""
    v = decide([1.0, 3.0, 2.0, 6.0], direction="greater", clusters=["a", "a", "b", "c"])
    assert v.estimate == pytest.approx(10 / 3)
    assert (v.high - v.low) / 2 == pytest.approx(T2 * 4 / 3, rel=1e-9)
    assert (v.n_pairs, v.n_clusters) == (4, 3)
    assert v.text().startswith("inconclusive (+3.3333 [-2.4035, +9.0702]; 4 pairs in 3 clusters; one-sided p = ")
    # one label per pair is the same as no clusters
    x = np.random.default_rng(0).normal(size=7)
    assert decide(x, direction="less", clusters=range(7)) == decide(x, direction="less")


def test_a_retrain_adds_the_seed_and_image_shares_each_at_its_own_t():
    """3 seeds x 2 clusters: seed means 1, 3, 2 (variance 1, share 1/3, 2 df); cluster means 1, 3
    (variance 2, share 1, 1 df); half-width sqrt(t_2^2 / 3 + t_1^2)."""
    y = [[0.0, 2.0], [1.0, 5.0], [2.0, 2.0]]
    v = decide(y, direction="greater")
    half = math.sqrt(T2 ** 2 / 3 + T1 ** 2)
    assert (v.estimate, v.n_seeds, v.seeds_random) == (2.0, 3, True)
    assert (v.low, v.high) == (pytest.approx(2 - half, rel=1e-9), pytest.approx(2 + half, rel=1e-9))
    assert v.text().endswith("; 2 pairs x 3 seeds; one-sided p = " + f"{v.p:.3f})")


def test_a_p_value_at_the_interval_edge_is_the_tail_of_the_level():
    """The p-value inverts the interval, with one source of variation (t) and with two (Banerjee)."""
    rng = np.random.default_rng(1)
    for y in (rng.normal(0.2, 1.0, 9), rng.normal(0.2, 1.0, (3, 9)) + rng.normal(0, 1, (3, 1))):
        v = decide(y, direction="greater")
        assert decide(y, direction="greater", margin=v.low).p == pytest.approx(0.025, rel=1e-6)
        assert decide(y, direction="less", margin=v.high).p == pytest.approx(0.025, rel=1e-6)
        assert decide(y, direction="greater", margin=v.estimate).p == pytest.approx(0.5)
        v99 = decide(y, direction="greater", level=0.99)
        assert decide(y, direction="greater", margin=v99.low).p == pytest.approx(0.005, rel=1e-6)


def test_fixed_seeds_and_fixed_pairs_reduce_to_one_t_interval():
    m = np.random.default_rng(2).normal(size=(3, 8))
    a = decide(m, direction="greater", seeds_random=False)
    b = decide(m.mean(0), direction="greater")
    assert (a.estimate, a.low, a.high, a.p) == pytest.approx((b.estimate, b.low, b.high, b.p), rel=1e-9)
    assert "8 pairs x 3 seeds (fixed)" in a.text()
    c = decide(m, direction="greater", pairs_random=False)
    d = decide(m.mean(1), direction="greater")
    assert (c.estimate, c.low, c.high) == pytest.approx((d.estimate, d.low, d.high), rel=1e-9)
    with pytest.raises(ValueError, match="nothing is random.*exact_check"):
        decide(m, direction="greater", seeds_random=False, pairs_random=False)


def test_one_seed_or_one_pair_gives_an_infinite_interval_and_says_what_to_add():
    x = np.random.default_rng(3).normal(1.0, 0.01, 12)
    one_seed = decide(x[None, :], direction="greater")      # a (1, N) matrix is a retrain with one seed
    assert (one_seed.verdict, one_seed.low, one_seed.high) == ("inconclusive", -math.inf, math.inf)
    assert one_seed.reason == ONE_SEED and "train more seeds" in one_seed.text()
    assert math.isnan(one_seed.p) and not one_seed.tested
    assert decide(x, direction="greater").verdict == "supported"  # the same numbers as a fixed subject
    one_pair = decide(np.array([[1.0], [1.1], [0.9]]), direction="greater")
    assert (one_pair.verdict, one_pair.reason) == ("inconclusive", ONE_PAIR)
    assert decide(np.array([[1.0], [1.1], [0.9]]), direction="greater", pairs_random=False).verdict == "supported"
    assert decide([5.0], direction="greater").reason == ONE_PAIR
    one_cluster = decide(x, direction="greater", clusters=["base"] * 12)
    assert (one_cluster.verdict, one_cluster.reason, one_cluster.high) == ("inconclusive", ONE_CLUSTER, math.inf)
    both = decide([[1.0]], direction="greater")
    assert both.reason == f"{ONE_SEED}; {ONE_PAIR}"
    assert "[-inf, +inf]" in both.text()


def test_constant_effect_gives_a_point_interval_and_a_verdict_by_sign():
    v = decide(np.full(12, 0.002), direction="greater")
    assert (v.verdict, v.estimate, v.low, v.high) == ("supported", pytest.approx(0.002), pytest.approx(0.002),
                                                      pytest.approx(0.002))
    assert v.p < 1e-100
    assert decide(np.full(12, 0.002), direction="less").verdict == "refuted"
    assert decide(np.full(12, -0.002), direction="less").verdict == "supported"


def test_straddling_interval_is_inconclusive_and_a_margin_moves_the_boundary():
    x = np.random.default_rng(2).normal(0.0, 1.0, 30)
    assert decide(x, direction="greater").verdict == "inconclusive"
    assert decide(x, direction="greater", margin=-5.0).verdict == "supported"
    assert decide(x, direction="greater", margin=5.0).verdict == "refuted"


def test_seed_variation_widens_the_interval():
    """Three seeds that disagree by a constant offset per seed: the seed share sees it."""
    rng = np.random.default_rng(3)
    pairs = rng.normal(0.0, 0.01, 20)
    same = np.stack([pairs, pairs, pairs])
    spread = same + np.array([[-0.02], [0.0], [0.02]])
    w_same = decide(same, direction="greater")
    w_spread = decide(spread, direction="greater")
    assert (w_spread.high - w_spread.low) > 2 * (w_same.high - w_same.low)
    assert w_spread.n_seeds == 3


@pytest.mark.parametrize("bad, kw, err, match", [
    ([np.nan, 1.0], {}, ValueError, "NaN"), ([], {}, ValueError, "shape"),
    ([[1.0, 2.0], [1.0]], {}, ValueError, "same image pairs"),
    ([1.0, 2.0, 3.0], {"clusters": ["a", "b"]}, ValueError, "one label per pair: 3 pairs, 2 labels"),
    ([1.0, 2.0, 3.0], {"clusters": "abc"}, TypeError, "sequence of labels"),
    ([1.0, 2.0], {"clusters": [[1], [2]]}, TypeError, "hashable"),
    ([1.0, 2.0], {"level": 95}, ValueError, "level must lie in"),
    ([1.0, 2.0], {"seeds_random": "yes"}, TypeError, "True or False"),
    ([1.0, 2.0], {"margin": math.nan}, ValueError, "margin must be a finite"),
])
def test_bad_input_is_refused(bad, kw, err, match):
    with pytest.raises(err, match=match):
        decide(bad, direction="greater", **kw)


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
    # the two seeds differ by 0.02: seed share 0.0001 at t_1, no image variation
    assert v.text().startswith(f"inconclusive (+0.0200 [{0.02 - T1 * 0.01:+.4f}, {0.02 + T1 * 0.01:+.4f}]; "
                               "4 pairs x 2 seeds; one-sided p = ")
    assert mean_sd([0.95, 0.96, 0.94]) == "0.9500 ± 0.0100 (n=3 seeds)"
    assert mean_sd([0.9]) == "0.9000 ± n/a (n=1 seed)"


def test_equivalence_rule():
    assert decide_equivalence(np.zeros(5), tol=0).verdict == "supported"
    assert decide_equivalence([3.0, 3.1, 2.9], tol=0).verdict == "refuted"
    assert decide_equivalence([3.0], tol=0).verdict == "inconclusive"       # one pair: no interval
    assert decide_equivalence(np.array([0.001, -0.001, 0.002, 0.0]), tol=0.01).verdict == "supported"
    assert decide_equivalence(np.array([0.0, 0.02, 0.0, 0.02]), tol=0.01).verdict == "inconclusive"
    with pytest.raises(ValueError, match="tol must be"):
        decide_equivalence([0.0], tol=-1)


def test_equivalence_p_values_are_the_two_one_sided_tests():
    x = np.random.default_rng(5).normal(0.001, 0.004, 10)
    v = decide_equivalence(x, tol=0.01)
    above = decide(x, direction="greater", margin=-0.01)
    below = decide(x, direction="less", margin=0.01)
    assert v.p == pytest.approx(max(above.p, below.p))
    assert v.p_opposite == pytest.approx(min(above.p_opposite, below.p_opposite))
    assert (v.verdict == "supported") == (v.p < 0.025)


def test_exact_checks_have_no_interval():
    v = exact_check(38339, 38339, rule="parameters == 38339")
    assert (v.verdict, v.exact, v.rule) == ("supported", True, "parameters == 38339")
    assert v.text() == "supported (holds exactly: value 38339, expected 38339)"
    assert "pairs" not in v.text() and "[" not in v.text()
    assert exact_check(38338, 38339).text() == "refuted (fails: value 38338, expected 38339)"
    assert exact_check([0, 0, 0], 0).text() == "supported (holds exactly: largest |value - expected| 0 over 3 values)"
    assert exact_check([0.0, 2e-7], 0, tol=1e-6).verdict == "supported"
    assert exact_check([0.0, 2e-6], 0, tol=1e-6).text() == (
        "refuted (fails tolerance 1e-06: largest |value - expected| 2e-06 over 2 values)")
    assert exact_check(0.62, 0.5, direction="greater").text() == "supported (holds: value 0.62 > 0.5)"
    assert exact_check(0.4, 0.5, direction="greater").text() == "refuted (fails: value 0.4 <= 0.5)"
    assert exact_check([0.1, 0.7], 0.5, direction="less").text() == "refuted (fails: value 0.7 >= 0.5)"
    assert not v.tested


@pytest.mark.parametrize("args, kw, match", [((math.nan, 1), {}, "NaN or infinite"), (([], 1), {}, "empty"),
                                             (([1, 2], [1, 2, 3]), {}, "do not broadcast"),
                                             ((1, 1), {"tol": -1}, "tol must be"),
                                             ((1, 1), {"direction": "up"}, "direction must be"),
                                             ((1, 1), {"direction": "greater", "tol": 0.1}, "tol applies")])
def test_exact_check_refuses_bad_input(args, kw, match):
    with pytest.raises(ValueError, match=match):
        exact_check(*args, **kw)


def _tested(p, p_opp, verdict="supported"):
    return Verdict(verdict, 0.0, -1.0, 1.0, n_pairs=5, n_clusters=5, p=p, p_opposite=p_opp)


def test_holm_by_hand():
    """One-sided p 0.001, 0.015, 0.020 (claimed) and 0.001 (opposite): two-sided 0.002, 0.03, 0.04, 0.002.
    Holm over m = 4: 4 x 0.002 = 0.008, 3 x 0.002 -> 0.008, 2 x 0.03 = 0.06, 1 x 0.04 -> 0.06."""
    fam = [_tested(0.001, 0.999), _tested(0.015, 0.985), _tested(0.020, 0.980), _tested(0.999, 0.001, "refuted"),
           exact_check(1, 1), not_measured("no data"), decide([[1.0, 2.0]], direction="greater")]
    out = holm(fam)
    assert [v.verdict for v in out] == ["supported", "inconclusive", "inconclusive", "refuted", "supported",
                                        "not measured", "inconclusive"]
    assert [v.p_holm for v in out[:4]] == pytest.approx([0.008, 0.06, 0.06, 0.008])
    assert [v.holm_family for v in out] == [4, 4, 4, 4, 0, 0, 0]
    assert out[4:] == fam[4:]                      # exact checks, not measured, infinite intervals untouched
    assert out[1].p == 0.015 and "two-sided p after Holm = 0.060 in a family of 4" in out[1].text()
    assert [v.verdict for v in holm(fam, alpha=0.2)][:4] == ["supported", "supported", "supported", "refuted"]
    with pytest.raises(ValueError, match="alpha must lie"):
        holm(fam, alpha=0)
    with pytest.raises(TypeError, match="Verdicts"):
        holm(["supported"])


def test_a_family_of_one_keeps_the_interval_verdict():
    rng = np.random.default_rng(6)
    for i in range(60):
        y = rng.normal(rng.normal(0, 0.5), 1.0, (3, 6) if i % 2 else 8)
        for v in (decide(y, direction="greater"), decide(y, direction="less", margin=0.3),
                  decide_equivalence(y, tol=0.8)):
            assert holm([v])[0].verdict == v.verdict


def test_a_verdict_survives_a_json_round_trip():
    fam = [decide([[1.0, 2.0, 3.0]], direction="greater"),
           decide([1.0, 2.0, 4.0], direction="less", clusters=["a", "a", "b"]),
           exact_check(3, 3), not_measured("no data"), holm([decide([0.1, 0.2, 0.3], direction="greater")])[0]]
    for v in fam:
        back = Verdict.from_record(json.loads(json.dumps(v.to_record(), allow_nan=False)))
        assert back.text() == v.text()
        assert back.to_record() == v.to_record()
    # a record whose non-finite numbers were written as null reads as NaN, and is still no test
    rec = {**fam[0].to_record(), "low": None, "high": None, "p": None, "p_opposite": None}
    assert not Verdict.from_record(rec).tested and not Verdict(**rec).tested
    with pytest.raises(ValueError, match="needs 'verdict'"):
        Verdict.from_record({"verdict": "maybe"})
