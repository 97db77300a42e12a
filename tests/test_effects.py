"""smfuse.reproduce.effects.paired_effect: one score of two subjects, matched by seed and pair."""

import numpy as np
import pandas as pd
import pytest

from smfuse.reproduce.effects import paired_effect


def _table():
    rows = []
    for arm, base in (("x", 0.9), ("y", 0.7)):
        for seed in (0, 1, 2):
            for i, (s, pair, cluster) in enumerate((("syn", "p1", "moon"), ("syn", "p2", "moon"), ("syn", "p3", "cat"),
                                                    ("real", "p1", "p1"))):
                rows.append({"arm": arm, "seed": seed, "set": s, "pair": pair, "cluster": cluster,
                             "acc": base + 0.01 * seed + 0.001 * i})
    return pd.DataFrame(rows)


def test_differences_are_paired_by_seed_and_pair():
    t = _table()
    e = paired_effect(t, "x", "y", "acc")
    assert e.seeds == [0, 1, 2]
    assert e.pairs == [("syn", "p1"), ("syn", "p2"), ("syn", "p3"), ("real", "p1")]  # one name in two sets: two pairs
    np.testing.assert_allclose(e.effects, 0.2)  # same seed and pair on both sides: only the arm differs
    assert e.clusters == ["moon", "moon", "cat", "p1"]
    np.testing.assert_allclose(e.x_per_seed, [0.9 + 0.01 * s + 0.0015 for s in (0, 1, 2)])
    assert e.text() == "0.7115 ± 0.0100 (n=3 seeds) -> 0.9115 ± 0.0100 (n=3 seeds)"


def test_sets_filter_and_what_is_dropped():
    t = _table()
    e = paired_effect(t, "x", "y", "acc", ["syn"])
    assert e.pairs == [("syn", "p1"), ("syn", "p2"), ("syn", "p3")] and e.effects.shape == (3, 3)
    # a seed only one arm has, and a pair with a missing score at one seed, are left out
    t2 = t[~((t.arm == "y") & (t.seed == 2))].copy()
    t2.loc[(t2.arm == "x") & (t2.seed == 1) & (t2.pair == "p3"), "acc"] = np.nan
    e2 = paired_effect(t2, "x", "y", "acc", ["syn"])
    assert e2.seeds == [0, 1] and e2.pairs == [("syn", "p1"), ("syn", "p2")]
    assert paired_effect(t, "x", "nobody", "acc") is None
    assert paired_effect(t, "x", "y", "acc", ["other"]) is None


def test_a_fixed_reference_or_a_threshold_is_subtracted_from_every_seed():
    t = _table()
    base = t[(t.arm == "y") & (t.seed == 0)].assign(arm="baseline", seed=np.nan)
    e = paired_effect(pd.concat([t, base]), "x", "baseline", "acc", ["syn"])
    assert e.y_fixed and e.seeds == [0, 1, 2]
    np.testing.assert_allclose(e.effects, [[0.2] * 3, [0.21] * 3, [0.22] * 3])
    th = paired_effect(t, "x", 0.95, "acc", ["real"])
    np.testing.assert_allclose(th.effects[:, 0], [0.9 + 0.003 - 0.95 + 0.01 * s for s in (0, 1, 2)])
    assert th.text().startswith("0.9500 -> ")


def test_two_fixed_subjects_give_one_effect_per_pair():
    t = pd.DataFrame({"mask": ["rule", "rule", "MI", "MI"], "seed": np.nan, "pair": ["p1", "p2", "p1", "p2"],
                      "qabf": [0.70, 0.80, 0.72, 0.75]})
    e = paired_effect(t, "rule", "MI", "qabf", by="mask")
    assert e.x_fixed and e.y_fixed and e.seeds == [] and e.clusters is None
    np.testing.assert_allclose(e.effects, [-0.02, 0.05])  # 1-D: a fixed subject for the claims rule
    assert e.text() == "0.7350 -> 0.7500"
    with pytest.raises(ValueError, match="no seeds but"):
        paired_effect(pd.concat([t, t.iloc[2:].assign(mask="seeded", seed=0)]), "rule", "seeded", "qabf", by="mask")


def test_bad_tables_are_refused():
    t = _table()
    with pytest.raises(ValueError, match="lacks the column.*acc2"):
        paired_effect(t, "x", "y", "acc2")
    with pytest.raises(ValueError, match="two rows for one seed and pair"):
        paired_effect(pd.concat([t, t.iloc[:1]]), "x", "y", "acc")
    with pytest.raises(ValueError, match="no 'set' column|which it does not have"):
        paired_effect(t.drop(columns="set").drop_duplicates(["arm", "seed", "pair"]), "x", "y", "acc", ["syn"])
    with pytest.raises(TypeError, match="DataFrame"):
        paired_effect(t.to_dict(), "x", "y", "acc")
    with pytest.raises(ValueError, match="finite"):
        paired_effect(t, "x", float("nan"), "acc")
