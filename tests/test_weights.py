"""Tests of smfuse.runtime.weights: every weights spec -> a model, and the bounded model cache."""

import os

import numpy as np
import pytest
import torch

from datahelp import require
from smfuse.runtime import weights
from smfuse.runtime.checkpoint import CheckpointError, save_checkpoint
from smfuse.method.network import MaskGenerator
from smfuse.runtime.weights import (
    CACHE_SIZE,
    DEFAULT_VARIANT,
    PACKAGE_WEIGHTS_DIR,
    WEIGHTS_ENV,
    cache_size,
    clear_cache,
    load_model,
    load_weights,
    resolve,
)


@pytest.fixture(autouse=True)
def _empty_cache():
    clear_cache()
    yield
    clear_cache()


def _net(seed: int) -> MaskGenerator:
    torch.manual_seed(seed)
    return MaskGenerator()


def _same(a: MaskGenerator, b: MaskGenerator) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def test_shipped_names_resolve_in_the_package_or_the_environment_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(WEIGHTS_ENV, raising=False)
    assert resolve(None) == resolve(DEFAULT_VARIANT)
    assert resolve("code").path == PACKAGE_WEIGHTS_DIR / "smfuse_code.pt"
    assert resolve("paper").kind == "ours"
    net = _net(1)
    save_checkpoint(tmp_path / "smfuse_code.pt", net, meta={})
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    assert resolve("code").path == tmp_path / "smfuse_code.pt"
    assert _same(load_weights("code"), net)
    # no fallback to the package's file when the folder set lacks the variant
    with pytest.raises(FileNotFoundError, match=rf"weights 'paper': no smfuse_paper\.pt in {WEIGHTS_ENV}="):
        resolve("paper")


def test_specs_that_do_not_resolve_say_so_in_one_line(monkeypatch, tmp_path):
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path))  # no authors' checkpoint there
    cases = {
        "code": (FileNotFoundError, "no smfuse_code.pt in"),
        "authors": (FileNotFoundError, r"the authors' checkpoint \(smfuse_official/checkpoint\.zip\) is not in a "
                                        r"data folder; set SMFUSE_DATA or use 'authors:PATH'"),
        "authors@614": (FileNotFoundError, "is not in a data folder"),
        "authors:@3": (ValueError, "empty path after 'authors:'"),
        str(tmp_path / "absent.pt"): (CheckpointError, "no such checkpoint file"),
        f"authors:{tmp_path / 'absent.zip'}": (CheckpointError, "no such checkpoint"),
    }
    for spec, (kind, message) in cases.items():
        with pytest.raises(kind, match=message) as err:
            load_model(spec)
        assert "\n" not in str(err.value), spec
    with pytest.raises(TypeError, match="weights spec must be a str"):
        resolve(3)
    assert cache_size() == 0


def test_cli_prints_an_unresolved_spec_as_one_error_line(monkeypatch, tmp_path, capsys):
    from smfuse.cli import main
    from smfuse.data.sets import synthetic_pair
    from smfuse.io import write_image

    p = synthetic_pair(1, size=32)
    write_image(tmp_path / "a.png", p.a)
    write_image(tmp_path / "b.png", p.b)
    monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path))
    out = tmp_path / "f.png"
    code = main(["fuse", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(out), "--weights", "code"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1
    assert err[0].startswith("smfuse: error: weights 'code': no smfuse_code.pt in SMFUSE_WEIGHTS_DIR="), err
    assert not out.exists()


def test_the_cache_is_bounded_least_recently_used_out(tmp_path):
    files = [save_checkpoint(tmp_path / f"w{i}.pt", _net(i), meta={}) for i in range(CACHE_SIZE + 1)]
    first = load_model(files[0])
    assert load_model(str(files[0])) is first  # a str and a path name one file
    assert load_weights(files[0]) is not first  # load_weights: a fresh model, never the cached one
    second = load_model(files[1])
    for f in files[2:CACHE_SIZE]:
        load_model(f)
    assert cache_size() == CACHE_SIZE
    assert load_model(files[0]) is first  # refreshed: now the most recently used
    newest = load_model(files[CACHE_SIZE])  # evicts files[1], the least recently used
    assert cache_size() == CACHE_SIZE
    assert load_model(files[0]) is first and load_model(files[CACHE_SIZE]) is newest
    again = load_model(files[1])  # was evicted: read again
    assert again is not second and _same(again, second) and cache_size() == CACHE_SIZE


def test_a_rewritten_file_is_read_again(tmp_path):
    f = save_checkpoint(tmp_path / "w.pt", _net(1), meta={})
    old = load_model(f)
    save_checkpoint(f, _net(2), meta={})
    st = os.stat(f)
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))  # a coarse clock may not move
    new = load_model(f)
    assert new is not old and _same(new, _net(2)) and not _same(old, new)


def test_smfuse_methods_follow_the_weights_folder(monkeypatch, tmp_path):
    """The registry's SMFuse methods take SMFUSE_WEIGHTS_DIR into account (the old baselines ignored it)."""
    from smfuse.evaluation.methods import get_method
    from smfuse.data.sets import synthetic_pair
    from smfuse.runtime.inference import fuse

    p = synthetic_pair(3, size=48)
    nets = {}
    for seed in (1, 2):
        nets[seed] = _net(seed)
        save_checkpoint(tmp_path / str(seed) / "smfuse_code.pt", nets[seed], meta={})
    for seed, net in nets.items():
        monkeypatch.setenv(WEIGHTS_ENV, str(tmp_path / str(seed)))
        got = get_method("smfuse_code")(p.a, p.b)
        np.testing.assert_array_equal(got.fused, fuse(p.a, p.b, net).fused)
        np.testing.assert_array_equal(got.mask, fuse(p.a, p.b, net).mask)
    outs = [fuse(p.a, p.b, n).mask for n in nets.values()]
    assert (outs[0] != outs[1]).any()  # the two weights do give different fusions


def test_official_specs_on_the_release():
    require("train")
    from smfuse.runtime.official import load_official

    z = weights.authors_checkpoint()
    assert z is not None and z.name == "checkpoint.zip"
    ref614 = load_official(z, 614)
    for spec in (f"authors:{z}@614", "authors@614"):
        assert resolve(spec).epoch == 614
        assert _same(load_weights(spec), ref614), spec
    assert _same(load_weights("authors"), load_official(z))
    assert load_model("authors") is load_model(f"authors:{z}")  # one file, one cached model
    with pytest.raises(CheckpointError, match="no epoch 999"):
        load_weights("authors@999")
    with pytest.raises(CheckpointError, match="TensorFlow checkpoint; load it with 'authors:"):
        load_weights(str(z))  # the authors' zip given as one of ours
