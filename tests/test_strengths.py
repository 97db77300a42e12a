"""Notebook 09's readings: the supervision arms' logs, their early quality, and the best of several methods."""

import json

import numpy as np
import pandas as pd
import pytest

from smfuse.reproduce.effects import paired_effect
from smfuse.reproduce.strengths import best_method, early_quality, supervision_logs


def _write_run(root, arm, seed, rows, steps=1000, stop=500):
    d = root / arm / f"seed-{seed}"
    d.mkdir(parents=True)
    (d / "config.json").write_text(json.dumps({"steps": steps, "stop_at": stop}))
    lines = ["step,loss,holdout_qabf,holdout_qabf_pairs"]
    for step, vals in rows:
        lines.append(f"{step},1.0,{np.mean(vals) if vals else ''},{' '.join(map(str, vals))}")
    (d / "log.csv").write_text("\n".join(lines) + "\n")


def test_logs_become_one_row_per_run_evaluation_and_pair_and_their_early_mean(tmp_path):
    _write_run(tmp_path, "label-mi", 0, [(10, []), (250, [0.6, 0.7]), (500, [0.8, 0.9])])
    _write_run(tmp_path, "label-s", 0, [(250, [0.5, 0.6]), (500, [0.6, 0.7])])
    _write_run(tmp_path, "label-s", 1, [(250, [0.5, 0.6])])  # not finished: its log stops before step 500
    logs = supervision_logs(tmp_path)
    assert len(logs) == 8 and set(logs.seed) == {0}
    assert logs[(logs.arm == "label-mi") & (logs.step == 500)].value.tolist() == [0.8, 0.9]
    early = early_quality(logs)
    mi = early[early.arm == "label-mi"].set_index("pair")
    assert mi.early.to_dict() == pytest.approx({"held-out 1": 0.7, "held-out 2": 0.8})
    assert mi.evaluations.tolist() == [2, 2]
    e = paired_effect(early, "label-mi", "label-s", "early")
    np.testing.assert_allclose(e.effects, [[0.15, 0.15]])
    only_first = early_quality(logs, fraction=0.25)  # steps <= 250
    assert only_first[only_first.arm == "label-mi"].early.tolist() == pytest.approx([0.6, 0.7])
    assert supervision_logs(tmp_path / "none").empty and early_quality(supervision_logs(tmp_path / "none")).empty
    with pytest.raises(ValueError, match="fraction"):
        early_quality(logs, fraction=0)


def test_best_method_by_its_mean_in_either_direction():
    t = pd.DataFrame({"method": ["a", "a", "b", "b", "c"], "psnr": [30.0, 34.0, 33.0, 32.0, np.nan]})
    assert best_method(t, ["a", "b", "c"], "psnr") == "b"  # 32.5 > 32.0
    assert best_method(t, ["a", "b"], "psnr", higher=False) == "a"
    assert best_method(t, ["c", "z"], "psnr") is None
