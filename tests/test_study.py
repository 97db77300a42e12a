import csv

import pytest
import torch

from smfuse.runtime.checkpoint import read_checkpoint
from smfuse.reproduce.study import ARMS, PRECISION_CHECKS, STUDY_BASE, arm_config, finished_runs, run_study

pytestmark = pytest.mark.filterwarnings("ignore:precision=.bf16. without native bfloat16:RuntimeWarning")  # the study pins bf16

TINY = dict(steps=4, dataset="synthetic", limit=3, holdout=1, eval_every=2, checkpoint_every=2, log_every=2,
            patch_size=32, batch_size=4)


def test_arms_are_the_declared_configurations():
    assert list(ARMS) == ["a", "b", "c", "d", "e", "f", "g", "h"]
    a, b, c, d, e, f, g, h = (arm_config(k, 0) for k in ARMS)
    assert (a.variant, a.patch_mi_weight, b.patch_mi_weight) == ("code", 1.0, 2.0)
    assert (c.variant, c.gra_weight, c.map_weight) == ("paper", 0.0, 10.0)
    assert (d.variant, d.gra_weight, d.map_weight) == ("paper", 1.0, 10.0)
    assert (e.map_weight, f.map_weight, f.gra_weight) == (1.0, 0.0, 1.0)
    assert (g.variant, g.precision, d.precision) == ("paper", "fp32", "bf16")  # g: d in float32
    assert g.replace(precision="bf16") == d
    assert (h.precision, h.replace(precision="bf16")) == ("fp32", c)  # h: c in float32
    assert PRECISION_CHECKS == {"g": "d", "h": "c"}
    assert {k.steps for k in (a, b, c, d, e, f, g, h)} == {STUDY_BASE.steps}  # one step budget
    assert arm_config("d", 2).seed == 2
    with pytest.raises(ValueError, match="unknown arm"):
        arm_config("z", 0)


def test_the_attempts_beyond_the_paper_are_the_plus_configuration_and_its_control():
    from smfuse.reproduce.study import PLUS_ARMS
    from smfuse.runtime.train import get_config

    assert list(PLUS_ARMS) == ["plus", "dilated", "vote"] and not set(PLUS_ARMS) & set(ARMS)
    plus, dil = arm_config("plus", 1), arm_config("dilated", 1)
    d, e = arm_config("d", 1), arm_config("e", 1)
    assert plus == e.replace(arch="dilated") and dil == d.replace(arch="dilated")  # one change each
    assert arm_config("vote", 1) == dil.replace(arch="dilated-vote")
    shared = ("steps", "lr", "lr_schedule", "precision", "batch_size", "patch_size", "variant", "map_weight", "arch")
    assert all(getattr(plus, k) == getattr(get_config("plus"), k) for k in shared)


def test_study_trains_what_is_missing_and_resumes(tmp_path):
    work, results = tmp_path / "work", tmp_path / "results"
    rows = run_study(arms=["a", "d"], seeds=[0], work=work, results=results, overrides=TINY, echo=lambda m: None)
    assert [(r["arm"], r["seed"]) for r in rows] == [("a", 0), ("d", 0)]
    done = finished_runs(results)
    assert set(done) == {("a", 0), ("d", 0)}
    for d in done.values():
        assert {p.name for p in d.iterdir()} == {"final.pt", "log.csv", "config.json"}
    meta = read_checkpoint(done[("d", 0)] / "final.pt")["meta"]
    assert meta["config"]["variant"] == "paper" and meta["config"]["seed"] == 0
    # a second call trains nothing; an interrupted run is resumed from its checkpoint
    assert run_study(arms=["a", "d"], seeds=[0], work=work, results=results, overrides=TINY, echo=lambda m: None) == []
    from smfuse.runtime.train import train

    train(arm_config("a", 1, **TINY).replace(stop_at=2), work / "a" / "seed-1", progress=False)
    rows = run_study(arms=["a"], seeds=[0, 1], work=work, results=results, overrides=TINY, echo=lambda m: None)
    assert [(r["arm"], r["seed"], r["resumed"]) for r in rows] == [("a", 1, True)]
    steps = [int(r["step"]) for r in csv.DictReader(open(results / "a" / "seed-1" / "log.csv"))]
    assert steps == [2, 4]
    fresh = run_study(arms=["a"], seeds=[1], work=tmp_path / "w2", results=tmp_path / "r2", overrides=TINY,
                      echo=lambda m: None)
    assert fresh[0]["resumed"] is False
    a = read_checkpoint(results / "a" / "seed-1" / "final.pt")["state_dict"]
    b = read_checkpoint(tmp_path / "r2" / "a" / "seed-1" / "final.pt")["state_dict"]
    assert all(torch.equal(a[k], b[k]) for k in a), "a resumed study run differs from an uninterrupted one"


def test_shipped_weights_are_seed_0_of_their_study_arm():
    # the package's weights are the study's runs, so every number about them can be read over the seeds
    import filecmp

    from smfuse.reproduce.study import RESULTS_DIR, SHIPPED_ARMS, seed_runs
    from smfuse.runtime.weights import PACKAGE_WEIGHTS_DIR

    for variant, arm in SHIPPED_ARMS.items():
        runs = dict(seed_runs(arm))
        assert 0 in runs, f"results/study/{arm}/seed-0 is missing"
        assert filecmp.cmp(PACKAGE_WEIGHTS_DIR / f"smfuse_{variant}.pt", runs[0] / "final.pt", shallow=False)
        cfg = read_checkpoint(runs[0] / "final.pt")["meta"]["config"]
        assert cfg == {**cfg, **ARMS[arm].overrides, "seed": 0, "steps": STUDY_BASE.steps}
    assert RESULTS_DIR.name == "study"


def test_seed_methods_name_every_finished_study_seed(tmp_path):
    from smfuse.reproduce.study import seed_methods, seed_runs

    run_study(arms=["d"], seeds=[0, 2, 3], work=tmp_path / "w", results=tmp_path / "r", overrides=TINY,
              echo=lambda m: None)
    ms = seed_methods("paper", tmp_path / "r")
    # seed 3 is beyond the study's seeds: evidence for the ablation chapter, not "our retrain" elsewhere
    assert list(ms) == [0, 2] and ms[2].name == "smfuse_paper seed 2"
    assert [s for s, _ in seed_runs("d", tmp_path / "r")] == [0, 2, 3]
    assert seed_methods("code", tmp_path / "r") == {}
    with pytest.raises(ValueError, match="unknown variant"):
        seed_methods("plus", tmp_path / "r")


def test_study_wall_time_sums_the_logs(tmp_path):
    from smfuse.reproduce.study import study_wall_time

    run_study(arms=["a", "c"], seeds=[0], work=tmp_path / "w", results=tmp_path / "r", overrides=TINY,
              echo=lambda m: None)
    secs = [float(list(csv.DictReader(open(tmp_path / "r" / a / "seed-0" / "log.csv")))[-1]["seconds"]) for a in "ac"]
    w = study_wall_time(tmp_path / "r", jobs=2)
    assert w["runs"] == 2 and w["train_seconds"] == pytest.approx(sum(secs))
    assert w["wall_seconds"] == pytest.approx(sum(secs) / 2) and w["slowest_run"] == pytest.approx(max(secs))
    assert w["median_run"] == pytest.approx(sum(secs) / 2)  # the median of two
    # runs at seeds beyond the study's add evidence, not cost
    run_study(arms=["a"], seeds=[7], work=tmp_path / "w", results=tmp_path / "r", overrides=TINY, echo=lambda m: None)
    assert study_wall_time(tmp_path / "r", jobs=2)["runs"] == 2
    assert study_wall_time(tmp_path / "r", jobs=2, seeds=(0, 7))["runs"] == 3


def test_study_threads_are_checked_and_recorded(tmp_path):
    with pytest.raises(ValueError, match="threads must be >= 1"):
        run_study(arms=["a"], seeds=[0], threads=0, work=tmp_path / "w", results=tmp_path / "r", echo=lambda m: None)
    run_study(arms=["c"], seeds=[0], threads=1, work=tmp_path / "w", results=tmp_path / "r", overrides=TINY,
              echo=lambda m: None)
    assert read_checkpoint(tmp_path / "r" / "c" / "seed-0" / "final.pt")["meta"]["config"]["threads"] == 1


def test_the_convergence_check_doubles_a_and_c_to_h_halves_b_to_e_and_doubles_a_twice(tmp_path):
    from smfuse.reproduce.study import BUDGET_ARMS

    assert list(BUDGET_ARMS) == ["a-long", "c-long", "d-long", "e-long", "f-long", "g-long", "h-long",
                                 "b-half", "c-half", "d-half", "e-half", "a-xlong"]
    assert not set(BUDGET_ARMS) & set(ARMS)
    # each run's base arm and budget are fields of its record, not parts of its name
    assert {n: (a.base, a.steps) for n, a in BUDGET_ARMS.items()} == {
        "a-long": ("a", 6000), "c-long": ("c", 6000), "d-long": ("d", 6000), "e-long": ("e", 6000),
        "f-long": ("f", 6000), "g-long": ("g", 6000), "h-long": ("h", 6000), "b-half": ("b", 1500),
        "c-half": ("c", 1500), "d-half": ("d", 1500), "e-half": ("e", 1500), "a-xlong": ("a", 12000)}
    for name, a in BUDGET_ARMS.items():
        check, base = arm_config(name, 1), arm_config(a.base, 1)
        assert check.steps == a.steps and check.precision == a.precision == base.precision
        assert check.replace(steps=base.steps) == base  # nothing else changes
    # overrides win over an arm's own settings (the tests shrink the budget arms too)
    assert arm_config("a-long", 0, **TINY).steps == TINY["steps"]
    run_study(arms=["a-long", "c"], seeds=[0], work=tmp_path / "w", results=tmp_path / "r", overrides=TINY,
              echo=lambda m: None)
    assert set(finished_runs(tmp_path / "r")) == {("c", 0)}  # the ablation study alone by default
    assert set(finished_runs(tmp_path / "r", arms=BUDGET_ARMS)) == {("a-long", 0)}


def test_each_study_command_records_its_wall_time(tmp_path, monkeypatch, capsys):
    from smfuse.reproduce import study

    run_study(arms=["c"], seeds=[0], jobs=1, work=tmp_path / "w", results=tmp_path / "r", overrides=TINY,
              echo=lambda m: None)
    monkeypatch.setattr(study, "ARMS", {k: study.ARMS[k] for k in "cd"})
    monkeypatch.setattr(study, "SEEDS", (0, 1))
    run_study(work=tmp_path / "w", results=tmp_path / "r", overrides=TINY, echo=lambda m: None)  # 3 left
    run_study(work=tmp_path / "w2", results=tmp_path / "r2", overrides=TINY, echo=lambda m: None)  # all 4
    rows = list(csv.DictReader(open(tmp_path / "r" / "study_commands.csv")))
    assert [(r["arms"], r["seeds"], r["runs"], r["whole_study"]) for r in rows] == [
        ("c", "0", "1", "False"), ("c d", "0 1", "3", "False")]  # the second command did not train all of it
    (whole,) = list(csv.DictReader(open(tmp_path / "r2" / "study_commands.csv")))
    assert (whole["runs"], whole["whole_study"], whole["jobs"]) == ("4", "True", "1")
    # as many new seeds of every arm cost the same: that command is a whole study too; fewer are not
    run_study(seeds=[3, 4], work=tmp_path / "w3", results=tmp_path / "r3", overrides=TINY, echo=lambda m: None)
    run_study(seeds=[5], work=tmp_path / "w3", results=tmp_path / "r3", overrides=TINY, echo=lambda m: None)
    assert [r["whole_study"] for r in csv.DictReader(open(tmp_path / "r3" / "study_commands.csv"))] == ["True", "False"]
    runs = list(csv.DictReader(open(tmp_path / "r2" / "study_runs.csv")))
    # one after another: the command's wall covers its runs' (each rounded to 0.1 s in the files)
    assert float(whole["wall"]) >= sum(float(r["wall"]) for r in runs) - 0.05 * (len(runs) + 1)
    # and the benchmark reports it as the study's one-command wall time
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location("study_cost", Path(__file__).parents[1] / "benchmarks" / "study_cost.py")
    cost = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cost)
    capsys.readouterr()
    assert cost.main(["--results", str(tmp_path / "r2"), "--no-record"]) == 0
    assert "one command trained the whole study (4 runs, 1 side by side" in capsys.readouterr().out
    cost.main(["--results", str(tmp_path / "r"), "--no-record"])
    assert "no single smfuse study command has trained the whole study yet" in capsys.readouterr().out


def test_an_arm_is_a_record_of_base_budget_and_precision():
    from smfuse.reproduce.study import Arm, arm_record, budget_runs, run_at

    assert [(a.name, a.steps) for a in budget_runs("a")] == [("a", 3000), ("a-long", 6000), ("a-xlong", 12000)]
    assert [a.name for a in budget_runs("b")] == ["b-half", "b"]
    assert [a.name for a in budget_runs("f")] == ["f", "f-long"]
    g_long = arm_record("g-long")
    assert (g_long.base, g_long.steps, g_long.precision, g_long.repeats) == ("g", 6000, "fp32", "d")
    assert run_at(g_long.repeats, g_long.steps).name == "d-long"  # its bfloat16 twin, found by fields
    assert run_at("b", 6000) is None
    assert arm_record("d").base == "d" and arm_record("plus").base == "plus"
    # the precision checks are read off the records
    assert PRECISION_CHECKS == {k: a.repeats for k, a in ARMS.items() if a.precision == "fp32"}
    with pytest.raises(ValueError, match="record's fields"):
        Arm("x", "x", dict(steps=10))
    with pytest.raises(ValueError, match="unknown ablation arm"):
        budget_runs("plus")
    with pytest.raises(ValueError, match="unknown arm"):
        arm_record("a-huge")
