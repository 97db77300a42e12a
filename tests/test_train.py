import csv

import numpy as np
import pytest
import torch

from smfuse.data import load_dataset
from smfuse.train import TrainingSet, get_config, mask_agreement, train

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


def test_training_is_deterministic_and_resume_replays_it(tmp_path, pairs):
    cfg = get_config("quick", **TINY)
    full = train(cfg, tmp_path / "full", pairs=pairs, progress=False)["model"]
    again = train(cfg, tmp_path / "again", pairs=pairs, progress=False)["model"]
    half = cfg.replace(steps=4)
    train(half, tmp_path / "resumed", pairs=pairs, progress=False)
    resumed = train(cfg, tmp_path / "resumed", pairs=pairs, resume=True, progress=False)["model"]
    for (k, v), w, r in zip(full.state_dict().items(), again.state_dict().values(), resumed.state_dict().values()):
        assert torch.equal(v, w), f"{k} differs between two identical runs"
        assert torch.equal(v, r), f"{k} differs after resume"
    rows = list(csv.DictReader(open(tmp_path / "resumed" / "log.csv")))
    assert [int(r["step"]) for r in rows] == [2, 4, 6, 8]
    assert (tmp_path / "full" / "final.pt").is_file()


def test_resume_refuses_another_configuration(tmp_path, pairs):
    cfg = get_config("quick", **TINY)
    train(cfg.replace(steps=2), tmp_path / "r", pairs=pairs, progress=False)
    with pytest.raises(ValueError, match="different configuration"):
        train(cfg.replace(lr=0.5), tmp_path / "r", pairs=pairs, resume=True, progress=False)


def test_quick_training_learns_the_initial_mask(tmp_path, pairs):
    """The map loss pulls MF towards MI: agreement rises well above its starting point."""
    ts = TrainingSet(pairs)
    torch.manual_seed(0)
    from smfuse.model import MaskGenerator

    before = mask_agreement(MaskGenerator(), ts).mean()
    res = train(get_config("quick", eval_every=0, variant="paper"), tmp_path / "q", pairs=pairs, progress=False)
    after = res["agreement"].mean()
    print(f"quick training: MF/MI agreement {before:.3f} -> {after:.3f} in {res['seconds']:.1f} s")
    assert after > before + 0.05
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
