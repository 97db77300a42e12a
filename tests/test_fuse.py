import numpy as np
import pytest
import torch

from smfuse.data.sets import synthetic_pair
from smfuse.runtime.inference import HALO, fuse, predict_logits
from smfuse.io import to_grey
from smfuse.method.network import MaskGenerator


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(3)
    return MaskGenerator().eval()


def test_tiled_mask_equals_untiled(net):
    p = synthetic_pair(1, size=200)
    full = fuse(p.a, p.b, net, tile=None)
    for tile in (64, 97, 2 * HALO + 1):
        tiled = fuse(p.a, p.b, net, tile=tile)
        np.testing.assert_array_equal(tiled.mask, full.mask)
        np.testing.assert_array_equal(tiled.fused, full.fused)
        np.testing.assert_allclose(tiled.mg, full.mg, atol=1e-6)


def test_tiles_need_the_receptive_field(net):
    rng = np.random.default_rng(0)
    g1, g2 = rng.random((40, 40)), rng.random((40, 40))
    with pytest.raises(ValueError, match="at least 9"):
        predict_logits(net, g1, g2, tile=5)


def test_colour_fusion_takes_whole_pixels_from_one_source(net):
    p = synthetic_pair(1, size=96)  # colour
    res = fuse(p.a, p.b, net)
    assert res.fused.shape == p.a.shape and res.fused.dtype == np.uint8
    from_b = np.all(res.fused == p.b, axis=2)
    from_a = np.all(res.fused == p.a, axis=2)
    assert np.all(from_a | from_b)
    np.testing.assert_array_equal(res.fused[res.mask], p.b[res.mask])
    np.testing.assert_array_equal(res.fused[~res.mask], p.a[~res.mask])
    # the mask comes from the grey pair
    z = predict_logits(net, to_grey(p.a), to_grey(p.b), tile=None)
    np.testing.assert_array_equal(res.mask, z > 0)


def test_uint16_and_float_keep_their_dtype(net, rng):
    a16 = rng.integers(0, 65536, (40, 30)).astype(np.uint16)
    b16 = rng.integers(0, 65536, (40, 30)).astype(np.uint16)
    out = fuse(a16, b16, net).fused
    assert out.dtype == np.uint16 and out.max() > 255  # no rescaling to 8 bit
    af, bf = a16.astype(np.float32) / 65535, b16.astype(np.float32) / 65535
    outf = fuse(af, bf, net).fused
    assert outf.dtype == np.float32
    np.testing.assert_allclose(outf, out.astype(np.float32) / 65535, atol=1e-7)


def test_mask_selects_the_second_source():
    # a network whose decoder always outputs z > 0 picks b everywhere
    net = MaskGenerator().eval()
    with torch.no_grad():
        net.dec3.weight.zero_()
        net.dec3.bias.fill_(1.0)
    a = np.zeros((20, 20), np.uint8)
    b = np.full((20, 20), 9, np.uint8)
    res = fuse(a, b, net)
    assert res.mask.all() and (res.fused == 9).all()
    assert res.mg == pytest.approx(np.tanh(1.0) / 2 + 0.5)


def test_bad_pairs(net):
    with pytest.raises(ValueError, match="differ in size"):
        fuse(np.zeros((20, 20), np.uint8), np.zeros((20, 21), np.uint8), net)
    with pytest.raises(ValueError, match="grey"):
        fuse(np.zeros((20, 20), np.uint8), np.zeros((20, 20, 3), np.uint8), net)
    nan = np.zeros((20, 20), np.float32)
    nan[3, 3] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        fuse(nan, np.zeros((20, 20), np.float32), net)


# ----------------------------------------------------------------------------- the input contract

def test_float_sources_must_say_their_range(net):
    p = synthetic_pair(0, size=96)
    a8, b8 = (x if x.ndim == 2 else x[..., 1] for x in (p.a, p.b))
    want = fuse(a8, b8, net)
    # a float image on 0..255 gave a visibly wrong mask before; now it is refused with the fix ...
    with pytest.raises(ValueError, match=r"^the first source is a float image with values in \[.*\], outside \[0, 1\]; "
                                         r"pass data_range=255 if 255 is white"):
        fuse(a8.astype(np.float32), b8.astype(np.float32), net)
    # ... and with data_range=255 it gives the uint8 mask exactly, keeping its own values
    got = fuse(a8.astype(np.float32), b8.astype(np.float32), net, data_range=255)
    np.testing.assert_array_equal(got.mask, want.mask)
    assert got.fused.dtype == np.float32
    np.testing.assert_array_equal(got.fused, want.fused.astype(np.float32))
    np.testing.assert_array_equal(fuse(a8 / 255.0, b8 / 255.0, net).mask, want.mask)
    np.testing.assert_array_equal(fuse(a8.astype(np.uint16) * 257, b8.astype(np.uint16) * 257, net).mask, want.mask)


def test_model_argument_takes_a_weights_spec_or_says_what_is_wrong(net, tmp_path):
    from smfuse.runtime.checkpoint import save_checkpoint

    p = synthetic_pair(0, size=32)
    with pytest.raises(ValueError, match=r"nothere.pt: no such checkpoint file"):
        fuse(p.a, p.b, str(tmp_path / "nothere.pt"))
    with pytest.raises(TypeError, match=r"^model must be a MaskGenerator or a weights spec .*, got int$"):
        fuse(p.a, p.b, 42)
    with pytest.raises(TypeError, match="the first source: expected a numpy array, got list"):
        fuse(p.a.tolist(), p.b, net)
    save_checkpoint(tmp_path / "w.pt", net, meta={})
    np.testing.assert_array_equal(fuse(p.a, p.b, tmp_path / "w.pt").mask, fuse(p.a, p.b, net).mask)
