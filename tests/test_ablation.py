"""smfuse.reproduce.ablation: the study's analysis on small hand-made tables (and one tiny trained run)."""

import numpy as np
import pandas as pd
import pytest

from smfuse.reproduce import ablation as A
from smfuse.reproduce.claims import decide, decide_equivalence

SEEDS = (0, 1, 2)
PAIRS = [(f"s{i}", f"img{i // 2}") for i in range(8)]  # 8 synthetic pairs cut from 4 base images


def _rows(run, *, acc, bf=0.8, qabf=0.78, grey=0.70, obj=1.0, margin=0.4, plateau=0.001, agree=0.95, rng):
    """One run's rows at every seed: scores = the given level + noise of sd 0.001 (seed-to-seed and pair-to-pair)."""
    out = []
    for seed in SEEDS:
        for name, cluster in PAIRS:
            out.append({"arm": run, "seed": seed, "set": "synthetic", "pair": name, "cluster": cluster,
                        "mask_accuracy": acc + rng.normal(0, 1e-3), "boundary_f": bf + rng.normal(0, 1e-3),
                        "qabf": qabf + rng.normal(0, 1e-3)})
        for i in range(3):
            out.append({"arm": run, "seed": seed, "set": "lytro held out", "pair": f"l{i}", "cluster": f"l{i}",
                        "qabf": qabf + rng.normal(0, 1e-3)})
            out.append({"arm": run, "seed": seed, "set": "grayscale", "pair": f"g{i}", "cluster": f"g{i}",
                        "qabf": grey + rng.normal(0, 1e-3)})
            out.append({"arm": run, "seed": seed, "set": A.OBJECTIVE, "pair": f"t{i}", "cluster": f"t{i}",
                        "objective": obj * (1 + rng.normal(0, 1e-3)), "lgra": 0.001, "margin": margin * (1 + 0.01 * i)})
        out.append({"arm": run, "seed": seed, "set": A.LOG, "pair": "(training log)", "cluster": "(training log)",
                    "agreement_MF_MI_train": agree + rng.normal(0, 1e-4),
                    "agreement_MF_MI_held_out": agree, "plateau_change": plateau * (1 + 0.1 * seed), "seconds": 60.0})
    return out


@pytest.fixture(scope="module")
def per_run():
    """b plateaus at 3000 steps; c and d move when halved but not when doubled; e does not move when halved; f's
    mask never settles, its objective does by 6000 steps and its MG sits on the threshold; a converges nowhere, by
    mask or objective; g and h repeat d and c in float32 (h-long and e-long are missing)."""
    rng = np.random.default_rng(0)
    spec = {
        "a": dict(acc=0.90, plateau=0.05), "a-long": dict(acc=0.93, plateau=0.05, obj=0.9),
        "a-xlong": dict(acc=0.96, plateau=0.05, obj=0.8),
        "b-half": dict(acc=0.90), "b": dict(acc=0.97, plateau=0.001),
        "c-half": dict(acc=0.90, plateau=0.05), "c": dict(acc=0.95, plateau=0.05, bf=0.78),
        "c-long": dict(acc=0.95, plateau=0.05, bf=0.78),
        "d-half": dict(acc=0.90, plateau=0.05), "d": dict(acc=0.98, plateau=0.05, bf=0.80, grey=0.705),
        "d-long": dict(acc=0.98, plateau=0.05, bf=0.80),
        "e-half": dict(acc=0.95, plateau=0.05), "e": dict(acc=0.95, plateau=0.05),
        "f": dict(acc=0.75, plateau=0.2, obj=0.0050, margin=1e-5),
        "f-long": dict(acc=0.65, plateau=0.2, obj=0.0050, margin=1e-5),
        "g": dict(acc=0.98, plateau=0.05), "g-long": dict(acc=0.98, plateau=0.05),
        "h": dict(acc=0.95, plateau=0.05),
    }
    rows = [r for run, kw in spec.items() for r in _rows(run, rng=rng, **kw)]
    return pd.DataFrame(rows, columns=A.COLUMNS)


@pytest.fixture(scope="module")
def conv(per_run):
    return A.convergence(per_run)


def test_each_arm_is_read_where_it_converged(conv):
    assert conv.read_at == {"b": "b", "c": "c-long", "d": "d-long", "e": "e", "f": "f-long"}
    assert conv.by_objective == {"f"}  # a converged nowhere
    t = conv.table.set_index("run")
    assert "c-half" not in t.index and list(t[t.arm == "a"].index) == ["a", "a-long", "a-xlong"]
    assert t.loc["b", "plateau"] == "supported" and t.loc["c", "doubling"] == "refuted"
    assert t.loc["c-long", "doubling"] == "supported" and t.loc["c-long", "precision"] == "bf16"
    assert t.loc["g-long", "converged"] and "g" not in conv.read_at  # a precision check is never read
    assert t.loc["f-long", "objective_doubling"] == "supported" and not t.loc["f-long", "converged"]
    assert conv.run_of("a") == "a" and conv.converged("c-long") and not conv.converged("c")


def test_a_claim_reads_each_arm_where_it_converged_and_again_at_the_longest_run(per_run, conv):
    (c4,) = A.arm_claims(per_run, conv, "supervision", "d", "f", "mask_accuracy", ["synthetic"], cid="C4")
    assert c4.text == ("supervision [arm f: its objective has converged by 6000 steps, its mask has not] "
                       "[arm d read at 6000 steps] [arm f read at 6000 steps]")
    assert (c4.id, c4.subject, c4.section, c4.file) == ("C4", "retrain", "paper", "ablation_per_pair.csv")
    syn = per_run[per_run.set == "synthetic"]
    d = syn[syn.arm == "d-long"].mask_accuracy.to_numpy().reshape(3, 8)
    f = syn[syn.arm == "f-long"].mask_accuracy.to_numpy().reshape(3, 8)
    want = decide(d - f, direction="greater", clusters=[c for _, c in PAIRS])
    assert c4.verdict.estimate == pytest.approx(want.estimate) and c4.verdict.low == pytest.approx(want.low)
    assert c4.verdict.verdict == "supported" and c4.verdict.n_clusters == 4
    # arm a converged nowhere: read at the common budget, then again with its longest run
    first, again = A.arm_claims(per_run, conv, "sampling", "b", "a", "mask_accuracy", ["synthetic"])
    assert first.text == "sampling [arm a has not converged]" and first.section == "beyond" and first.id == ""
    assert first.ours.startswith("arm a -> b: ") and again.ours.startswith("arm a-xlong -> b: ")
    assert "again with arm a at 12000 steps" in again.text
    assert first.verdict.estimate == pytest.approx(0.07, abs=0.002)
    assert again.verdict.estimate == pytest.approx(0.01, abs=0.002)
    missing = A.run_claim(per_run, "float32", "h-long", "h", "boundary_f", ["synthetic"])
    assert missing.verdict.verdict == "not measured" and "smfuse study --arms h h-long" in missing.verdict.reason


def test_two_unconverged_arms_are_read_again_both_at_their_longest_runs(per_run, conv):
    nowhere = A.Convergence(table=conv.table)  # as if no arm had converged anywhere
    first, again = A.arm_claims(per_run, nowhere, "Lgra", "d", "c", "boundary_f", ["synthetic"], cid="C8")
    assert first.text == "Lgra [arm d has not converged] [arm c has not converged]"
    assert first.ours.startswith("arm c -> d: ")
    assert again.text == ("Lgra [again with arm d at 6000 steps and arm c at 6000 steps, their longest runs; their "
                          "masks have not converged there either]")
    assert again.ours.startswith("arm c-long -> d-long: ")  # one budget on both sides, never d-long against c
    (single,) = A.arm_claims(per_run, nowhere, "sampling", "b", "a", "mask_accuracy", ["synthetic"])[1:]
    assert single.ours.startswith("arm a-xlong -> b: ")  # b has no longer run: it stays at its own


def test_a_run_claim_says_whether_both_runs_converged(per_run, conv):
    row = A.run_claim(per_run, "Lgra", "g-long", "h", "boundary_f", ["synthetic"], cid="C8", conv=conv)
    assert row.text == "Lgra [not converged: h]"
    assert row.verdict.rule.startswith("mean of boundary F(with Lgra)")  # the register's rule


def test_the_appendix_convergence_claims(per_run, conv):
    plateau = A.plateau_claim(per_run)
    assert "least settled arm is f" in plateau.text and plateau.section == "appendix"
    ch = np.array([0.2 * (1 + 0.1 * s) for s in SEEDS])
    assert plateau.verdict.estimate == pytest.approx(float((0.01 - ch).mean()))
    assert plateau.verdict.verdict == "refuted" and plateau.verdict.n_pairs == 1  # one number per seed
    doublings = {r.text.split(":")[0]: r for r in A.doubling_claims(per_run)}
    assert list(doublings) == ["Arm a has converged by twice the common budget",
                               "Arm a has converged by four times the common budget",
                               "Arm c has converged by twice the common budget",
                               "Arm d has converged by twice the common budget",
                               "Arm e has converged by twice the common budget",
                               "Arm f has converged by twice the common budget",
                               "Arm g (arm d in float32) has converged by twice the common budget",
                               "Arm h (arm c in float32) has converged by twice the common budget"]
    assert doublings["Arm c has converged by twice the common budget"].verdict.verdict == "supported"
    assert doublings["Arm a has converged by twice the common budget"].verdict.verdict == "refuted"
    assert doublings["Arm h (arm c in float32) has converged by twice the common budget"].verdict.verdict == \
        "not measured"
    half = A.halving_claim(per_run)
    assert half.text.endswith("least settled: d") and half.verdict.verdict == "refuted"  # d moved 0.08, the most
    (obj,) = [r for r in A.objective_claims(per_run, conv) if "Arm f" in r.text]
    assert "(Lgra)" in obj.text and obj.verdict.verdict == "supported"
    every = A.all_converged_claim(per_run, conv)
    assert every.text.endswith("(deciding arm: a)") and "a nowhere" in every.ours and "f at f-long (objective)" in \
        every.ours
    collapse = A.collapse_claim(per_run)
    assert collapse.verdict.verdict == "supported"
    # margins 1e-5 x (1, 1.01, 1.02) on the three training pairs
    assert collapse.verdict.estimate == pytest.approx(1e-3 - 1e-5 * (1 + 0.01), rel=1e-6)


def test_precision_tolerance_is_two_seed_sds_of_the_bfloat16_arm(per_run, conv):
    rows = A.precision_claims(per_run, conv)
    assert [r.text.split("(arm ")[1].split(")")[0] for r in rows] == [
        "d against g", "d against g", "c against h", "c against h", "d-long against g-long", "d-long against g-long",
        "c-long against h-long", "c-long against h-long"]
    qabf = rows[0]
    held = per_run[per_run.set == "lytro held out"]
    d = held[held.arm == "d"].qabf.to_numpy().reshape(3, 3)
    g = held[held.arm == "g"].qabf.to_numpy().reshape(3, 3)
    sd = d.mean(axis=1).std(ddof=1)
    want = decide_equivalence(d - g, tol=2 * sd)
    assert qabf.verdict.estimate == pytest.approx(want.estimate) and qabf.verdict.high == pytest.approx(want.high)
    assert f"tolerance 2 sd = {2 * sd:.4f}" in qabf.ours
    agreement = rows[1]
    assert agreement.verdict.n_pairs == 1 and np.isfinite(agreement.verdict.high)  # over seeds only
    assert rows[4].text.endswith("[at 6000 steps, both converged]")
    assert rows[6].verdict.verdict == "not measured" and "smfuse study --arms c-long h-long" in rows[6].verdict.reason


def test_selection_picks_the_variant_with_the_higher_grey_qabf(per_run):
    row, chosen = A.selection_claim(per_run)
    assert chosen == "paper" and row.section == "appendix" and "QAB/F on the grey set" in row.text
    assert row.verdict.estimate == pytest.approx(0.005, abs=0.002)
    row, chosen = A.selection_claim(per_run[per_run.set != "grayscale"])
    assert chosen is None and row.verdict.verdict == "not measured"


def test_ablation_table_gives_mean_and_sd_over_seeds_with_each_runs_record(per_run):
    t = A.ablation_table(per_run)
    assert list(t.columns[:5]) == ["configuration", "base", "steps", "precision", "seeds"]
    assert (t.loc["g-long", "base"], t.loc["g-long", "steps"], t.loc["g-long", "precision"]) == ("g", 6000, "fp32")
    syn = per_run[(per_run.set == "synthetic") & (per_run.arm == "c")]
    per_seed = syn.groupby("seed").mask_accuracy.mean()
    assert t.loc["c", "mask_accuracy"] == pytest.approx(per_seed.mean())
    assert t.loc["c", "mask_accuracy_sd"] == pytest.approx(per_seed.std(ddof=1))
    assert t.loc["c", "seeds"] == 3 and A.ablation_table(per_run.iloc[:0]).empty


def test_read_scores_takes_a_table_only_for_the_same_runs_and_pairs(per_run, tmp_path):
    from types import SimpleNamespace

    path = tmp_path / "ablation_per_pair.csv"
    per_run.to_csv(path, index=False)
    runs = {k: None for k in set(zip(per_run.arm, per_run.seed))}
    scored = {s: [SimpleNamespace(name=p) for p in per_run[per_run.set == s].pair.unique()]
              for s in ("synthetic", "lytro held out", "grayscale")}
    trained = SimpleNamespace(names=["t0", "t1", "t2"])
    back = A.read_scores(path, runs, scored, trained)
    pd.testing.assert_frame_equal(back, per_run, check_dtype=False)
    assert A.read_scores(path, runs, {**scored, "grayscale": scored["grayscale"][:1]}, trained) is None
    assert A.read_scores(path, {**runs, ("e-long", 0): None}, scored, trained) is None
    assert A.read_scores(tmp_path / "absent.csv", runs, scored, trained) is None


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:precision=.bf16. without native bfloat16:RuntimeWarning")
def test_score_runs_scores_a_tiny_trained_run(tmp_path):
    from smfuse.data.sets import load_dataset, synthetic_pair
    from smfuse.reproduce.study import finished_runs, run_study
    from smfuse.runtime.train import TrainingSet

    tiny = dict(steps=4, dataset="synthetic", limit=3, holdout=1, eval_every=2, checkpoint_every=2, log_every=2,
                patch_size=32, batch_size=4)
    run_study(arms=["d"], seeds=[0], work=tmp_path / "w", results=tmp_path / "r", overrides=tiny, echo=lambda m: None)
    pair = synthetic_pair(8, size=64)
    t = A.score_runs(finished_runs(tmp_path / "r"), {"synthetic": [pair]},
                     TrainingSet(load_dataset("synthetic", limit=1)))
    assert list(t.columns) == A.COLUMNS and list(t.set) == ["synthetic", A.OBJECTIVE, A.LOG]
    syn, obj, log = (t.iloc[i] for i in range(3))
    assert syn.cluster == pair.meta["image"] and 0 <= syn.mask_accuracy <= 1 and 0 <= syn.qabf <= 1
    assert obj.objective > 0 and 0 <= obj.margin <= 0.5
    assert log.seconds > 0 and log.plateau_change >= 0
