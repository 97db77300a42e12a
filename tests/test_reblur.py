"""Tests of the reblur decision (smfuse.evaluation.baselines.reblur) and its registry entry."""

import numpy as np
import pytest
from scipy import ndimage

from smfuse.data.sets import synthetic_pair
from smfuse.evaluation.baselines import reblur
from smfuse.evaluation.methods import get_method, method_names
from smfuse.evaluation.metrics import mask_accuracy


def _texture(rng, shape=(64, 64)):
    return ndimage.gaussian_filter(rng.random(shape), 0.7)


def test_an_exact_gaussian_blur_is_explained_one_way_only(rng):
    sharp = _texture(rng)
    blurred = ndimage.gaussian_filter(sharp, 2.0, mode="reflect")  # sigma 2 is one of SIGMAS
    e12, e21 = reblur.blur_residuals(sharp, blurred)
    assert e12.max() < 1e-12                      # blurred is exactly G_2 * sharp
    assert e21.min() > 1e-3                       # sharp is no blur of blurred
    d, mask = reblur.decision(sharp, blurred)
    assert (d == 0).all() and not mask.any()      # the first source is sharp everywhere
    d, mask = reblur.decision(blurred, sharp)
    assert (d == 1).all() and mask.all()


def test_identical_sources_tie_and_go_to_the_first(rng):
    x = np.rint(_texture(rng) * 255).astype(np.uint8)
    d, mask = reblur.decision(x / 255.0, x / 255.0)
    assert (d == 0.5).all() and not mask.any()
    fused, mask = reblur.fuse_with_mask(x, x.copy())
    np.testing.assert_array_equal(fused, x)


def test_a_half_plane_pair_is_decided_right(rng):
    sharp = _texture(rng, (64, 96))
    blurred = ndimage.gaussian_filter(sharp, 3.0)
    truth = np.zeros(sharp.shape, bool)
    truth[:, 48:] = True                          # b sharp on the right half
    a = np.where(truth, blurred, sharp)
    b = np.where(truth, sharp, blurred)
    mask = reblur.decision(a, b)[1]
    assert mask_accuracy(mask, truth) > 0.97
    assert (mask[:, :40] == 0).all() and (mask[:, 56:] == 1).all()  # wrong pixels only near the boundary


def test_registered_as_a_probe_that_returns_its_mask():
    p = synthetic_pair(5, size=64)                # colour
    m = get_method("reblur")
    assert m.family == "probe" and m.has_mask and method_names("probe") == ("reblur", "blockwise_sf")
    assert "reblur" not in method_names("baseline")
    out = m(p.a, p.b)
    fused, mask = reblur.fuse_with_mask(p.a, p.b)
    np.testing.assert_array_equal(out.mask, mask)
    np.testing.assert_array_equal(out.fused, np.where(mask[..., None], p.b, p.a))
    np.testing.assert_array_equal(out.fused, fused)
    assert out.fused.dtype == p.a.dtype and p.a.ndim == 3


def test_bad_options_are_refused(rng):
    x = _texture(rng)
    with pytest.raises(ValueError, match="sigmas must be one or more positive"):
        reblur.blur_residuals(x, x, sigmas=(1.0, 0.0))
    with pytest.raises(ValueError, match="window must be a positive odd"):
        reblur.blur_residuals(x, x, window=6)
    with pytest.raises(ValueError, match="eps must be a number > 0"):
        reblur.decision(x, x, eps=0)
    with pytest.raises(ValueError, match="one shape"):
        reblur.blur_residuals(x, x[:-1])
    with pytest.raises(ValueError):
        reblur.fuse(np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8))
