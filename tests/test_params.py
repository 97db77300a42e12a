"""smfuse.reproduce.params: the notebooks' parameter checks."""

import os

import numpy as np
import pytest
import torch

from smfuse.reproduce import params
from smfuse.io import write_image


@pytest.fixture
def out(tmp_path):
    return str(tmp_path / "out")


def test_profile_must_be_quick_or_full(out):
    with pytest.raises(ValueError, match=r"profile must be one of 'quick', 'full', got 'medium'"):
        params.check("05-evaluation", profile="medium", out_dir=out)
    lines = []
    p = params.check("05-evaluation", profile="full", out_dir=out, log=lines.append)
    assert p.profile == "full" and p.out.is_dir() and "writing to" in lines[0]


def test_dataset_name_folder_and_truth(out, tmp_path, rng):
    assert params.check("x", profile="quick", out_dir=out, dataset=None).dataset is None
    assert params.check("x", profile="quick", out_dir=out, dataset="synthetic", needs_truth=True).dataset == "synthetic"
    with pytest.raises(ValueError, match="neither a data set name"):
        params.check("x", profile="quick", out_dir=out, dataset="no-such-thing")
    pairs = tmp_path / "mine"
    pairs.mkdir()
    a = rng.integers(0, 256, (20, 20), dtype=np.uint8)
    write_image(pairs / "p_A.png", a)
    write_image(pairs / "p_B.png", a)
    p = params.check("x", profile="quick", out_dir=out, dataset=str(pairs))
    assert p.dataset == str(pairs.resolve()) and params.label(p.dataset) == "mine"
    with pytest.raises(ValueError, match="all-in-focus truth"):
        params.check("x", profile="quick", out_dir=out, dataset=str(pairs), needs_truth=True)
    write_image(pairs / "q_A.png", a)
    with pytest.raises(ValueError, match="q_A.png"):  # the folder's pairing error, before any work
        params.check("x", profile="quick", out_dir=out, dataset=str(pairs))


def test_a_missing_named_set_says_how_to_fetch_it(out, tmp_path, monkeypatch):
    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path))
    with pytest.raises(ValueError, match=r"smfuse data fetch nyud100_gt"):
        params.check("x", profile="quick", out_dir=out, dataset="nyud100_gt")


def test_methods_keep_the_required_ones(out):
    p = params.check("x", profile="quick", out_dir=out, methods="dwt,smfuse_code", required_methods=("initial_mask",))
    assert p.methods == {"dwt", "smfuse_code", "initial_mask"}
    assert p.keep("dwt") and p.keep("initial_mask") and not p.keep("gff")
    assert params.check("x", profile="quick", out_dir=out, methods=None).keep("gff")
    with pytest.raises(ValueError, match="unknown method 'cnn'"):
        params.check("x", profile="quick", out_dir=out, methods="cnn")


def test_seed(out):
    assert params.check("x", profile="quick", out_dir=out, seed=3).seed == 3
    for bad in (-1, 1.5, "2", True):
        with pytest.raises(ValueError, match="seed must be an integer"):
            params.check("x", profile="quick", out_dir=out, seed=bad)


def test_weights_file_becomes_the_weights_folder(out, tmp_path, monkeypatch):
    from smfuse.reproduce import report
    from smfuse.runtime.checkpoint import save_checkpoint
    from smfuse.method.network import MaskGenerator

    monkeypatch.setenv(report.WEIGHTS_ENV, "unset-after-the-test")  # recorded, so the test leaves none behind
    monkeypatch.delenv(report.WEIGHTS_ENV)
    torch.manual_seed(1)
    net = MaskGenerator()
    ckpt = tmp_path / "final.pt"
    save_checkpoint(ckpt, net, meta={"config": {"variant": "code"}})
    p = params.check("x", profile="quick", out_dir=out, weights=str(ckpt))
    assert os.environ[report.WEIGHTS_ENV] == p.weights
    models = report.load_models()
    assert torch.equal(models["smfuse_code"].dec3.weight, net.dec3.weight) and models["smfuse_paper"] is None
    with pytest.raises(ValueError, match="no such folder or checkpoint"):
        params.check("x", profile="quick", out_dir=out, weights=str(tmp_path / "nope.pt"))
    with pytest.raises(ValueError, match="neither smfuse_code.pt nor smfuse_paper.pt"):
        params.check("x", profile="quick", out_dir=out, weights=str(tmp_path / "out"))
