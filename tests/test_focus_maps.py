"""The true focus map read back from the all-in-focus truth (smfuse.data.focus_maps), for nyud100_gt."""

import numpy as np
import pytest
from scipy import ndimage

from smfuse.data.focus_maps import focus_map_from_truth
from smfuse.data.sets import synthetic_pair


@pytest.mark.parametrize("index", [1, 2, 7, 10])
def test_the_map_of_a_hard_edged_synthetic_pair_is_found_from_its_truth(index):
    p = synthetic_pair(index, size=128)
    assert not p.meta["soft"]  # a blended edge has no single true label: nyud100_gt's edges are hard
    m = focus_map_from_truth(p.a, p.b, p.truth)
    assert (m == p.mask).mean() > 0.985


def test_a_made_pair_with_flat_patches_and_jpeg_like_noise():
    rng = np.random.default_rng(0)
    g = ndimage.gaussian_filter(rng.uniform(0, 255, (96, 96, 3)), (1, 1, 0))
    g[20:40, 20:40] = 120.0  # a flat patch: both sources equal the truth there
    m = np.zeros((96, 96), bool)
    m[:, 48:] = True
    blur = ndimage.gaussian_filter(g, (2.5, 2.5, 0))
    a = np.where(m[..., None], blur, g) + rng.normal(0, 1.0, g.shape)
    b = np.where(m[..., None], g, blur) + rng.normal(0, 1.0, g.shape)
    est = focus_map_from_truth(a, b, g)
    assert est[20:40, 20:40].sum() == 0  # the flat patch takes the label around it (first source)
    assert (est != m).sum() < 0.02 * m.size


def test_small_islands_take_the_label_around_them():
    g = np.random.default_rng(1).uniform(0, 255, (64, 64))
    blur = ndimage.gaussian_filter(g, 2)
    m = np.zeros((64, 64), bool)
    m[30:34, 30:34] = True  # 16 px < 64 px
    a, b = np.where(m, blur, g), np.where(m, g, blur)
    assert not focus_map_from_truth(a, b, g).any()
    assert focus_map_from_truth(a, b, g, min_area=0, sigma=0.5)[31:33, 31:33].all()


@pytest.mark.parametrize("kw,match", [(dict(sigma=0), "sigma"), (dict(min_area=-1), "min_area")])
def test_bad_arguments_are_refused(kw, match):
    x = np.zeros((8, 8))
    with pytest.raises(ValueError, match=match):
        focus_map_from_truth(x, x, x, **kw)
    with pytest.raises(ValueError, match="one size"):
        focus_map_from_truth(x, x, np.zeros((8, 9)))
