import numpy as np
import pytest

from datahelp import require
from smfuse.data.sets import load_dataset, synthetic_pair
from smfuse.method.guided_block import initial_mask, subtraction_map
from smfuse.io import to_gray


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
        accs.append((initial_mask(to_gray(p.a), to_gray(p.b)) == p.mask).mean())
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
