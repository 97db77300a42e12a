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
                     "smfuse_authors", "smfuse_code", "smfuse_paper",
                     "mffgan", "mffgan_mfiwhu", "u2fusion", "sesf", "ifcnn", "reblur", "blockwise_sf")
    assert (R.method_names("baseline") + R.method_names("smfuse") + R.method_names("peer")
            + R.method_names("probe")) == names
    assert R.method_names("user") == ()
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


# ----------------------------------------------------------------------------- the peers

def require_peers():
    why = next((w for w in map(lambda n: R.get_method(n).why_unavailable(), R.method_names("peer")) if w), None)
    if why:
        pytest.skip(f"the peers' files are not in the data folder: {why}")


@pytest.mark.parametrize("name", R.method_names("peer"))
def test_a_peer_without_its_files_is_refused_in_one_line(name, monkeypatch, tmp_path):
    from smfuse.evaluation.evaluate import evaluate_method

    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path))
    m = R.get_method(name)
    why = m.why_unavailable()
    assert "\n" not in why and why.endswith("run `smfuse data fetch peers` (or set SMFUSE_DATA)")
    assert name not in R.available_methods()
    p = synthetic_pair(0, size=32)
    with pytest.raises(ValueError, match="smfuse data fetch peers"):
        m(p.a, p.b)
    with pytest.raises(ValueError, match=f"method '{name}' cannot run here: .*smfuse data fetch peers"):
        evaluate_method("synthetic", name, limit=1, progress=False)


def test_peers_take_any_pixel_type_through_eight_bits():
    require_peers()
    p = synthetic_pair(1, size=48)  # colour uint8
    m = R.get_method("mffgan")
    want = m(p.a, p.b).fused
    wide = m(p.a.astype(np.uint16) * 257, p.b.astype(np.uint16) * 257).fused
    assert wide.dtype == np.uint16
    np.testing.assert_array_equal(wide, want.astype(np.uint16) * 257)
    unit = m(p.a / 255.0, p.b / 255.0).fused
    np.testing.assert_allclose(unit, want / 255.0)


def test_sesf_mask_is_its_binary_decision_of_the_second_source():
    require_peers()
    from smfuse.evaluation.peers import sesf

    p = synthetic_pair(2, size=64)
    out = R.get_method("sesf")(p.a, p.b)
    fused, maps = sesf.fuse_with_maps(p.a, p.b)
    np.testing.assert_array_equal(out.fused, fused)
    np.testing.assert_array_equal(out.mask, ~maps.binary)  # their map is 1 where a is sharper


def test_ifcnn_reads_its_authors_output_and_refuses_other_pairs():
    require_peers()
    require("lytro")
    from smfuse.data.sets import data_root, load_dataset
    from smfuse.io import read_image

    pair = load_dataset("lytro", limit=2)[1]
    out = R.get_method("ifcnn")(pair.a, pair.b)
    want = read_image(data_root() / "peers" / "ifcnn" / "lytro" / "IFCNN-MAX-CMF-lytro-02.png")
    np.testing.assert_array_equal(out.fused, want)
    assert out.mask is None and R.get_method("ifcnn").covers("lytro") and not R.get_method("ifcnn").covers("grayscale")
    with pytest.raises(ValueError, match=r"^ifcnn has fused images only for the pairs of lytro and these sources are "
                                         r"not one of them; evaluate ifcnn on lytro$"):
        R.get_method("ifcnn")(pair.b, pair.a)  # the same images, swapped: not the pair IFCNN fused


# ----------------------------------------------------------------------------- your own methods

def test_register_a_function_and_remove_it():
    m = R.register_method("test_brighter", lambda a, b: (np.maximum(a, b), b > a), has_mask=True)
    try:
        assert R.get_method("test_brighter") is m and R.method_names("user") == ("test_brighter",)
        assert R.method_names()[-1] == "test_brighter" and "test_brighter" in R.available_methods()
        p = synthetic_pair(0, size=40)
        out = m(p.a, p.b)
        np.testing.assert_array_equal(out.fused, np.maximum(p.a, p.b))
        np.testing.assert_array_equal(out.mask, p.b > p.a)
        with pytest.raises(ValueError, match="taken .*replace=True"):
            R.register_method("test_brighter", np.minimum)
        R.register_method("test_brighter", np.minimum, replace=True)
        np.testing.assert_array_equal(R.get_method("test_brighter")(p.a, p.b).fused, np.minimum(p.a, p.b))
    finally:
        R.unregister_method("test_brighter")
    assert "test_brighter" not in R.METHODS


def test_registration_refuses_taken_or_bad_names_and_bad_results():
    with pytest.raises(ValueError, match="'gff' is taken .*a built-in method"):
        R.register_method("gff", np.maximum)
    with pytest.raises(ValueError, match="method name must be"):
        R.register_method("my method", np.maximum)
    with pytest.raises(ValueError, match="fn must be a function"):
        R.register_method("x", 3)
    with pytest.raises(ValueError, match="is not a method you registered"):
        R.unregister_method("gff")
    with pytest.raises(ValueError, match="does not exist"):
        R.register_folder("x", "/nonexistent/folder", dataset="lytro")
    m = R.register_method("test_crop", lambda a, b: a[:-1])
    try:
        p = synthetic_pair(0, size=40)
        with pytest.raises(ValueError, match="test_crop returned shape"):
            m(p.a, p.b)
    finally:
        R.unregister_method("test_crop")
