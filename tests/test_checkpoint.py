"""Tests of smfuse.runtime.checkpoint: our own checkpoint format."""

import datetime
import os

import pytest
import torch

from bundlewriter import official_like, write_official_zip
from smfuse.runtime.checkpoint import CheckpointError, load_checkpoint, read_checkpoint, save_checkpoint
from smfuse.method.network import MaskGenerator
from smfuse.runtime.weights import load_weights


# ----------------------------------------------------------------------------- our checkpoints

def _trained_pair():
    torch.manual_seed(0)
    net = MaskGenerator()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(2, 1, 12, 12) * 2 - 1
    net(x, x.flip(-1)).mean().backward()
    opt.step()
    return net, opt


def test_save_load_round_trip(tmp_path):
    net, opt = _trained_pair()
    meta = {"variant": "code", "lr": 1e-3, "pairs": [1, 2, 3], "nested": {"ok": True, "none": None}}
    f = save_checkpoint(tmp_path / "sub" / "net.pt", net, meta=meta, optimizer=opt, step=17)
    assert f == tmp_path / "sub" / "net.pt"
    assert os.listdir(tmp_path / "sub") == ["net.pt"]  # no temporary file left behind
    got, got_meta = load_checkpoint(f)
    assert got_meta == meta and not got.training
    for k, v in net.state_dict().items():
        assert torch.equal(got.state_dict()[k], v)
    ckpt = read_checkpoint(str(f))
    assert ckpt["step"] == 17 and ckpt["format"] == "smfuse.MaskGenerator"
    opt2 = torch.optim.Adam(got.parameters(), lr=1e-3)
    opt2.load_state_dict(ckpt["optimizer"])
    s1, s2 = opt.state_dict()["state"][0], opt2.state_dict()["state"][0]
    assert torch.equal(s1["exp_avg"], s2["exp_avg"]) and float(s2["step"]) == 1
    assert torch.equal(load_weights(str(f)).dec3.weight, net.dec3.weight)
    assert torch.equal(load_weights(f).dec3.weight, net.dec3.weight)  # a Path works too
    bare = save_checkpoint(tmp_path / "bare.pt", MaskGenerator(), meta={})
    assert read_checkpoint(bare)["optimizer"] is None and read_checkpoint(bare)["step"] is None


def test_save_is_atomic_and_checks_its_arguments(tmp_path, monkeypatch):
    net, _ = _trained_pair()
    f = save_checkpoint(tmp_path / "net.pt", net, meta={"v": 1})
    before = f.read_bytes()

    def broken_save(obj, fh, *args, **kwargs):
        fh.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(f, MaskGenerator(), meta={"v": 2})
    monkeypatch.undo()
    assert f.read_bytes() == before and os.listdir(tmp_path) == ["net.pt"]
    assert load_checkpoint(f)[1] == {"v": 1}

    with pytest.raises(TypeError, match=r"meta\['when'\] is a datetime"):
        save_checkpoint(f, net, meta={"when": datetime.datetime.now()})
    with pytest.raises(TypeError, match="meta must be a dict"):
        save_checkpoint(f, net, meta=None)
    with pytest.raises(TypeError, match="model must be a MaskGenerator"):
        save_checkpoint(f, torch.nn.Linear(2, 2), meta={})
    with pytest.raises(ValueError, match="step must be >= 0"):
        save_checkpoint(f, net, meta={}, step=-1)
    assert f.read_bytes() == before


def test_load_checkpoint_errors_are_one_line_value_errors(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", MaskGenerator(), meta={})
    raw = good.read_bytes()
    cases = {
        "missing.pt": (None, "no such checkpoint file"),
        "truncated.pt": (raw[: len(raw) // 2], "not a readable torch checkpoint"),
        "garbage.pt": (b"\x89garbage" * 50, "not a readable torch checkpoint"),
        "empty.pt": (b"", "not a readable torch checkpoint"),
    }
    for name, (content, message) in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=message) as err:
            load_checkpoint(tmp_path / name)
        text = str(err.value)
        assert name in text and "\n" not in text, text
        assert err.value.__cause__ is None  # no chained zipfile/pickle traceback
        assert err.value.__context__ is None or err.value.__suppress_context__

    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match=r"foreign\.pt: not an smfuse mask-generator checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    payload = torch.load(good, weights_only=True)
    payload["state_dict"]["dec1.weight"] = torch.zeros(64, 100, 1, 1)
    torch.save(payload, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match=r"shape\.pt: dec1\.weight has shape \(64, 100, 1, 1\), "
                                              r"expected \(64, 128, 1, 1\)"):
        load_checkpoint(tmp_path / "shape.pt")
    del payload["state_dict"]["dec3.bias"]
    torch.save(payload, tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match=r"partial\.pt: state_dict does not fit MaskGenerator "
                                              r"\(missing: dec3\.bias"):
        load_checkpoint(tmp_path / "partial.pt")


def test_the_authors_zip_is_named_when_read_as_ours(tmp_path):
    z = tmp_path / "checkpoint.zip"
    write_official_zip(z, {1: official_like(MaskGenerator())})
    with pytest.raises(CheckpointError, match=r"checkpoint\.zip: this is the authors' TensorFlow checkpoint; "
                                              r"load it with 'authors:"):
        read_checkpoint(z)


def test_the_architecture_travels_with_the_checkpoint(tmp_path):
    torch.manual_seed(2)
    net = MaskGenerator(arch="dilated")
    f = save_checkpoint(tmp_path / "d.pt", net, meta={})
    got, _ = load_checkpoint(f)
    assert got.arch == "dilated" and read_checkpoint(f)["arch"] == "dilated"
    x = torch.rand(1, 1, 30, 30)
    assert torch.equal(got.logits(x, x.flip(-1)), net.eval().logits(x, x.flip(-1)))
    # a file written before the architecture was recorded is the released network
    payload = torch.load(f, weights_only=True)
    del payload["arch"]
    torch.save(payload, tmp_path / "old.pt")
    assert load_checkpoint(tmp_path / "old.pt")[0].arch == "released"
    payload["arch"] = "wide"
    torch.save(payload, tmp_path / "bad.pt")
    with pytest.raises(CheckpointError, match="bad.pt: unknown architecture 'wide'"):
        load_checkpoint(tmp_path / "bad.pt")
