import numpy as np
import pytest
import torch

from smfuse.method.filters import box_mean, guided_filter, laplacian, mean_filter


def _box_mean_loop(x, r):
    h, w = x.shape
    out = np.empty_like(x)
    for i in range(h):
        for j in range(w):
            win = x[max(0, i - r):i + r + 1, max(0, j - r):j + r + 1]
            out[i, j] = win.mean()
    return out


def test_box_mean_counts_in_image_pixels(rng):
    x = rng.random((9, 11))
    np.testing.assert_allclose(box_mean(x, 2), _box_mean_loop(x, 2), atol=1e-12)
    # corner of an all-ones image stays 1 (zero padding would give 9/25)
    assert box_mean(np.ones((6, 6)), 2)[0, 0] == pytest.approx(1.0)


def test_mean_filter_replicate_border():
    x = np.zeros((7, 7))
    x[:, 0] = 7.0
    out = mean_filter(x, 3)
    # at column 0 the replicated border doubles the edge column: (7+7+0)/3
    assert out[3, 0] == pytest.approx(14 / 3)
    assert out[3, 1] == pytest.approx(7 / 3)
    with pytest.raises(ValueError, match="odd"):
        mean_filter(x, 4)


def _guided_filter_loop(I, p, r, eps):
    mI, mp = _box_mean_loop(I, r), _box_mean_loop(p, r)
    a = (_box_mean_loop(I * p, r) - mI * mp) / (_box_mean_loop(I * I, r) - mI * mI + eps)
    b = mp - a * mI
    return _box_mean_loop(a, r) * I + _box_mean_loop(b, r)


def test_guided_filter_matches_definition(rng):
    I, p = rng.random((12, 10)), rng.random((12, 10))
    np.testing.assert_allclose(guided_filter(I, p, 2, 0.01), _guided_filter_loop(I, p, 2, 0.01), atol=1e-10)


def test_guided_filter_properties(rng):
    I = rng.random((20, 20))
    # a constant input stays constant; with tiny eps, p = I is (nearly) reproduced
    np.testing.assert_allclose(guided_filter(I, np.full_like(I, 0.3), 3, 0.1), 0.3, atol=1e-12)
    np.testing.assert_allclose(guided_filter(I, I, 3, 1e-8), I, atol=1e-4)
    with pytest.raises(ValueError, match="eps"):
        guided_filter(I, I, 3, 0.0)
    with pytest.raises(ValueError, match="shape"):
        guided_filter(I, I[:5], 3, 0.1)


def test_laplacian_values():
    x = torch.zeros(1, 1, 5, 5, dtype=torch.float64)
    x[0, 0, 2, 2] = 1.0
    y = laplacian(x)[0, 0]
    assert y[2, 2] == -4 and y[1, 2] == 1 and y[2, 1] == 1 and y[1, 1] == 0
    ones = torch.ones(1, 2, 4, 4)
    z = laplacian(ones)
    assert z[0, 0, 0, 0] == -2  # zero padding: two missing neighbours at a corner
    assert z[0, 1, 1, 1] == 0
