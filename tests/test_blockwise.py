"""The block-wise spatial-frequency decision (smfuse.evaluation.baselines.blockwise), the patch-based probe of claim C10."""

import numpy as np
import pytest

from smfuse.evaluation.baselines.blockwise import block_decision, block_spatial_frequency, fuse, fuse_with_mask
from smfuse.evaluation.methods import blockwise_method, get_method


def _sf_by_hand(block: np.ndarray) -> float:
    """Li, Kwok & Wang (2001), Eqs. 1-3, written as loops over one block."""
    m, n = block.shape
    rf = sum((block[i, j] - block[i, j - 1]) ** 2 for i in range(m) for j in range(1, n)) / (m * n)
    cf = sum((block[i, j] - block[i - 1, j]) ** 2 for i in range(1, m) for j in range(n)) / (m * n)
    return float(np.sqrt(rf + cf))


@pytest.mark.parametrize("shape,block", [((8, 8), 4), ((10, 13), 4), ((7, 7), 8)])
def test_spatial_frequency_of_each_block_is_the_papers_formula(shape, block):
    x = np.random.default_rng(0).uniform(0, 255, shape)
    sf = block_spatial_frequency(x, block)
    assert sf.shape == (-(-shape[0] // block), -(-shape[1] // block))
    for i in range(sf.shape[0]):
        for j in range(sf.shape[1]):  # edge blocks are as large as the image leaves them
            b = x[i * block:(i + 1) * block, j * block:(j + 1) * block]
            assert sf[i, j] == pytest.approx(_sf_by_hand(b), rel=1e-12)


def test_a_block_across_the_focus_boundary_is_taken_whole_from_one_source():
    rng = np.random.default_rng(1)
    sharp = rng.integers(0, 256, (32, 32)).astype(np.uint8)
    flat = np.full((32, 32), 128, np.uint8)
    truth_b = np.zeros((32, 32), bool)
    truth_b[:, 12:] = True  # the second source is sharp right of column 12, not a block edge for 8x8 blocks
    a, b = np.where(truth_b, flat, sharp), np.where(truth_b, sharp, flat)
    mask = block_decision(a.astype(float), b.astype(float), 8)
    for i in range(0, 32, 8):
        for j in range(0, 32, 8):
            assert len(np.unique(mask[i:i + 8, j:j + 8])) == 1, "a block must be taken whole"
    assert mask[:, 16:].all() and not mask[:, :8].any()
    assert (mask != truth_b).sum() == 32 * 4  # columns 8-11 or 12-15 of the straddling blocks are wrong


def test_fused_pixels_come_from_the_sources_in_their_dtype_and_colour():
    rng = np.random.default_rng(2)
    a = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    b = rng.integers(0, 256, (20, 24, 3), dtype=np.uint8)
    fused, mask = fuse_with_mask(a, b, block=8)
    assert fused.dtype == np.uint8 and fused.shape == a.shape and mask.shape == (20, 24)
    np.testing.assert_array_equal(fused, np.where(mask[..., None], b, a))
    assert mask.any() and not mask.all()
    np.testing.assert_array_equal(fuse(a, a, block=8), a)  # equal sources: ties take the first, unchanged


@pytest.mark.parametrize("bad", [0, 1, 2.5, True, "16"])
def test_block_size_is_checked(bad):
    x = np.zeros((16, 16), np.uint8)
    with pytest.raises(ValueError, match="block must be an integer side of at least 2"):
        fuse(x, x, block=bad)
    with pytest.raises(ValueError, match="block must be an integer side of at least 2"):
        blockwise_method(bad)


def test_the_registry_has_blockwise_sf_and_any_block_size():
    m = get_method("blockwise_sf")
    assert m.family == "probe" and m.has_mask
    rng = np.random.default_rng(3)
    a, b = (rng.integers(0, 256, (40, 40), dtype=np.uint8) for _ in range(2))
    np.testing.assert_array_equal(m(a, b).mask, fuse_with_mask(a, b, block=16)[1])
    m8 = blockwise_method(8)
    assert m8.name == "blockwise_sf[8]"
    np.testing.assert_array_equal(m8(a, b).mask, fuse_with_mask(a, b, block=8)[1])
