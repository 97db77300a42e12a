import csv

import numpy as np
import pytest
import torch

from smfuse.data.sets import load_dataset
from smfuse.runtime.train import TrainingSet, get_config, mask_agreement, train

TINY = dict(steps=8, batch_size=4, patch_size=32, eval_every=0, checkpoint_every=4, log_every=2)


@pytest.fixture(scope="module")
def pairs():
    return load_dataset("synthetic", limit=3)


def test_batches_depend_only_on_seed_and_step(pairs):
    ts = TrainingSet(pairs)
    a = ts.batch(5, 4, 32, seed=0)
    b = ts.batch(5, 4, 32, seed=0)
    c = ts.batch(6, 4, 32, seed=0)
    for x, y in zip(a, b):
        assert torch.equal(x, y)
    assert not torch.equal(a[0], c[0])
    x1, x2, mi = a
    assert x1.shape == (4, 1, 32, 32) and x1.min() >= -1 and x1.max() <= 1
    assert set(mi.unique().tolist()) <= {0.0, 1.0}


def test_patch_larger_than_image_is_an_error(pairs):
    with pytest.raises(ValueError, match="smaller than the patch size"):
        TrainingSet(pairs).batch(0, 2, 1000, seed=0)


def _equal_models(a, b, what):
    for (k, v), w in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(v, w), f"{k} differs {what}"


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_training_is_deterministic_and_resume_replays_it(tmp_path, pairs, schedule):
    """Stopped at step 4 and resumed to 8 equals 8 uninterrupted steps, bit for bit, cosine included."""
    cfg = get_config("quick", lr_schedule=schedule, **TINY)
    full = train(cfg, tmp_path / "full", pairs=pairs, progress=False)["model"]
    again = train(cfg, tmp_path / "again", pairs=pairs, progress=False)["model"]
    _equal_models(full, again, "between two identical runs")
    stopped = train(cfg.replace(stop_at=3), tmp_path / "resumed", pairs=pairs, progress=False)
    assert stopped["steps"] == 3 and not (tmp_path / "resumed" / "final.pt").exists()
    resumed = train(cfg, tmp_path / "resumed", pairs=pairs, resume=True, progress=False)["model"]
    _equal_models(full, resumed, "after resume")
    rows = list(csv.DictReader(open(tmp_path / "resumed" / "log.csv")))
    assert [int(r["step"]) for r in rows] == [2, 3, 4, 6, 8]  # row 3: the stop; no row written twice
    assert (tmp_path / "full" / "final.pt").is_file()


def test_resume_from_an_older_checkpoint_drops_the_later_log_rows(tmp_path, pairs):
    """A run killed after its checkpoint at step 4 but with log rows up to 6 logs each step once."""
    import shutil

    cfg = get_config("quick", **TINY)
    run = tmp_path / "run"
    train(cfg.replace(stop_at=4), run, pairs=pairs, progress=False)
    saved = (run / "checkpoint.pt").read_bytes()
    train(cfg.replace(stop_at=6), run, pairs=pairs, resume=True, progress=False)
    (run / "checkpoint.pt").write_bytes(saved)  # as if killed between the checkpoint at 4 and the stop at 6
    res = train(cfg, run, pairs=pairs, resume=True, progress=False)
    steps = [int(r["step"]) for r in csv.DictReader(open(run / "log.csv"))]
    assert steps == [2, 4, 6, 8]
    seconds = [float(r["seconds"]) for r in csv.DictReader(open(run / "log.csv"))]
    assert seconds == sorted(seconds) and res["seconds"] >= seconds[-1] - 0.1
    shutil.rmtree(run)


def test_resume_refuses_another_configuration(tmp_path, pairs):
    cfg = get_config("quick", **TINY)
    train(cfg.replace(stop_at=2), tmp_path / "r", pairs=pairs, progress=False)
    with pytest.raises(ValueError, match="lr=0.002 \\(now 0.5\\)"):
        train(cfg.replace(lr=0.5), tmp_path / "r", pairs=pairs, resume=True, progress=False)
    cos = get_config("quick", lr_schedule="cosine", **TINY)
    train(cos.replace(stop_at=2), tmp_path / "c", pairs=pairs, progress=False)
    with pytest.raises(ValueError, match="cosine schedule spans"):
        train(cos.replace(steps=16), tmp_path / "c", pairs=pairs, resume=True, progress=False)
    with pytest.raises(FileNotFoundError, match="no checkpoint.pt to resume"):
        train(cfg, tmp_path / "none", pairs=pairs, resume=True, progress=False)


def test_an_existing_run_folder_is_refused_without_resume_or_overwrite(tmp_path, pairs):
    cfg = get_config("quick", **TINY).replace(steps=2)
    train(cfg, tmp_path / "r", pairs=pairs, progress=False)
    before = (tmp_path / "r" / "final.pt").read_bytes()
    with pytest.raises(FileExistsError, match="--resume .* or --overwrite"):
        train(cfg, tmp_path / "r", pairs=pairs, progress=False)
    assert (tmp_path / "r" / "final.pt").read_bytes() == before
    train(cfg.replace(seed=1), tmp_path / "r", pairs=pairs, overwrite=True, progress=False)
    assert (tmp_path / "r" / "final.pt").read_bytes() != before


def test_a_run_failing_before_its_first_checkpoint_leaves_no_folder(tmp_path, pairs):
    with pytest.raises(ValueError, match="smaller than the patch size"):
        train(get_config("quick", **TINY).replace(patch_size=4000), tmp_path / "new" / "run", pairs=pairs,
              progress=False)
    assert not (tmp_path / "new" / "run").exists()


@pytest.mark.parametrize("field, value, match", [
    ("steps", 0, "steps must be a positive integer"), ("steps", -3, "steps must be a positive integer"),
    ("batch_size", 0, "batch_size"), ("lr", 0.0, "lr must be a positive"), ("variant", "both", "variant must be"),
    ("precision", "fp16", "precision must be"), ("stop_at", 9, "stop_at must be"), ("holdout", -1, "holdout"),
    ("mi_weight", 0.0, "mi_weight"), ("map_weight", -1.0, "map_weight"), ("arch", "wide", "arch must be one of"),
    ("processes", 0, "processes must be an integer >= 1"),
])
def test_config_is_validated(field, value, match):
    with pytest.raises(ValueError, match=match):
        get_config("quick", steps=8).replace(**{field: value})


@pytest.mark.parametrize("cores, processes, batch, expected", [
    (2, 1, 16, 1), (2, 2, 16, 2), (1, 2, 16, 1), (2, 4, 16, 2), (8, 3, 16, 2), (8, 5, 16, 4), (8, 8, 12, 6),
])
def test_local_processes_fit_the_cores_and_divide_the_batch(monkeypatch, cores, processes, batch, expected):
    from smfuse.runtime.train import local_processes

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    cfg = get_config("quick", processes=processes, batch_size=batch, device="cpu")
    assert local_processes(cfg) == expected


def test_the_fast_configuration_asks_for_two_processes_and_the_study_for_one():
    from smfuse.reproduce.study import STUDY_BASE

    assert get_config("fast").processes == 2
    assert STUDY_BASE.processes == 1 and get_config("full").processes == 1


def test_a_run_records_the_processes_it_ran_on(tmp_path, pairs):
    import json

    train(get_config("quick", **TINY).replace(steps=1, processes=2), tmp_path / "r", pairs=pairs, progress=False)
    assert json.loads((tmp_path / "r" / "config.json").read_text())["processes"] == 1


def test_check_run_refuses_what_train_would(tmp_path):
    from smfuse.runtime.train import check_run

    cfg = get_config("quick", **TINY)
    with pytest.raises(ValueError, match="resume and overwrite exclude each other"):
        check_run(cfg, tmp_path / "r", resume=True, overwrite=True)
    with pytest.raises(FileNotFoundError, match="no checkpoint.pt to resume from"):
        check_run(cfg, tmp_path / "r", resume=True)
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "log.csv").write_text("step\n")
    with pytest.raises(FileExistsError, match="already holds a run"):
        check_run(cfg, tmp_path / "r")
    check_run(cfg, tmp_path / "r", overwrite=True)
    with pytest.raises(ValueError, match="holdout 8 leaves no training pairs of 8"):
        check_run(cfg.replace(limit=None, holdout=8), tmp_path / "new")
    with pytest.raises(ValueError, match="unknown data set"):
        check_run(cfg.replace(dataset="nope"), tmp_path / "new")
    assert (tmp_path / "r" / "log.csv").read_text() == "step\n" and not (tmp_path / "new").exists()


def test_initial_weights_come_from_the_seed_not_the_global_state(tmp_path, pairs):
    cfg = get_config("quick", **TINY).replace(steps=1, log_every=1)
    torch.manual_seed(123)
    a = train(cfg, tmp_path / "a", pairs=pairs, progress=False)["model"]
    torch.manual_seed(456)
    state = torch.random.get_rng_state()
    b = train(cfg, tmp_path / "b", pairs=pairs, progress=False)["model"]
    assert torch.equal(torch.random.get_rng_state(), state), "training drew from the global generator"
    _equal_models(a, b, "between two runs of one seed")


def test_training_labels_are_the_float64_initial_mask(pairs):
    from smfuse.method.guided_block import initial_mask
    from smfuse.io import to_grey

    ts = TrainingSet(pairs[:1])
    assert np.array_equal(ts.mi[0].numpy() > 0.5, initial_mask(to_grey(pairs[0].a), to_grey(pairs[0].b)))


@pytest.mark.filterwarnings("ignore:precision='bf16' without native bfloat16:RuntimeWarning")
def test_bf16_autocast_trains_close_to_fp32(tmp_path, pairs):
    """bfloat16 autocast changes the numbers a little, not the learning (quick runs, 60 steps).

    Patches of 32x32: where bfloat16 is emulated (AVX2 CPUs) a bf16 step is ~8x slower."""
    cfg = get_config("quick", steps=60, patch_size=32, eval_every=0, checkpoint_every=0, log_every=10,
                     variant="paper")
    a = train(cfg, tmp_path / "fp32", pairs=pairs, progress=False)["agreement"].mean()
    b = train(cfg.replace(precision="bf16"), tmp_path / "bf16", pairs=pairs, progress=False)["agreement"].mean()
    from smfuse.method.network import MaskGenerator

    before = mask_agreement(MaskGenerator(init=cfg.init, generator=torch.Generator().manual_seed(cfg.seed)),
                            TrainingSet(pairs)).mean()
    print(f"MF/MI agreement: untrained {before:.4f}; after 60 steps fp32 {a:.4f}, bf16 {b:.4f}")
    assert min(a, b) > before + 0.025  # both learned (measured: 0.571 -> 0.623 fp32, 0.625 bf16)
    assert abs(a - b) < 0.03


def test_code_variant_update_equals_the_full_loss_gradient(pairs):
    """Skipping Lgra's graph in the code variant changes nothing: its gradient is exactly zero."""
    from smfuse.method.losses import SMFuseLoss
    from smfuse.method.network import MaskGenerator

    x1, x2, mi = TrainingSet(pairs).batch(0, 4, 32, seed=0)
    grads = []
    for full in (True, False):
        net = MaskGenerator(generator=torch.Generator().manual_seed(0))
        terms = SMFuseLoss("code")(net(x1, x2), x1, x2, mi)
        (terms.total if full else 10 * terms.map).backward()
        grads.append([p.grad.clone() for p in net.parameters()])
    for g, h in zip(*grads):
        assert torch.equal(g, h)


def test_quick_training_learns_the_initial_mask(tmp_path, pairs):
    """The map loss pulls MF towards MI: agreement rises well above its starting point."""
    ts = TrainingSet(pairs)
    from smfuse.method.network import MaskGenerator

    before = mask_agreement(MaskGenerator(generator=torch.Generator().manual_seed(0)), ts).mean()
    # 100 of the quick configuration's 300 steps (measured, seeds 0-2: +0.17, +0.24, +0.30 in 17 s each)
    res = train(get_config("quick", steps=100, eval_every=0, variant="paper"), tmp_path / "q", pairs=pairs,
                progress=False)
    after = res["agreement"].mean()
    print(f"quick training: MF/MI agreement {before:.3f} -> {after:.3f} in {res['seconds']:.1f} s")
    assert after > before + 0.1
    rows = list(csv.DictReader(open(tmp_path / "q" / "log.csv")))
    maps = [float(r["map"]) for r in rows]
    q = max(1, len(maps) // 4)  # each row is one batch: compare quarters, not single batches
    assert sum(maps[-q:]) / q < sum(maps[:q]) / q


def test_unknown_option():
    with pytest.raises(ValueError, match="unknown training option"):
        get_config("full", learning_rate=1)
    with pytest.raises(ValueError, match="unknown configuration"):
        get_config("huge")


def test_cosine_schedule():
    cfg = get_config("quick", steps=100, lr=1e-3, lr_schedule="cosine")
    assert cfg.lr_at(0) == pytest.approx(1e-3)
    assert cfg.lr_at(50) == pytest.approx(5e-4)
    assert cfg.lr_at(100) == pytest.approx(0.0, abs=1e-15)
    assert get_config("quick", lr=3e-3).lr_at(77) == 3e-3
    with pytest.raises(ValueError, match="lr_schedule"):
        get_config("quick", lr_schedule="step").lr_at(1)


def test_the_dilated_architecture_trains_resumes_and_is_saved_as_such(tmp_path, pairs):
    import json

    from smfuse.runtime.checkpoint import load_checkpoint

    cfg = get_config("plus", **TINY)
    assert (cfg.arch, cfg.variant, cfg.map_weight, cfg.precision) == ("dilated", "paper", 1.0, "bf16")
    cfg = cfg.replace(precision="fp32", lr_schedule="cosine")
    whole = train(cfg, tmp_path / "whole", pairs=pairs, progress=False)
    train(cfg.replace(stop_at=4), tmp_path / "r", pairs=pairs, progress=False)
    resumed = train(cfg, tmp_path / "r", pairs=pairs, resume=True, progress=False)
    for k, v in whole["model"].state_dict().items():
        assert torch.equal(resumed["model"].state_dict()[k], v), k
    model, _ = load_checkpoint(tmp_path / "r" / "final.pt")
    assert model.arch == "dilated"
    # a run saved before a configuration field existed resumes with that field's default
    run = tmp_path / "old"
    old = get_config("quick", **TINY)
    train(old.replace(stop_at=2), run, pairs=pairs, progress=False)
    from smfuse.runtime.checkpoint import read_checkpoint, save_checkpoint

    state = read_checkpoint(run / "checkpoint.pt")
    meta = state["meta"]
    del meta["config"]["arch"]
    m, _ = load_checkpoint(run / "checkpoint.pt")
    opt = torch.optim.Adam(m.parameters())
    opt.load_state_dict(state["optimizer"])
    save_checkpoint(run / "checkpoint.pt", m, meta=meta, optimizer=opt, step=state["step"])
    assert "arch" not in json.dumps(read_checkpoint(run / "checkpoint.pt")["meta"]["config"])
    assert train(old, run, pairs=pairs, resume=True, progress=False)["steps"] == old.steps
    with pytest.raises(ValueError, match="is a 'released' network but the configuration trains arch='dilated'"):
        train(cfg.replace(init_from=str(run / "final.pt")), tmp_path / "ft", pairs=pairs, progress=False)


def test_training_objective_of_a_constant_mask_is_known_in_closed_form(pairs):
    """MG = 1 everywhere (dec3 zeroed, its bias large): the paper's Lmap is 0.5 * mean(1 - MI)
    (|MI - 1| is 0 or 1, and smooth-L1(1) = 0.5), Lgra that of the second source alone."""
    from smfuse.method.losses import max_gradient_map
    from smfuse.method.filters import laplacian
    from smfuse.method.network import MaskGenerator, to_network_input
    from smfuse.runtime.train import training_objective

    ts = TrainingSet(pairs[:2])
    net = MaskGenerator(generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        net.dec3.weight.zero_()
        net.dec3.bias.fill_(20.0)  # tanh(20) / 2 + 0.5 = 1 in float32
    cfg = get_config("quick", variant="paper", map_weight=10.0, gra_weight=2.0)
    got = training_objective(net, ts, cfg)
    for i in range(2):
        x1, x2 = to_network_input(ts.g1[i][None, None]), to_network_input(ts.g2[i][None, None])
        lgra = float(torch.mean((laplacian(x2) - max_gradient_map(x1, x2, variant="paper")) ** 2))
        lmap = 0.5 * float((1 - ts.mi[i]).mean())
        assert got["map"][i] == pytest.approx(lmap, rel=1e-5)
        assert got["gra"][i] == pytest.approx(lgra, rel=1e-4)
        assert got["total"][i] == pytest.approx(10 * lmap + 2 * lgra, rel=1e-4)
    np.testing.assert_allclose(got["margin"], 0.5)
    assert net.training  # the model's mode is restored
    with torch.no_grad():
        net.dec3.bias.zero_()  # MG = 0.5 everywhere: on the threshold, smooth-L1(0.5) = 0.125 whatever MI is
    on_threshold = training_objective(net, ts, cfg)
    np.testing.assert_allclose(on_threshold["margin"], 0.0, atol=1e-12)
    np.testing.assert_allclose(on_threshold["map"], 0.125, rtol=1e-6)


def test_training_objective_is_the_training_loss_on_whole_images(pairs):
    """The per-pair value equals the losses of smfuse.method.losses on the model's own forward pass."""
    from smfuse.method.losses import gradient_loss, map_loss
    from smfuse.method.network import MaskGenerator, to_network_input
    from smfuse.runtime.train import training_objective

    ts = TrainingSet(pairs[:1])
    net = MaskGenerator(generator=torch.Generator().manual_seed(3)).eval()
    cfg = get_config("quick", variant="code", map_weight=10.0, gra_weight=1.0)
    got = training_objective(net, ts, cfg)
    x1, x2 = to_network_input(ts.g1[0][None, None]), to_network_input(ts.g2[0][None, None])
    with torch.no_grad():
        mg = net(x1, x2)
    want_map = float(map_loss(mg, ts.mi[0][None, None], variant="code"))
    assert got["map"][0] == pytest.approx(want_map, rel=1e-4)
    assert got["total"][0] == pytest.approx(10 * want_map + float(gradient_loss(mg, x1, x2)), rel=1e-4)


def test_the_subtraction_supervision_is_the_raw_decision_of_the_subtraction_maps(pairs):
    """supervision='subtraction' labels a pixel 1 where S2 > S1, with no guided filter (claim C5's weaker label)."""
    from smfuse.io import to_grey
    from smfuse.method.guided_block import initial_mask, subtraction_map

    g1, g2 = to_grey(pairs[0].a), to_grey(pairs[0].b)
    ts = TrainingSet(pairs[:1], supervision="subtraction")
    expected = subtraction_map(g2) > subtraction_map(g1)
    assert np.array_equal(ts.mi[0].numpy() > 0.5, expected)
    # it differs from MI (the guided filter changes many pixels) and is less accurate against the true map
    mi = initial_mask(g1, g2)
    assert (expected != mi).mean() > 0.05
    assert (expected == pairs[0].mask).mean() < (mi == pairs[0].mask).mean()
    with pytest.raises(ValueError, match="supervision must be one of"):
        TrainingSet(pairs[:1], supervision="guided")
    with pytest.raises(ValueError, match="supervision must be one of"):
        get_config("quick", supervision="truth")


def test_held_out_metrics_are_logged_at_each_evaluation_and_resume_keeps_them(tmp_path, pairs):
    """A held-out metric adds a column holdout_<name>: the mean over the held-out pairs of fn(g1, g2, fused)."""
    from smfuse.runtime.train import _masks

    seen = []

    def brightness(g1, g2, fused):  # a metric whose value we can recompute: the fused image's mean
        seen.append(fused.shape)
        return float(fused.mean())

    cfg = get_config("quick", **{**TINY, "eval_every": 4}).replace(holdout=2)
    res = train(cfg.replace(stop_at=4), tmp_path / "r", pairs=pairs, progress=False,
                holdout_metrics={"brightness": brightness})
    rows = list(csv.DictReader(open(tmp_path / "r" / "log.csv")))
    assert list(rows[0]) == ["step", "loss", "map", "gra", "patches_per_s", "seconds", "agreement",
                             "holdout_agreement", "holdout_brightness", "holdout_brightness_pairs"]
    held = TrainingSet(pairs[-2:])
    means = [float(np.where(m, g2.numpy(), g1.numpy()).mean())
             for m, g1, g2 in zip(_masks(res["model"], held), held.g1, held.g2)]
    assert [float(x) for x in rows[-1]["holdout_brightness_pairs"].split()] == pytest.approx(means, abs=1e-6)
    assert float(rows[-1]["holdout_brightness"]) == pytest.approx(np.mean(means), abs=1e-6)
    assert [r["holdout_brightness"] != "" for r in rows] == [int(r["step"]) % 4 == 0 for r in rows]
    assert len(seen) == 2 and all(s == pairs[-1].a.shape[:2] for s in seen)  # one evaluation (step 4) x 2 pairs
    with pytest.raises(ValueError, match="resume with the held-out metrics the run was started with"):
        train(cfg, tmp_path / "r", pairs=pairs, resume=True, progress=False)
    train(cfg, tmp_path / "r", pairs=pairs, resume=True, progress=False, holdout_metrics={"brightness": brightness})
    steps = [int(r["step"]) for r in csv.DictReader(open(tmp_path / "r" / "log.csv"))]
    assert steps == [2, 4, 6, 8]
    with pytest.raises(ValueError, match="set holdout > 0"):
        train(cfg.replace(holdout=0), tmp_path / "n", pairs=pairs, progress=False, holdout_metrics={"b": brightness})
