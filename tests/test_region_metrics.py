"""Ground-truth scores restricted to regions: boundary distance, band PSNR, CIELAB Delta-E, region recall."""

import numpy as np
import pytest

from smfuse.evaluation.metrics import boundary_distance, delta_e_cie76, psnr, region_recall


def test_boundary_distance_is_to_the_nearest_pixel_of_the_other_label():
    m = np.zeros((5, 8), bool)
    m[:, 5:] = True
    d = boundary_distance(m)
    np.testing.assert_array_equal(d[0], [5, 4, 3, 2, 1, 1, 2, 3])
    m2 = np.zeros((5, 5), bool)
    m2[2, 2] = True
    assert boundary_distance(m2)[0, 0] == pytest.approx(np.sqrt(8))
    assert np.isinf(boundary_distance(np.ones((4, 4), bool))).all()


def test_psnr_where_scores_only_the_selected_pixels():
    truth = np.full((16, 16), 100, np.uint8)
    f = truth.copy()
    f[:, :4] = 110  # error 10 on 4 columns
    band = np.zeros((16, 16), bool)
    band[:, :8] = True
    assert psnr(f, truth, where=band) == pytest.approx(10 * np.log10(255 ** 2 / 50.0))  # mse 100 on half the band
    assert psnr(f, truth) == pytest.approx(10 * np.log10(255 ** 2 / 25.0))
    assert psnr(f, truth, where=~band) == float("inf")
    with pytest.raises(ValueError, match="selects no pixel"):
        psnr(f, truth, where=np.zeros((16, 16), bool))
    with pytest.raises(ValueError, match="mask of the images' size"):
        psnr(f, truth, where=np.ones((8, 8), bool))
    with pytest.raises(TypeError, match="boolean"):
        psnr(f, truth, where=band.astype(int))


def test_delta_e_of_black_against_white_is_100_and_of_equal_images_0():
    black, white = np.zeros((12, 12, 3), np.uint8), np.full((12, 12, 3), 255, np.uint8)
    assert delta_e_cie76(black, white) == pytest.approx(100.0, abs=1e-3)
    assert delta_e_cie76(white, white) == 0.0
    half = np.where(np.arange(12)[None, :, None] < 6, black, white).astype(np.uint8)
    left = np.zeros((12, 12), bool)
    left[:, :6] = True
    assert delta_e_cie76(half, black, where=left) == 0.0
    assert delta_e_cie76(half, black, where=~left) == pytest.approx(100.0, abs=1e-3)
    assert delta_e_cie76(half, black) == pytest.approx(50.0, abs=1e-3)
    with pytest.raises(ValueError, match="colour"):
        delta_e_cie76(black[..., 0], white[..., 0])


def test_delta_e_sees_a_hue_shift_that_grey_psnr_barely_sees():
    """The point of claim C9: a colour error at constant luminance is large in CIELAB."""
    truth = np.zeros((12, 12, 3), np.uint8)
    truth[..., 0] = 200
    shifted = truth.copy()
    shifted[..., 0], shifted[..., 1] = 100, 51  # the same MATLAB rgb2gray (60), another hue
    assert delta_e_cie76(shifted, truth) > 20
    assert psnr(shifted, truth) == float("inf")


def test_region_recall_is_the_share_of_each_region_taken_from_its_focused_source():
    regions = np.zeros((10, 10), np.int32)
    regions[0:2, 0:5] = 1   # 10 px
    regions[5:9, 5:9] = 2   # 16 px
    true = regions > 0
    mask = true.copy()
    mask[0, 0:3] = False    # 3 of region 1 missed
    mask[5:9, 5:7] = False  # half of region 2 missed
    mask[9, 9] = True       # a false alarm outside the regions does not count
    np.testing.assert_allclose(region_recall(mask, true, regions), [0.7, 0.5])
    np.testing.assert_allclose(region_recall(~mask, ~true, regions), [0.7, 0.5])  # the other polarity alike
    assert region_recall(mask, true, np.zeros((10, 10), np.int32)).size == 0
    with pytest.raises(ValueError, match="integer"):
        region_recall(mask, true, regions.astype(float))
