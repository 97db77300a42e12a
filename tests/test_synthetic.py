"""The synthetic generator (smfuse.data.sets.synthetic_pair): independent draws, the stated model."""

import numpy as np
import pytest
from scipy import ndimage

from smfuse.data.sets import _SHAPES, synthetic_pair


@pytest.fixture(scope="module")
def designs():
    return [synthetic_pair(i, size=32).meta for i in range(48)]


def test_designs_do_not_repeat_with_the_index(designs):
    keys = [(m["image"], m["shape"], m["sigma"], m["soft"], m["edge_sigma"]) for m in designs]
    assert len(set(keys)) == len(keys)
    # no period: index i and i + 12 (the former cycle) differ in image or shape somewhere
    assert any(designs[i]["image"] != designs[i + 12]["image"] for i in range(36))


def test_every_shape_comes_with_hard_and_soft_edges(designs):
    for shape in _SHAPES:
        softness = {m["soft"] for m in designs if m["shape"] == shape}
        assert softness == {True, False}, shape
    sigmas = np.array([m["sigma"] for m in designs])
    assert 1.5 <= sigmas.min() and sigmas.max() <= 4.0 and len(np.unique(sigmas)) == len(sigmas)
    assert all((m["edge_sigma"] == 0) != m["soft"] for m in designs)


def test_same_index_and_seed_give_the_same_pair_and_seeds_differ():
    p, q = synthetic_pair(5, size=40), synthetic_pair(5, size=40)
    np.testing.assert_array_equal(p.a, q.a)
    np.testing.assert_array_equal(p.mask, q.mask)
    assert p.meta == q.meta
    others = [synthetic_pair(5, size=40, seed=s).meta for s in range(1, 6)]
    assert any(o["sigma"] != p.meta["sigma"] for o in others)


@pytest.mark.parametrize("index", range(6))
def test_sources_follow_the_stated_model(index):
    # a = (1 - w) G + w blur(G), b = w G + (1 - w) blur(G): a + b = G + blur(G) everywhere,
    # each source lies between G and blur(G), and with a hard edge (w = mask) the second
    # source is the truth where the mask is 1 and the blurred truth elsewhere.
    p = synthetic_pair(index, size=48)
    g = p.truth.astype(float)
    sig = p.meta["sigma"]
    blurred = ndimage.gaussian_filter(g, (sig, sig, 0) if g.ndim == 3 else sig, mode="reflect")
    a, b = p.a.astype(float), p.b.astype(float)
    assert np.abs(a + b - (g + blurred)).max() <= 1.5  # two uint8 roundings and the truth's
    lo, hi = np.minimum(g, blurred) - 0.51, np.maximum(g, blurred) + 0.51
    assert ((a >= lo) & (a <= hi) & (b >= lo) & (b <= hi)).all()
    if not p.meta["soft"]:
        sel = np.broadcast_to(p.mask[..., None] if g.ndim == 3 else p.mask, g.shape)
        assert np.abs(b[sel] - g[sel]).max() <= 0.51 and np.abs(a[sel] - blurred[sel]).max() <= 0.51
        assert np.abs(a[~sel] - g[~sel]).max() <= 0.51 and np.abs(b[~sel] - blurred[~sel]).max() <= 0.51


def test_base_images_groups_synthetic_pairs_by_their_bundled_image():
    from smfuse.data.sets import Pair, base_images, synthetic_pair

    pairs = [synthetic_pair(i, size=32) for i in range(12)]
    labels = base_images(pairs)
    assert labels == [p.meta["image"] for p in pairs]
    assert len(set(labels)) < len(labels)  # twelve draws from twelve images repeat some
    real = Pair("lytro-01", pairs[0].a, pairs[0].b)
    assert base_images([real]) == ["lytro-01"]
