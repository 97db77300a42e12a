"""Consistency verification and small-region removal of a decision map (smfuse.evaluation.postprocess)."""

import numpy as np
import pytest

from smfuse.evaluation.postprocess import majority_filter, postprocess, remove_small_regions


def test_majority_filter_removes_a_lone_pixel_and_rounds_a_square():
    m = np.zeros((9, 9), bool)
    m[1, 1] = True
    m[4:7, 4:7] = True  # a 3x3 square: corners see 4 of 9, edge centres 6 of 9
    out = majority_filter(m)
    assert not out[1, 1]
    expected = np.zeros((9, 9), bool)
    expected[5, 4:7] = expected[4:7, 5] = True  # the plus sign of the square
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(majority_filter(m, window=1), m)


def test_majority_filter_mirrors_the_border():
    m = np.zeros((5, 5), bool)
    m[0, :] = True  # a one-pixel line on the border: mirrored, its neighbourhood holds 6 of 9
    np.testing.assert_array_equal(majority_filter(m)[0], np.ones(5, bool))


def test_small_regions_of_either_label_are_flipped_and_large_ones_kept():
    m = np.zeros((100, 100), bool)
    m[10:19, 10:19] = True        # 81 px < 100 (0.01 x 10,000): flipped to False
    m[40:90, 40:90] = True        # 2,500 px: kept
    m[60:65, 60:65] = False       # a 25-px hole in it: flipped to True
    m[5:15, 60:70] = True         # exactly 100 px: not smaller than the threshold, kept
    out = remove_small_regions(m)
    assert not out[10:19, 10:19].any()
    assert out[40:90, 40:90].all()
    assert out[5:15, 60:70].all()
    assert out.sum() == 2500 + 100
    np.testing.assert_array_equal(remove_small_regions(m, area_ratio=0), m)


def test_postprocess_is_the_majority_filter_then_the_small_region_removal():
    rng = np.random.default_rng(0)
    m = rng.random((64, 64)) < 0.3
    np.testing.assert_array_equal(postprocess(m, window=5, area_ratio=0.02),
                                  remove_small_regions(majority_filter(m, window=5), area_ratio=0.02))


def test_postprocess_removes_a_small_disc_the_raw_map_finds():
    """What claim C11 tests: a focused disc of radius 10 px (314 px) in a 256x256 map is under 0.01 x area (655 px)."""
    yy, xx = np.mgrid[0:256, 0:256]
    m = (yy - 100) ** 2 + (xx - 100) ** 2 < 10 ** 2
    big = (yy - 180) ** 2 + (xx - 180) ** 2 < 16 ** 2  # 804 px: kept
    out = postprocess(m | big)
    assert not out[m].any() and out[big].mean() > 0.99


@pytest.mark.parametrize("bad,kw,match", [
    (np.zeros((4, 4, 3), bool), {}, "2-D"),
    (np.full((4, 4), 0.5), {}, "only 0 and 1"),
    (np.zeros((4, 4), bool), {"window": 2}, "odd integer"),
    (np.zeros((4, 4), bool), {"area_ratio": 1.5}, "fraction"),
])
def test_bad_arguments_are_refused(bad, kw, match):
    with pytest.raises(ValueError, match=match):
        postprocess(bad, **kw)


def test_a_postprocessed_method_fuses_with_its_cleaned_mask():
    from smfuse.data.small_regions import small_region_pair
    from smfuse.evaluation.methods import get_method
    from smfuse.evaluation.postprocess import postprocessed

    p = small_region_pair(0, radii=(10, 20))  # 256x256: a disc of radius 10 (314 px) is under 0.01 x area
    m = postprocessed("initial_mask")
    out, raw = m(p.a, p.b), get_method("initial_mask")(p.a, p.b)
    np.testing.assert_array_equal(out.mask, postprocess(raw.mask))
    sel = out.mask[..., None] if p.a.ndim == 3 else out.mask
    np.testing.assert_array_equal(out.fused, np.where(sel, p.b, p.a))
    assert raw.mask[p.meta["regions"] == 1].any() and not out.mask[p.meta["regions"] == 1].any()  # MI found it, the clean-up removed it
    with pytest.raises(ValueError, match="no decision mask"):
        postprocessed("average")
