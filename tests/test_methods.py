"""Tests of the method registry (smfuse.evaluation.methods): names, the Fused contract, SMFuse weights."""

import numpy as np
import pytest
import torch

from datahelp import require
from smfuse.evaluation import methods as R
from smfuse.runtime.checkpoint import save_checkpoint
from smfuse.data.sets import synthetic_pair
from smfuse.runtime.inference import fuse
from smfuse.method.network import MaskGenerator


def test_names_are_unique_and_none_is_mi():
    names = R.method_names()
    assert names == ("average", "dwt", "laplacian", "gff", "initial_mask",
                     "smfuse_authors", "smfuse_code", "smfuse_paper")
    assert R.method_names("baseline") + R.method_names("smfuse") == names
    assert not any(n == "mi" or n.startswith("mi_") or n.endswith("_mi") for n in names)
    for n in names:
        assert R.get_method(n).name == n


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown fusion method 'mi'; choose one of average, .*initial_mask"):
        R.get_method("mi")
    with pytest.raises(ValueError, match="family"):
        R.method_names("classical")


@pytest.mark.parametrize("name", R.method_names("baseline"))
def test_every_baseline_returns_fused_and_mask_when_it_decides(name):
    p = synthetic_pair(1, size=48)  # colour
    out = R.get_method(name)(p.a, p.b)
    assert isinstance(out, R.Fused)
    assert out.fused.shape == p.a.shape and out.fused.dtype == p.a.dtype
    assert R.get_method(name).has_mask == (name == "initial_mask")
    if name == "initial_mask":
        assert out.mask.shape == p.a.shape[:2] and out.mask.dtype == bool
        sel = out.mask[..., None]
        np.testing.assert_array_equal(out.fused, np.where(sel, p.b, p.a))
    else:
        assert out.mask is None


def _write_weights(folder, seed):
    torch.manual_seed(seed)
    net = MaskGenerator()
    save_checkpoint(folder / "smfuse_code.pt", net, meta={"note": "test"})
    return net.eval()


def test_smfuse_code_uses_the_weights_folder_and_keeps_one_model(monkeypatch, tmp_path):
    net = _write_weights(tmp_path, 0)
    monkeypatch.setenv(R.WEIGHTS_ENV, str(tmp_path))
    method = R.get_method("smfuse_code")
    assert method.available() and method.has_mask
    p = synthetic_pair(1, size=40)
    out = method(p.a, p.b)
    want = fuse(p.a, p.b, net)
    np.testing.assert_array_equal(out.fused, want.fused)
    np.testing.assert_array_equal(out.mask, want.mask)
    assert method.model() is method.model()  # loaded once
    assert not R.get_method("smfuse_paper").available()  # no smfuse_paper.pt in that folder
    assert "smfuse_paper.pt" in R.get_method("smfuse_paper").why_unavailable()
    assert "smfuse_paper" not in R.available_methods()


def test_authors_method_without_data_is_unavailable_with_a_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path))  # an empty data folder
    m = R.get_method("smfuse_authors")
    assert not m.available() and "SMFUSE_DATA" in m.why_unavailable()
    with pytest.raises(ValueError, match="checkpoint.zip"):
        m.model()


def test_smfuse_method_for_a_model_or_a_spec(tmp_path):
    net = _write_weights(tmp_path, 1)
    p = synthetic_pair(2, size=40)
    by_model = R.smfuse_method(net, name="mine")(p.a, p.b)
    by_spec = R.smfuse_method(str(tmp_path / "smfuse_code.pt"))(p.a, p.b)
    np.testing.assert_array_equal(by_model.fused, by_spec.fused)
    np.testing.assert_array_equal(by_model.mask, fuse(p.a, p.b, net).mask)
    assert R.smfuse_method(net, name="mine").name == "mine"
    with pytest.raises(ValueError, match="weights spec"):
        R.smfuse_method(3)


def test_smfuse_authors_fuses_with_the_released_weights():
    require("train")
    p = synthetic_pair(1, size=64)
    out = R.get_method("smfuse_authors")(p.a, p.b)
    assert out.fused.shape == p.a.shape and out.fused.dtype == np.uint8
    np.testing.assert_array_equal(out.fused, np.where(out.mask[..., None], p.b, p.a))
