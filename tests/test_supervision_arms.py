"""The supervision arms of the study (claim C5): arm d supervised by MI and by S2 > S1, stopped at half the schedule."""

import csv
import json

import pytest

from smfuse.reproduce.study import ARMS, SUPERVISION_ARMS, arm_config, finished_runs, run_study

pytestmark = pytest.mark.filterwarnings("ignore:precision=.bf16. without native bfloat16:RuntimeWarning")

TINY = dict(steps=8, stop_at=4, dataset="synthetic", limit=3, holdout=1, eval_every=2, checkpoint_every=2,
            log_every=2, patch_size=32, batch_size=4)


def test_the_two_arms_are_arm_d_with_one_change_each():
    assert list(SUPERVISION_ARMS) == ["label-mi", "label-s"] and not set(SUPERVISION_ARMS) & set(ARMS)
    d = arm_config("d", 1).replace(steps=1000, stop_at=500, eval_every=50, checkpoint_every=50)
    assert arm_config("label-mi", 1) == d  # MI is the default supervision: label-mi is arm d on this schedule
    assert arm_config("label-s", 1) == d.replace(supervision="subtraction")
    assert all(a.holdout_metrics == ("qabf",) and a.base == "d" for a in SUPERVISION_ARMS.values())


def test_stopped_runs_keep_their_log_with_the_held_out_qabf_and_count_as_finished(tmp_path):
    work, results = tmp_path / "w", tmp_path / "r"
    rows = run_study(arms=list(SUPERVISION_ARMS), seeds=[0], work=work, results=results, overrides=TINY,
                     echo=lambda m: None)
    assert [(r["arm"], r["seed"]) for r in rows] == [("label-mi", 0), ("label-s", 0)]
    assert set(finished_runs(results, SUPERVISION_ARMS)) == {("label-mi", 0), ("label-s", 0)}
    run = results / "label-s" / "seed-0"
    assert {p.name for p in run.iterdir()} == {"log.csv", "config.json"}  # no weights: the run stopped at half
    assert json.loads((run / "config.json").read_text())["supervision"] == "subtraction"
    log = list(csv.DictReader(open(run / "log.csv")))
    assert [int(r["step"]) for r in log] == [2, 4]
    assert all(0 < float(r["holdout_qabf"]) < 1 and len(r["holdout_qabf_pairs"].split()) == 1 for r in log)
    # the same seed draws the same batches and starts from the same weights in both arms: the first
    # logged loss differs only through the label
    mi_log = list(csv.DictReader(open(results / "label-mi" / "seed-0" / "log.csv")))
    assert mi_log[0]["loss"] != log[0]["loss"]
    assert run_study(arms=list(SUPERVISION_ARMS), seeds=[0], work=work, results=results, overrides=TINY,
                     echo=lambda m: None) == []
