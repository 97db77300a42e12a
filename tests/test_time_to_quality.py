import importlib.util
import json
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location(
    "time_to_quality", Path(__file__).parents[1] / "benchmarks" / "time_to_quality.py")
ttq = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ttq)

CFG = {"variant": "code", "lr": 0.002, "lr_schedule": "cosine", "steps": 4000, "batch_size": 16, "patch_size": 64,
       "precision": "bf16"}


def _run(root, seed, curve, **cfg):
    d = root / f"s{seed}"
    d.mkdir()
    (d / "config.json").write_text(json.dumps({**CFG, "seed": seed, **cfg}))
    rows = ["step,loss,map,gra,patches_per_s,seconds,agreement,holdout_agreement", "10,1,0.1,0.01,200,1.0,,"]
    rows += [f"{step},1,0.1,0.01,200,{secs},{agr},0.9" for step, secs, agr in curve]
    (d / "log.csv").write_text("\n".join(rows) + "\n")
    return str(d)


def test_median_over_seeds_of_the_first_time_the_target_is_reached(tmp_path, capsys):
    runs = [_run(tmp_path, 0, [(250, 20.0, 0.94), (500, 40.0, 0.951), (750, 60.0, 0.96)]),
            _run(tmp_path, 1, [(250, 21.0, 0.95), (500, 41.0, 0.93)]),  # first reaches it at step 250
            _run(tmp_path, 2, [(250, 22.0, 0.90), (500, 43.0, 0.92), (750, 65.0, 0.955)])]
    assert ttq.main(runs + ["--threads", "2", "--no-record"]) == 0
    out = capsys.readouterr().out
    assert "seed 0: step 500 after 40 s; seed 1: step 250 after 21 s; seed 2: step 750 after 65 s" in out
    assert "median 0.7 min" in out  # 40 s


def test_a_run_that_never_reaches_the_target_records_nothing(tmp_path, capsys):
    runs = [_run(tmp_path, 0, [(250, 20.0, 0.951)]), _run(tmp_path, 1, [(250, 20.0, 0.949)])]
    assert ttq.main(runs + ["--threads", "2", "--no-record"]) == 1
    assert "never reached 0.95" in capsys.readouterr().out


def test_runs_of_different_configurations_are_refused(tmp_path):
    runs = [_run(tmp_path, 0, [(250, 20.0, 0.96)]), _run(tmp_path, 1, [(250, 20.0, 0.96)], variant="paper")]
    with pytest.raises(SystemExit, match="differ in more than the seed \\(variant\\)"):
        ttq.main(runs + ["--threads", "2", "--no-record"])
