"""Tests of smfuse.evaluation.mask_errors: where MF departs from MI, towards or away from the truth."""

import numpy as np
import pytest

from smfuse.data.sets import synthetic_pair
from smfuse.evaluation.mask_errors import CLASSES, classify_departures, pixel_classes, true_decision
from smfuse.evaluation.metrics import mask_accuracy

N = 64


def _scene(rng):
    """A 64x64 truth: right half True (boundary between columns 31 and 32), a 3x3 True square at
    rows 10-12, columns 5-7 (area 9: a small region), a textured truth image with a constant
    16x16 block in the bottom-left corner (rows 48-63, columns 0-15)."""
    truth = np.zeros((N, N), bool)
    truth[:, 32:] = True
    truth[10:13, 5:8] = True
    image = rng.integers(0, 256, (N, N)).astype(np.uint8)
    image[48:, :16] = 128
    return truth, image


# (row, col): (class, MI, MF), the truth read off the scene; every other pixel MF == MI == truth
DEPARTURES = {
    (30, 31): ("boundary", True, False),       # truth False: MI wrong, MF right -> towards
    (30, 35): ("boundary", True, False),       # truth True, 3 px from the edge: MI right, MF wrong -> away
    (20, 40): ("boundary", False, True),       # 8 px from the boundary pixels of column 32: in the band -> towards
    (20, 41): ("elsewhere", True, False),      # 9 px: outside -> away
    (11, 6): ("small_region", False, True),    # the square's centre -> towards
    (12, 7): ("small_region", True, False),    # the square's corner, also in its band: small first -> away
    (60, 5): ("flat", False, True),            # truth False: MI right, MF wrong -> away
    (61, 6): ("flat", True, False),            # truth False: MI wrong, MF right -> towards
    (40, 50): ("elsewhere", False, True),      # truth True -> towards
}


def _masks(truth):
    mi, mf = truth.copy(), truth.copy()
    for (y, x), (_, m_i, m_f) in DEPARTURES.items():
        mi[y, x], mf[y, x] = m_i, m_f
    mi[45, 45] = mf[45, 45] = False             # both wrong, no departure: counted nowhere
    return mf, mi


def _brute_band(truth, band):
    """Pixels within `band` (Euclidean) of a pixel with a 4-neighbour of the other label, by brute force."""
    edge = np.zeros_like(truth)
    for y in range(N):
        for x in range(N):
            for dy, dx in ((0, 1), (1, 0), (0, -1), (-1, 0)):
                if 0 <= y + dy < N and 0 <= x + dx < N and truth[y + dy, x + dx] != truth[y, x]:
                    edge[y, x] = True
    ey, ex = np.nonzero(edge)
    yy, xx = np.mgrid[0:N, 0:N]
    d2 = (yy[..., None] - ey) ** 2 + (xx[..., None] - ex) ** 2
    return d2.min(-1) <= band * band


def test_every_count_of_a_hand_made_scene(rng):
    truth, image = _scene(rng)
    mf, mi = _masks(truth)
    t = classify_departures(mf, mi, truth, image)
    assert list(t.index) == list(CLASSES) + ["undetermined"]
    assert t[["towards", "away"]].to_dict("index") == {
        "boundary": {"towards": 2, "away": 1},
        "small_region": {"towards": 1, "away": 1},
        "flat": {"towards": 1, "away": 1},
        "elsewhere": {"towards": 1, "away": 1},
        "undetermined": {"towards": 0, "away": 0},
    }
    assert (t.departures == t.towards + t.away).all() and t.departures.sum() == 9
    # the pixels of each class: the square (9), the flat block's pixels whose 7x7 window lies in it (13 x 13),
    # the band (brute force) outside the square, the rest
    band = _brute_band(truth, 8)
    band[10:13, 5:8] = False
    assert t.loc["small_region", "pixels"] == 9
    assert t.loc["flat", "pixels"] == 13 * 13
    assert t.loc["boundary", "pixels"] == band.sum()
    assert t.pixels.sum() == N * N and t.loc["undetermined", "pixels"] == 0


def test_towards_minus_away_is_the_change_in_accuracy(rng):
    p = synthetic_pair(3, size=96)
    mi = p.mask.copy()
    flip = rng.random(mi.shape) < 0.05
    mi[flip] = ~mi[flip]
    mf = p.mask.copy()
    flip = rng.random(mf.shape) < 0.08
    mf[flip] = ~mf[flip]
    t = classify_departures(mf, mi, p.mask, p.truth)
    rows = t.loc[list(CLASSES)]
    assert (rows.towards - rows.away).sum() / rows.pixels.sum() == pytest.approx(
        mask_accuracy(mf, p.mask) - mask_accuracy(mi, p.mask), abs=1e-12)
    assert t.departures.sum() == (mf != mi).sum()


def test_true_decision_where_exactly_one_source_equals_the_truth():
    truth = np.array([[10, 20, 30, 40]], np.uint8)
    a = np.array([[10, 21, 30, 41]], np.uint8)      # equals truth at 0 and 2
    b = np.array([[11, 20, 30, 42]], np.uint8)      # equals truth at 1 and 2
    mask, det = true_decision(a, b, truth)
    np.testing.assert_array_equal(mask, [[False, True, False, False]])
    np.testing.assert_array_equal(det, [[True, True, False, False]])  # 2: both equal; 3: neither
    # colour: every channel must match
    tc = np.stack([truth, truth, truth], -1)
    bc = tc.copy()
    bc[0, 0, 2] += 1                                  # b differs at pixel 0 in one channel only
    mask, det = true_decision(tc, bc, tc)
    np.testing.assert_array_equal(mask, [[False, False, False, False]])
    np.testing.assert_array_equal(det, [[True, False, False, False]])


def test_undetermined_pixels_are_counted_apart_and_take_the_nearest_label(rng):
    truth, image = _scene(rng)
    mf, mi = _masks(truth)
    det = np.ones_like(truth)
    det[:, 28:36] = False                             # the truth is unknown in columns 28-35
    garbage = truth.copy()
    garbage[:, 28:36] = rng.random((N, 8)) < 0.5      # whatever truth_mask says there is ignored
    t = classify_departures(mf, mi, garbage, image, determined=det)
    assert t.loc["undetermined", "pixels"] == N * 8
    assert t.loc["undetermined", "departures"] == 2  # (30, 31) and (30, 35)
    assert t.loc["undetermined", ["towards", "away"]].tolist() == [0, 0]
    assert t.loc["boundary", ["towards", "away"]].tolist() == [1, 0]  # (20, 40) is still scored
    # the filled labels put the boundary back between columns 31 and 32
    np.testing.assert_array_equal(pixel_classes(garbage, image, determined=det), pixel_classes(truth, image))


def test_classes_given_once_score_several_masks(rng):
    truth, image = _scene(rng)
    mf, mi = _masks(truth)
    cls = pixel_classes(truth, image)
    assert classify_departures(mf, mi, truth, image, classes=cls).equals(classify_departures(mf, mi, truth, image))
    with pytest.raises(ValueError, match="either classes or the options"):
        classify_departures(mf, mi, truth, image, classes=cls, band=4)


def test_bad_input_is_refused_in_one_line(rng):
    truth, image = _scene(rng)
    with pytest.raises(ValueError, match=r"mf is \(64, 63\) but the true mask is \(64, 64\)"):
        classify_departures(truth[:, :-1], truth, truth, image)
    with pytest.raises(ValueError, match="mi must be boolean or 0/1"):
        classify_departures(truth, truth * 255, truth, image)
    with pytest.raises(ValueError, match="truth_image is"):
        pixel_classes(truth, image[:-1])
    with pytest.raises(ValueError, match="flat_window must be a positive odd"):
        pixel_classes(truth, image, flat_window=4)
    with pytest.raises(ValueError, match="determined is False everywhere"):
        pixel_classes(truth, image, determined=np.zeros_like(truth))
    with pytest.raises(ValueError, match="images of one shape"):
        true_decision(image, image, image[:-1])
