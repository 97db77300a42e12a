"""The fast inference path gives the mask generator's own logits and mask."""

import numpy as np
import pytest
import torch

from datahelp import require
from smfuse.data.sets import data_root, load_dataset, synthetic_pair
from smfuse.runtime.fast import FastLogits
from smfuse.runtime.inference import fuse, predict_logits
from smfuse.io import to_grey
from smfuse.method.network import MaskGenerator, to_network_input


def _inputs(a, b):
    t = lambda x: to_network_input(torch.from_numpy(to_grey(x).astype(np.float32))[None, None])  # noqa: E731
    return t(a), t(b)


def _check_same(model, x1, x2):
    with torch.inference_mode():
        ref = model.logits(x1, x2)
        z = FastLogits(model)(x1, x2)
    assert z.shape == ref.shape and z.dtype == torch.float32 and z.is_contiguous()
    # float32 sums in another order: agreement to 1e-5 of the logits' scale (the authors'
    # weights give |z| up to ~2e4, where one float32 ulp is already 2e-3)
    scale = max(1.0, float(ref.abs().max()))
    tol = 1e-5 * scale
    assert float((z - ref).abs().max()) < tol
    # the mask is the same, except where a logit lies within that float error of 0 (its
    # sign is then the summation order's: on Lytro pair 20 one pixel, |z| = 3e-6, flips on
    # an AVX2 CPU and not on an AVX-512 one)
    flipped = ((z > 0) != (ref > 0)).numpy()
    near_zero = (ref.abs() <= tol).numpy()
    assert not (flipped & ~near_zero).any(), f"{int((flipped & ~near_zero).sum())} pixel(s) flipped away from 0"


def test_real_size_pair_random_weights():
    torch.manual_seed(7)
    net = MaskGenerator().eval()
    p = synthetic_pair(2, size=520)
    _check_same(net, *_inputs(p.a, p.b))


def test_lytro_pair_official_weights():
    """The authors' checkpoint on Lytro pair 20 (520x520), whose smallest |logit| is 3e-6."""
    require("lytro")
    zip_path = data_root() / "smfuse_official" / "checkpoint.zip"
    if not zip_path.is_file():
        pytest.skip("the authors' checkpoint.zip is not in the data folder")
    from smfuse.runtime.weights import load_weights

    net = load_weights(f"authors:{zip_path}")
    p = load_dataset("lytro")[19]
    assert p.a.shape[:2] == (520, 520)
    _check_same(net, *_inputs(p.a, p.b))


@pytest.mark.parametrize("shape", [(2, 2), (2, 9), (3, 7), (37, 23), (64, 64)])
def test_small_and_odd_sizes_and_borders(shape, rng):
    torch.manual_seed(1)
    net = MaskGenerator().eval()
    x1 = torch.from_numpy(rng.random(shape, dtype=np.float32))[None, None] * 2 - 1
    x2 = torch.from_numpy(rng.random(shape, dtype=np.float32))[None, None] * 2 - 1
    _check_same(net, x1, x2)


def test_batch_and_buffers_reused_across_sizes(rng):
    torch.manual_seed(2)
    net = MaskGenerator().eval()
    fast = FastLogits(net)
    with torch.inference_mode():
        for shape in [(3, 60, 50), (1, 20, 90), (2, 60, 50)]:  # grow, other shape, back
            x1 = torch.from_numpy(rng.random(shape, dtype=np.float32))[:, None] * 2 - 1
            x2 = torch.from_numpy(rng.random(shape, dtype=np.float32))[:, None] * 2 - 1
            z = fast(x1, x2)
            assert z.shape == x1.shape
            assert float((z - net.logits(x1, x2)).abs().max()) < 1e-5
    assert fast.workspace_bytes == 176 * 62 * 52 * 4  # grow-only: the largest (H + 2) (W + 2) so far
    fast.release()
    assert fast.workspace_bytes == 0


def test_fuse_fast_equals_plain_and_follows_weight_changes():
    torch.manual_seed(4)
    net = MaskGenerator().eval()
    p = synthetic_pair(3, size=150)
    fast, plain = fuse(p.a, p.b, net), fuse(p.a, p.b, net, fast=False)
    np.testing.assert_array_equal(fast.mask, plain.mask)
    np.testing.assert_array_equal(fast.fused, plain.fused)
    np.testing.assert_allclose(fast.mg, plain.mg, atol=1e-6)
    # a change of the weights in place is seen by the cached fast path
    with torch.no_grad():
        net.dec3.bias.add_(5.0)
    z_fast = predict_logits(net, to_grey(p.a), to_grey(p.b))
    z_plain = predict_logits(net, to_grey(p.a), to_grey(p.b), fast=False)
    np.testing.assert_allclose(z_fast, z_plain, atol=1e-5)
    # and so is a new state dict
    other = MaskGenerator().eval()
    net.load_state_dict(other.state_dict())
    np.testing.assert_allclose(predict_logits(net, to_grey(p.a), to_grey(p.b)),
                               predict_logits(other, to_grey(p.a), to_grey(p.b), fast=False), atol=1e-5)


def test_tiled_fast_equals_untiled_fast():
    torch.manual_seed(5)
    net = MaskGenerator().eval()
    p = synthetic_pair(4, size=300)
    full = fuse(p.a, p.b, net, tile=None)
    tiled = fuse(p.a, p.b, net, tile=128)
    np.testing.assert_array_equal(tiled.mask, full.mask)
    np.testing.assert_array_equal(tiled.fused, full.fused)


def test_errors():
    net = MaskGenerator().eval()
    fast = FastLogits(net)
    with pytest.raises(ValueError, match="at least 2x2"):
        fast(torch.zeros(1, 1, 1, 5), torch.zeros(1, 1, 1, 5))
    with pytest.raises(ValueError, match=r"\(B, 1, H, W\)"):
        fast(torch.zeros(1, 2, 5, 5), torch.zeros(1, 2, 5, 5))
    with pytest.raises(TypeError, match="MaskGenerator"):
        FastLogits(torch.nn.Conv2d(1, 1, 3))
    with pytest.raises(ValueError, match="float32"):
        FastLogits(MaskGenerator().double())
    with pytest.raises(ValueError, match="chunk and band"):
        FastLogits(net, chunk=0)


def test_tiling_reserves_the_largest_tile_once():
    torch.manual_seed(6)
    net = MaskGenerator().eval()
    p = synthetic_pair(5, size=134)
    predict_logits(net, to_grey(p.a), to_grey(p.b), tile=64)  # tiles [0, 64) and [64, 134) (6 px merged)
    from smfuse.runtime.inference import _fast_logits

    # the largest tile, [64, 134) with a halo of 4 on its inner side: 74 pixels, padded by 1
    assert _fast_logits(net).workspace_bytes == 176 * (74 + 2) * (74 + 2) * 4


@pytest.mark.parametrize("arch", ["dilated", "dilated-vote"])
@pytest.mark.parametrize("shape", [(7, 7), (8, 31), (40, 50), (97, 64)])
def test_dilated_architecture(shape, arch, rng):
    torch.manual_seed(7)
    net = MaskGenerator(arch=arch).eval()
    if net.vote is not None:  # a vote that is not the plain mean
        with torch.no_grad():
            net.vote.weight.add_(torch.randn(net.vote.weight.shape, generator=torch.Generator().manual_seed(0)) * 0.01)
    x1, x2 = (torch.from_numpy(rng.uniform(-1, 1, (1, 1) + shape).astype(np.float32)) for _ in range(2))
    _check_same(net, x1, x2)
    with pytest.raises(ValueError, match="at least 7x7 for this architecture"):
        FastLogits(net)(torch.zeros(1, 1, 6, 9), torch.zeros(1, 1, 6, 9))


@pytest.mark.parametrize("arch, field", [("dilated", 27), ("dilated-vote", 37)])
def test_dilated_tiling_equals_untiled_with_its_wider_halo(arch, field):
    torch.manual_seed(8)
    net = MaskGenerator(arch=arch).eval()
    p = synthetic_pair(2, size=200)
    g1, g2 = to_grey(p.a), to_grey(p.b)
    full = predict_logits(net, g1, g2, tile=None)
    for tile in (64, field):  # the smallest tile: 2 * (field // 2) + 1 = the receptive field
        np.testing.assert_array_equal(predict_logits(net, g1, g2, tile=tile) > 0, full > 0)
    with pytest.raises(ValueError, match=f"at least {field} pixels for this model"):
        predict_logits(net, g1, g2, tile=field - 1)
    np.testing.assert_array_equal(predict_logits(net, g1, g2, tile=None, fast=False) > 0, full > 0)
