"""Synthetic pairs with focused discs of known radii (smfuse.data.small_regions), the data of claim C11."""

import numpy as np
import pytest

from smfuse.data.small_regions import GAP, MARGIN, RADII, small_region_pair, small_region_pairs
from smfuse.evaluation.metrics import region_recall


@pytest.fixture(scope="module")
def pairs():
    return small_region_pairs(2, size=160, radii=(4, 8, 16))


def test_pairs_are_reproducible_and_differ_by_index(pairs):
    again = small_region_pair(0, size=160, radii=(4, 8, 16))
    np.testing.assert_array_equal(again.a, pairs[0].a)
    assert again.meta["centres"] == pairs[0].meta["centres"]
    assert pairs[0].meta["centres"] != pairs[1].meta["centres"]
    assert small_region_pair(0, size=160, radii=(4, 8, 16), seed=1).meta["centres"] != pairs[0].meta["centres"]


def test_each_disc_has_its_radius_and_the_focused_source_is_the_truth_there(pairs):
    for p in pairs:
        reg = p.meta["regions"]
        yy, xx = np.mgrid[0:reg.shape[0], 0:reg.shape[1]]
        for k, (r, (cy, cx)) in enumerate(zip(p.meta["radii"], p.meta["centres"]), start=1):
            np.testing.assert_array_equal(reg == k, (yy - cy) ** 2 + (xx - cx) ** 2 < r * r)
            assert abs((reg == k).sum() - np.pi * r * r) < 2 * np.pi * r + 2
        sharp_b = p.mask if p.a.ndim == 2 else p.mask[..., None]
        np.testing.assert_array_equal(np.where(sharp_b, p.b, p.a), p.truth)  # hard edges: the truth, exactly
        assert not np.array_equal(p.a, p.truth) and not np.array_equal(p.b, p.truth)
        np.testing.assert_array_equal(region_recall(p.mask, p.mask, reg), np.ones(3))


def test_the_focused_source_alternates_and_the_mask_follows_it(pairs):
    assert [p.meta["focused_in"] for p in pairs] == ["b", "a"]
    assert (pairs[0].mask == (pairs[0].meta["regions"] > 0)).all()
    assert (pairs[1].mask == (pairs[1].meta["regions"] == 0)).all()


def test_discs_keep_their_distances_and_sit_on_texture():
    p = small_region_pair(3)
    assert p.meta["radii"] == RADII and p.a.shape[:2] == (256, 256)
    discs = list(zip(p.meta["radii"], p.meta["centres"]))
    for i, (r, (y, x)) in enumerate(discs):
        assert min(y, x) - r >= MARGIN and 256 - max(y, x) - r >= MARGIN
        for q, (v, u) in discs[i + 1:]:
            assert np.hypot(y - v, x - u) >= r + q + GAP
    assert p.meta["image"] in p.name


@pytest.mark.parametrize("kw,match", [(dict(index=-1), "index"), (dict(index=0, size=32), "size"),
                                      (dict(index=0, radii=(0,)), "radii"),
                                      (dict(index=0, size=64, radii=(40,)), "does not fit")])
def test_bad_arguments_are_refused(kw, match):
    with pytest.raises(ValueError, match=match):
        small_region_pair(**kw)
