import numpy as np
import pytest

from datahelp import require
from smfuse.data.sets import load_dataset, synthetic_pair
from smfuse.method.guided_block import focus_map, initial_mask, subtraction_map
from smfuse.io import to_grey


def test_subtraction_map_zero_on_flat_image():
    assert np.all(subtraction_map(np.full((16, 16), 0.4)) < 1e-12)


def test_mi_prefers_the_sharper_source(rng):
    sharp = rng.random((64, 64))
    from scipy import ndimage

    blurred = ndimage.gaussian_filter(sharp, 2.0)
    assert initial_mask(blurred, sharp).mean() > 0.99  # second is sharper -> 1
    assert initial_mask(sharp, blurred).mean() < 0.01


def test_mi_ties_go_to_first_source(rng):
    x = rng.random((32, 32))
    assert not initial_mask(x, x).any()


def test_mi_on_synthetic_pairs_with_truth():
    accs = []
    for i in range(4):
        p = synthetic_pair(i)
        accs.append((initial_mask(to_grey(p.a), to_grey(p.b)) == p.mask).mean())
    assert min(accs) > 0.97, accs


def test_mi_rejects_bad_input():
    with pytest.raises(ValueError, match="differ in size"):
        initial_mask(np.zeros((8, 8)), np.zeros((8, 9)))
    bad = np.zeros((8, 8))
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        initial_mask(bad, np.zeros((8, 8)))


def test_mi_reproduces_the_authors_masks():
    """On the authors' 20 training pairs MI matches their saved masks (JPEG, >= 128)."""
    require("train")
    agree = []
    for p in load_dataset("train"):
        mi = initial_mask(p.a / 255.0, p.b / 255.0)
        agree.append((mi == p.initial_mask).mean())
    print(f"MI agreement with the authors' masks: mean {np.mean(agree):.5f}, min {np.min(agree):.5f}")
    assert np.mean(agree) >= 0.999
    assert sum(a == 1.0 for a in agree) >= 15


def test_8_bit_grey_gives_the_mask_of_its_unit_version():
    # eps is on the [0, 1] scale: 8-bit input used to be taken as 0..255 and differ on ~1.7 % of pixels
    for i in (0, 2):
        p = synthetic_pair(i, size=96)
        a8, b8 = (x if x.ndim == 2 else x[..., 0] for x in (p.a, p.b))
        want = initial_mask(a8 / 255.0, b8 / 255.0)
        np.testing.assert_array_equal(initial_mask(a8, b8), want)
        np.testing.assert_array_equal(initial_mask(a8.astype(np.uint16) * 257, b8.astype(np.uint16) * 257), want)
        np.testing.assert_array_equal(initial_mask(a8.astype(float), b8.astype(float), data_range=255), want)
        with pytest.raises(ValueError, match=r"^the first source is a float image .* outside \[0, 1\]; pass data_range=255"):
            initial_mask(a8.astype(float), b8.astype(float))
    with pytest.raises(ValueError, match=r"the image must be a grey \(H, W\) image, got shape \(96, 96, 3\)"):
        subtraction_map(np.dstack([a8] * 3))


# ----------------------------------------------------------------------------- streamed in bands, bit for bit

def _streamed_focus(g, band, blur_size=7, r=5, eps=0.3):
    from smfuse.method.guided_block import _FocusStream

    s = _FocusStream(*g.shape, blur_size, r, eps)
    return np.concatenate([s.push(g, y0, min(len(g), y0 + band)) for y0 in range(0, len(g), band)])


@pytest.mark.parametrize("shape", [(3, 3), (4, 17), (13, 9), (27, 11), (40, 31)])
@pytest.mark.parametrize("blur_size,r", [(7, 5), (3, 2), (1, 0), (5, 1)])
def test_the_banded_focus_map_is_the_whole_image_one_bit_for_bit(rng, shape, blur_size, r):
    from smfuse.method.filters import guided_filter

    # random rows (running sums that differ in their last bits) and a smooth ramp
    for g in (rng.random(shape), np.cumsum(rng.random(shape), axis=0) / shape[0]):
        g = np.clip(g, 0, 1)
        want = focus_map(g, blur_size=blur_size, r=r)
        np.testing.assert_array_equal(want, guided_filter(g, subtraction_map(g, blur_size=blur_size), r, 0.3))
        for band in (1, 2, 3, 5, 13, 14, 1000):
            got = _streamed_focus(g, band, blur_size, r)
            assert got.shape == want.shape
            assert np.array_equal(got, want), (shape, band, float(np.abs(got - want).max()))


def test_bands_read_with_a_halo_alone_would_not_be_identical(rng):
    """Why the running sums are carried: a band filtered on its own differs in the last bits."""
    from smfuse.method.filters import box_mean

    g = rng.random((60, 20))
    whole = box_mean(g, 5)
    band = box_mean(g[20 - 5:40 + 5], 5)[5:-5]
    assert not np.array_equal(band, whole[20:40]) and np.abs(band - whole[20:40]).max() < 1e-14


def test_halo_is_how_far_one_pixel_reaches(rng):
    from smfuse.method.guided_block import halo

    assert halo() == 13 and halo(blur_size=3, r=2) == 5
    g = rng.random((61, 61)) * 0.5
    f = focus_map(g)
    g2 = g.copy()
    g2[30, 30] += 0.5
    diff = np.abs(focus_map(g2) - f)
    moved = np.argwhere(diff > 1e-12)  # beyond that, only the running sums' last bits move
    assert moved.min(axis=0).tolist() == [30 - 13, 30 - 13] and moved.max(axis=0).tolist() == [30 + 13, 30 + 13]


@pytest.mark.parametrize("band", [1, 4, 13, 50, None])
def test_the_initial_mask_in_bands_is_the_whole_image_mask(band):
    p = synthetic_pair(3, size=64)
    g1, g2 = to_grey(p.a), to_grey(p.b)
    want = focus_map(g2) > focus_map(g1)
    assert 0.05 < want.mean() < 0.95
    np.testing.assert_array_equal(initial_mask(p.a, p.b, band=band), want)


def test_the_initial_mask_accepts_what_fuse_accepts(tmp_path):
    from smfuse.io import grey_unit, write_image

    p = synthetic_pair(1, size=48)
    assert p.a.ndim == 3 and p.a.dtype == np.uint8
    # colour is made grey as fusion makes it (MATLAB rgb2gray for 8 bits)
    want = initial_mask(grey_unit(p.a), grey_unit(p.b))
    np.testing.assert_array_equal(initial_mask(p.a, p.b), want)
    np.testing.assert_array_equal(want, initial_mask(to_grey(p.a), to_grey(p.b)))
    a16, b16 = p.a.astype(np.uint16) * 257, p.b.astype(np.uint16) * 257
    np.testing.assert_array_equal(initial_mask(a16, b16), initial_mask(grey_unit(a16), grey_unit(b16)))
    af, bf = p.a.astype(np.float32), p.b.astype(np.float32)
    np.testing.assert_array_equal(initial_mask(af, bf, data_range=255),
                                  initial_mask(grey_unit(af, data_range=255), grey_unit(bf, data_range=255)))
    write_image(tmp_path / "a.png", p.a)
    write_image(tmp_path / "b.png", p.b)
    np.testing.assert_array_equal(initial_mask(tmp_path / "a.png", str(tmp_path / "b.png")), want)
    with pytest.raises(ValueError, match=r"^the first source \S+a.png and the second source \S+a.png are one file"):
        initial_mask(tmp_path / "a.png", tmp_path / "a.png")
    with pytest.raises(ValueError, match=r"^the first source is grey and the second source is colour"):
        initial_mask(to_grey(p.a), p.b)
    with pytest.raises(ValueError, match=r"^sources differ in pixel type: the first source is uint8, the second source "
                                         "is uint16"):
        initial_mask(p.a, b16)


@pytest.mark.parametrize("kwargs,message", [
    ({"blur_size": 6}, r"^blur_size must be a positive odd integer \(the mean filter's side, 7\), got 6$"),
    ({"r": -1}, r"^r must be an integer >= 0 \(the guided filter's radius, 5\), got -1$"),
    ({"eps": 0.0}, r"^eps must be a number > 0 \(the guided filter's regularisation, 0.3\), got 0.0$"),
    ({"band": 0}, r"^band must be a positive number of rows or None, got 0$"),
])
def test_initial_mask_parameters_are_checked_in_one_line(kwargs, message):
    with pytest.raises(ValueError, match=message):
        initial_mask(np.zeros((8, 8)), np.zeros((8, 8)), **kwargs)
