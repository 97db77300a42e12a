"""Methods scored in the focused regions, the boundary band and on small discs (smfuse.evaluation.regions)."""

import numpy as np
import pytest

from smfuse.data.sets import synthetic_pair
from smfuse.data.small_regions import small_region_pairs
from smfuse.evaluation.methods import Fused
from smfuse.evaluation.metrics import boundary_distance, delta_e_cie76, psnr
from smfuse.evaluation.regions import BAND, disc_recalls, region_scores, score_regions


def _truth_method(pair_by_name):
    """A method that returns the truth itself, except one stripe of the band taken from the blurred source."""
    def fn(a, b):
        p = pair_by_name[a.tobytes()]
        f = p.truth.copy()
        d = boundary_distance(p.mask)
        wrong = (d <= 2) & ~p.mask  # two pixels of the band on the first source's side: take the blurred b
        f[wrong] = b[wrong]
        return Fused(f, None)
    return fn


def test_region_scores_split_the_image_at_the_band():
    p = synthetic_pair(1, size=96)  # colour, hard edge
    assert not p.meta["soft"]
    d = boundary_distance(p.mask)
    f = p.truth.copy()
    f[d > BAND] = 255 - f[d > BAND]  # spoil the focused regions only
    s = region_scores(f, p.truth, p.mask)
    assert s["band_psnr"] == float("inf") and s["band_pixels"] == int((d <= BAND).sum())
    assert s["delta_e"] == pytest.approx(delta_e_cie76(f, p.truth, where=d > BAND))
    g = p.truth.copy()
    g[d <= BAND] = p.a[d <= BAND]  # spoil the band only
    s = region_scores(g, p.truth, p.mask)
    assert s["delta_e"] == 0.0 and s["band_psnr"] == pytest.approx(psnr(g, p.truth, where=d <= BAND))
    one = region_scores(p.truth, p.truth, np.ones(p.mask.shape, bool))
    assert np.isnan(one["band_psnr"]) and one["delta_e"] == 0.0 and one["band_pixels"] == 0


def test_score_regions_runs_every_subject_on_every_pair_with_its_cluster():
    pairs = [synthetic_pair(i, size=64) for i in (1, 2)]
    by_name = {p.a.tobytes(): p for p in pairs}
    subjects = [("truth-ish", None, _truth_method(by_name)),
                ("first", 3, lambda a, b: Fused(a, None))]
    t = score_regions(pairs, subjects, set_name="syn")
    assert list(t.columns) == ["set", "pair", "cluster", "method", "seed", "delta_e", "band_psnr", "band_pixels"]
    assert t.method.tolist() == ["truth-ish", "truth-ish", "first", "first"]
    assert t.cluster.tolist() == [p.meta["image"] for p in pairs] * 2
    assert np.isnan(t.seed.iloc[0]) and t.seed.iloc[2] == 3
    first = t[t.method == "first"].band_psnr.to_numpy()
    assert (t[t.method == "truth-ish"].band_psnr.to_numpy() > first).all()
    with pytest.raises(ValueError, match="one true focus map per pair"):
        score_regions(pairs, subjects, true_masks=[pairs[0].mask])


def test_disc_recalls_score_each_disc_of_each_pair():
    pairs = small_region_pairs(2, size=128, radii=(4, 12))

    def half(a, b):  # takes the left half of every image from the second source
        m = np.zeros(a.shape[:2], bool)
        m[:, :64] = True
        return Fused(np.where(m[..., None] if a.ndim == 3 else m, b, a), m)

    t = disc_recalls(pairs, [("half", None, half)], set_name="discs")
    assert t.radius.tolist() == [4, 12, 4, 12] and t.disc.tolist() == [1, 2, 1, 2]
    for p, (_, row) in zip([pairs[0], pairs[0], pairs[1], pairs[1]], t.iterrows()):
        k = row.disc
        (cy, cx), r = p.meta["centres"][k - 1], p.meta["radii"][k - 1]
        inside = p.meta["regions"] == k
        left = inside & (np.arange(128)[None, :] < 64)
        expected = left.sum() / inside.sum() if p.meta["focused_in"] == "b" else 1 - left.sum() / inside.sum()
        assert row.recall == pytest.approx(expected)
    with pytest.raises(ValueError, match="decision mask"):
        disc_recalls(pairs, [("nomask", None, lambda a, b: Fused(a, None))])
