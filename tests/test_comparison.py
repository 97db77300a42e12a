"""Tests of smfuse.reproduce.comparison: the strongest peer and the C12 verdicts from a per-pair table."""

import numpy as np
import pandas as pd
import pytest

from smfuse.reproduce import comparison as cmp
from smfuse.reproduce import register


def _table(scores: dict[str, list[float]], dataset="lytro", key="qabf") -> pd.DataFrame:
    return pd.DataFrame([{"dataset": dataset, "method": m, "pair": f"p{i}", key: v}
                         for m, vs in scores.items() for i, v in enumerate(vs)])


BASE = np.linspace(0.70, 0.74, 8)
SCORES = {"weak_peer": BASE - 0.05, "strong_peer": BASE, "initial_mask": BASE + 0.002,
          "authors": BASE + 0.010 + np.linspace(-1e-4, 1e-4, 8), "seed0": BASE - 0.02, "seed1": BASE - 0.022}


def test_the_strongest_peer_is_the_best_mean_and_effects_are_paired():
    t = _table(SCORES)
    table, verdicts = cmp.strongest_peer_table(t, datasets=["lytro"], metrics=["qabf", "psnr"],
                                               subjects={"authors": ["authors"], "retrain": ["seed0", "seed1"]},
                                               peers=["weak_peer", "strong_peer"])
    assert len(table) == 2, "psnr, which the set has no scores of, is left out"
    a = table.set_index("subject").loc["authors"]
    assert a.strongest_peer == "strong_peer" and a.peer_mean == pytest.approx(BASE.mean())
    assert a.effect == pytest.approx(0.010) and a.n_pairs == 8 and a.n_seeds == 1
    assert a.mi_mean == pytest.approx(BASE.mean() + 0.002) and a.mi_effect == pytest.approx(0.002)
    assert a.verdict == "supported" and a.mi_verdict == "supported"
    r = table.set_index("subject").loc["retrain"]
    assert r.effect == pytest.approx(-0.021) and r.n_seeds == 2 and r.verdict in ("refuted", "inconclusive")
    v = verdicts["lytro", "qabf", "authors"]
    assert v.rule == register.claim("C12").rule
    want = register.decide("C12", (SCORES["authors"] - BASE), subject="authors")
    assert (v.estimate, v.low, v.high) == pytest.approx((want.estimate, want.low, want.high))


def test_the_register_margin_decides_a_near_tie():
    # 0.0005 below the strongest peer on every pair: within C12's margin of 0.001, so supported
    t = _table({"peer": BASE, "initial_mask": BASE, "authors": BASE - 0.0005 + np.linspace(-1e-5, 1e-5, 8)})
    table, _ = cmp.strongest_peer_table(t, datasets=["lytro"], metrics=["qabf"], subjects={"authors": ["authors"]},
                                        peers=["peer"])
    assert table.verdict.tolist() == ["supported"]


def test_what_did_not_run_is_not_measured_with_the_fix():
    t = _table({"initial_mask": BASE, "authors": BASE})
    table, verdicts = cmp.strongest_peer_table(t, datasets=["lytro"], metrics=["qabf"],
                                               subjects={"authors": ["authors"], "retrain": []}, peers=["sesf"])
    assert table.verdict.tolist() == ["not measured", "not measured"]
    assert "smfuse data fetch peers" in verdicts["lytro", "qabf", "authors"].reason
    t = _table({"peer": BASE, "initial_mask": BASE})
    _, verdicts = cmp.strongest_peer_table(t, datasets=["lytro"], metrics=["qabf"],
                                           subjects={"authors": ["smfuse_authors"]}, peers=["peer"])
    assert "smfuse data fetch authors" in verdicts["lytro", "qabf", "authors"].reason
    empty, _ = cmp.strongest_peer_table(t, datasets=[], metrics=["qabf"], subjects={}, peers=["peer"])
    assert list(empty.columns) == list(cmp.TABLE_COLUMNS) and empty.empty


def test_subject_effects_and_cells():
    t = _table(SCORES)
    e = cmp.subject_effects(t, "lytro", "qabf", ["seed0", "seed1"], "initial_mask")
    np.testing.assert_allclose(e, [[-0.022] * 8, [-0.024] * 8])
    np.testing.assert_allclose(cmp.subject_effects(t, "lytro", "qabf", ["seed0"], "initial_mask", pairs=["p1", "p3"]),
                               [[-0.022, -0.022]])
    assert cmp.subject_effects(t, "lytro", "qabf", ["absent"], "initial_mask") is None
    assert cmp.subject_effects(t, "grayscale", "qabf", ["seed0"], "initial_mask") is None
    assert cmp.score_cell(t, "lytro", ["authors"], metrics=("qabf",)) == f"QAB/F {BASE.mean() + 0.010:.4f}"
    assert cmp.score_cell(t, "lytro", ["seed0", "seed1"], metrics=("qabf",), minus="initial_mask").startswith(
        "QAB/F gain -0.0230 ± 0.0014 (n=2 seeds)")
    assert cmp.score_cell(t, "lytro", ["absent"]) is None
