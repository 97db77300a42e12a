"""Tests of smfuse.evaluation.metrics: reference values of the MATLAB code, properties, hand-computed values."""

import numpy as np
import pytest

from smfuse.evaluation import metrics as M
from smfuse.data.sets import data_root, synthetic_pair
from smfuse.io import RGB2GRAY_WEIGHTS, read_image, rgb2gray_matlab

FUSION = ("qmi", "qabf", "ssim", "ssim_mean", "qy", "qcb", "qncie", "mutual_information")
KEY = {"mutual_information": "mutual_info"}


def _textured(rng, shape=(48, 40), full_range=True):
    """A smooth-plus-noise uint8 image; spans 0..255 when full_range (normalize1 = identity)."""
    from scipy import ndimage

    x = ndimage.gaussian_filter(rng.standard_normal(shape), 2.0) + 0.15 * rng.standard_normal(shape)
    x = (x - x.min()) / (x.max() - x.min())
    lo, hi = (0, 255) if full_range else (40, 200)
    return np.round(lo + x * (hi - lo)).astype(np.uint8)


# ----------------------------------------------------------------------------- reference values

def _reference_folder():
    root = data_root()
    folder = None if root is None else root / "metric_reference" / "lytro_yuliu2020"
    if folder is None or not (folder / "reference_values.csv").is_file():
        pytest.skip("metric reference data (metric_reference/lytro_yuliu2020) not found "
                    "(run `smfuse data fetch` or set SMFUSE_DATA)")
    return folder


@pytest.mark.realdata
@pytest.mark.slow
@pytest.mark.parametrize("image", ["c_01", "c_02", "c_05"])
def test_reproduces_matlab_reference_values(image):
    """Every per-image value of the survey's MATLAB code, 18 methods per image.

    QMI, QNCIE, QAB/F (QG) and QCB to 1e-6 (measured: ~1e-14); QY to 3e-4 (measured:
    1.2e-4; QY's own ill-conditioning in the MATLAB code sets the limit).
    """
    import pandas as pd

    folder = _reference_folder()
    ref = pd.read_csv(folder / "reference_values.csv")
    ref = ref[ref["image"] == image]
    assert len(ref) == 18
    a = read_image(folder / f"{image}_1.png")
    b = read_image(folder / f"{image}_2.png")
    worst = {k: 0.0 for k in ("QMI", "QNCIE", "QG", "QCB", "QY")}
    for row in ref.itertuples():
        got = M.compute_all(a, b, read_image(folder / f"{image}_{row.method}.png"))
        for col, key in (("QMI", "qmi"), ("QNCIE", "qncie"), ("QG", "qabf"), ("QCB", "qcb"), ("QY", "qy")):
            worst[col] = max(worst[col], abs(got[key] - getattr(row, col)))
        assert 0.0 <= got["qy"] <= 1.0, (row.method, got["qy"])
    for col in ("QMI", "QNCIE", "QG", "QCB"):
        assert worst[col] < 1e-6, (col, worst[col])
    assert worst["QY"] < 3e-4, worst["QY"]


# ----------------------------------------------------------------------------- known values

def test_identical_images_give_the_maxima(rng):
    x = _textured(rng)
    m = M.compute_all(x, x, x)
    assert m["qmi"] == pytest.approx(2.0, abs=1e-12)
    q_star = 0.9994 / (1 + np.exp(-15 * 0.5)) * 0.9879 / (1 + np.exp(-22 * (1 - 0.8)))
    assert m["qabf"] == pytest.approx(q_star, abs=1e-12)  # 0.974794, the metric's maximum
    assert m["ssim"] == pytest.approx(2.0, abs=1e-12)
    assert m["ssim_mean"] == pytest.approx(1.0, abs=1e-12)
    assert m["qy"] == pytest.approx(1.0, abs=1e-12)
    assert m["qcb"] == pytest.approx(1.0, abs=1e-12)


def _hist_entropy(*arrays):
    """Entropy in bits of the joint distribution of integer arrays, by counting tuples."""
    stacked = np.stack([np.asarray(x).ravel() for x in arrays], axis=1)
    _, counts = np.unique(stacked, axis=0, return_counts=True)
    p = counts / counts.sum()
    return float(-np.sum(p * np.log2(p)))


def test_f_equal_a_known_values(rng):
    a, b = _textured(rng), _textured(rng)
    ha, hb, hab = _hist_entropy(a), _hist_entropy(b), _hist_entropy(a, b)
    mi_ab = ha + hb - hab
    # QMI(A, B, A) = 2 [H_A / (2 H_A) + MI_AB / (H_A + H_B)]
    assert M.qmi(a, b, a) == pytest.approx(1 + 2 * mi_ab / (ha + hb), abs=1e-12)
    # MI(A, A) + MI(B, A) = H_A + MI_AB
    assert M.mutual_information(a, b, a) == pytest.approx(ha + mi_ab, abs=1e-12)
    # SSIM(A, A) + SSIM(B, A) = 1 + SSIM(B, A)
    assert M.ssim(a, b, a) == pytest.approx(1 + M.ssim_gt(b, a), abs=1e-12)
    # QNCIE(A, A, A): R = (1 - c) I + c 11^T with c = H_A / 8; eigenvalues 1 + 2c, 1 - c, 1 - c
    c = ha / 8
    lam = np.array([1 + 2 * c, 1 - c, 1 - c]) / 3
    assert M.qncie(a, a, a) == pytest.approx(1 + np.sum(lam * np.log(lam) / np.log(256)), abs=1e-12)


def test_qncie_matches_eigen_formula_on_three_images(rng):
    a, b, f = _textured(rng), _textured(rng), _textured(rng)
    ncc = {}
    for (n1, x), (n2, y) in (((0, a), (1, b)), ((0, a), (2, f)), ((1, b), (2, f))):
        ncc[n1, n2] = (_hist_entropy(x) + _hist_entropy(y) - _hist_entropy(x, y)) / 8
    R = np.eye(3)
    for (i, j), v in ncc.items():
        R[i, j] = R[j, i] = v
    lam = np.linalg.eigvalsh(R) / 3
    assert M.qncie(a, b, f) == pytest.approx(1 + np.sum(lam * np.log2(lam)) / 8, abs=1e-12)


def _wang_ssim_valid(x, y):
    """Eq. (13) of Wang et al. (2004) written out: every 11x11 window fully inside the image,
    weighted by MATLAB's fspecial('gaussian', 11, 1.5), population moments, then the mean."""
    from scipy.signal import correlate2d

    t = np.arange(11) - 5.0
    w = np.exp(-(t[:, None] ** 2 + t[None, :] ** 2) / (2 * 1.5**2))
    w /= w.sum()
    x, y = x.astype(float), y.astype(float)
    E = lambda z: correlate2d(z, w, mode="valid")  # noqa: E731
    mx, my = E(x), E(y)
    vx, vy, cxy = E(x * x) - mx * mx, E(y * y) - my * my, E(x * y) - mx * my
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return float(np.mean((2 * mx * my + c1) * (2 * cxy + c2) / ((mx * mx + my * my + c1) * (vx + vy + c2))))


def test_scikit_image_ssim_is_wangs_valid_ssim(rng):
    # SSIM is computed by skimage.metrics.structural_similarity; it must be the 'valid'
    # 11x11-window SSIM of the published code, written out independently above.
    a, b, f = _textured(rng), _textured(rng), _textured(rng, full_range=False)
    ref = _wang_ssim_valid(a, f) + _wang_ssim_valid(b, f)
    assert M.ssim(a, b, f) == pytest.approx(ref, abs=1e-10)
    assert M.ssim_mean(a, b, f) == pytest.approx(ref / 2, abs=1e-10)
    assert M.ssim_gt(f, a) == pytest.approx(_wang_ssim_valid(f, a), abs=1e-10)


def test_scikit_image_entropy_is_the_level_count(rng):
    # entropy() calls skimage.measure.shannon_entropy; the same value as counting levels.
    for f in (_textured(rng), _textured(rng, full_range=False), rng.integers(0, 7, (13, 17)).astype(np.uint8)):
        assert M.entropy(f) == pytest.approx(_hist_entropy(f), abs=1e-12)


def _boundary_by_hand(m):
    """Pixels with a 4-neighbour inside the image of the other label, by comparing shifts."""
    b = np.zeros_like(m)
    dv, dh = m[1:] != m[:-1], m[:, 1:] != m[:, :-1]
    b[1:] |= dv
    b[:-1] |= dv
    b[:, 1:] |= dh
    b[:, :-1] |= dh
    return b


def test_scikit_image_boundaries_are_the_4_neighbour_rule(rng):
    # boundary_fscore() takes boundaries from skimage.segmentation.find_boundaries
    # (connectivity 1, 'thick'): both sides of each edge, the image border not an edge.
    from skimage.segmentation import find_boundaries

    for _ in range(20):
        m = _blob_mask(rng, (23, 29))
        got = find_boundaries(m, connectivity=1, mode="thick")
        np.testing.assert_array_equal(got, _boundary_by_hand(m))


def _blob_mask(rng, shape):
    from scipy import ndimage

    return ndimage.gaussian_filter(rng.standard_normal(shape), rng.uniform(0.5, 3)) > rng.uniform(-0.3, 0.3)


def test_entropy_known_values():
    assert M.entropy(np.full((16, 16), 77, np.uint8)) == 0.0
    assert M.entropy(np.arange(256, dtype=np.uint8).reshape(16, 16)) == pytest.approx(8.0, abs=1e-12)
    half = np.zeros((16, 16), np.uint8)
    half[:, 8:] = 200
    assert M.entropy(half) == pytest.approx(1.0, abs=1e-12)
    # float grey levels are rounded half away from zero: 0.5 -> 1, so one level
    assert M.entropy(np.full((4, 4), 0.5)) == 0.0


def test_spatial_frequency_and_average_gradient_by_hand():
    f = np.array([[0, 3], [4, 0]], np.uint8)
    # row differences 3, -4; column differences 4, -3; both sums / (M N) = 25 / 4
    assert M.spatial_frequency(f) == pytest.approx(np.sqrt(12.5), abs=1e-12)
    # forward differences, 0 in the last row/column:
    # (0,0): sqrt((4^2 + 3^2)/2), (0,1): sqrt(3^2/2), (1,0): sqrt(4^2/2), (1,1): 0
    ag = (np.sqrt(12.5) + np.sqrt(4.5) + np.sqrt(8.0)) / 4
    assert M.average_gradient(f) == pytest.approx(ag, abs=1e-12)
    assert M.spatial_frequency(np.full((5, 5), 9.0), data_range=255) == 0.0


# ----------------------------------------------------------------------------- properties

@pytest.mark.parametrize("index", [0, 1, 3])
def test_noise_lowers_every_fusion_score(index):
    p = synthetic_pair(index, size=64)
    rng = np.random.default_rng(index)
    noisy = np.clip(p.truth + rng.normal(0, 12, p.truth.shape), 0, 255).astype(np.uint8)
    clean, worse = M.compute_all(p.a, p.b, p.truth), M.compute_all(p.a, p.b, noisy)
    for k in ("qmi", "qabf", "ssim", "qy", "qcb", "qncie", "mutual_info"):
        assert worse[k] < clean[k], k
    assert worse["sf"] > clean["sf"] and worse["ag"] > clean["ag"]


@pytest.mark.parametrize("index", range(8))
def test_qy_and_qcb_prefer_the_truth_to_averaging(index):
    p = synthetic_pair(index, size=96)  # QCB's single DoG level scales with the size
    avg = np.round((p.a.astype(float) + p.b) / 2).astype(np.uint8)
    assert M.qy(p.a, p.b, p.truth) > M.qy(p.a, p.b, avg)
    if not p.meta["soft"]:
        # Where a boundary is soft, the truth is sharper than both sources in the band
        # between them, and QCB's min/max contrast ratio penalises a fused image for
        # exceeding the sources: it then can prefer the average (soft stripes, pairs 3
        # and 4 of seed 0). With hard boundaries the truth copies a source everywhere.
        assert M.qcb(p.a, p.b, p.truth) > M.qcb(p.a, p.b, avg)


def test_symmetric_in_the_sources(rng):
    a, b = _textured(rng), _textured(rng, full_range=False)
    f = np.round((a.astype(float) * 0.7 + b * 0.3)).astype(np.uint8)
    for name in FUSION:
        fn = getattr(M, name)
        assert fn(a, b, f) == pytest.approx(fn(b, a, f), abs=1e-9), name


def test_ranges_on_random_images(rng):
    for _ in range(3):
        a, b, f = (rng.integers(0, 256, (24, 24)).astype(np.uint8) for _ in range(3))
        m = M.compute_all(a, b, f)
        assert 0 <= m["qmi"] <= 2
        assert 0 <= m["qabf"] < 1
        assert -2 <= m["ssim"] <= 2 and m["ssim_mean"] == pytest.approx(m["ssim"] / 2)
        assert 0 <= m["qy"] <= 1 and 0 <= m["qcb"] <= 1 and 0 <= m["qncie"] <= 1
        assert 0 <= m["mutual_info"] <= 16 and 0 <= m["entropy"] <= 8


def test_qy_stays_in_range_on_flat_regions(rng):
    # Flat areas in a source give 0/0 SSIM terms with C = 2e-16; the rule sets tiny
    # (co)variances to 0, so QY stays in [0, 1] and a perfect copy still scores 1.
    a = _textured(rng, (40, 40))
    b = a.copy()
    a[:, :20] = 128
    b[:, 20:] = 37
    f = np.where(np.arange(40)[None, :] < 20, b, a).astype(np.uint8)
    for fused in (f, a, b, np.full_like(a, 128)):
        assert 0 <= M.qy(a, b, fused) <= 1
    assert M.qy(a, a, a) == pytest.approx(1.0, abs=1e-12)
    assert M.qy(a, b, f) > M.qy(a, b, np.full_like(a, 128))


def test_constant_images_are_defined():
    z = np.full((16, 16), 90, np.uint8)
    m = M.compute_all(z, z, z)
    assert all(np.isfinite(v) for v in m.values())
    assert m["qmi"] == 2.0 and m["qcb"] == 1.0 and m["ssim"] == pytest.approx(2.0)


def test_compute_all_equals_the_single_functions(rng):
    a, b, f = _textured(rng), _textured(rng), _textured(rng, full_range=False)
    m = M.compute_all(a, b, f)
    assert tuple(m) == M.METRIC_KEYS
    assert all(type(v) is float for v in m.values())
    for name in FUSION:
        assert m[KEY.get(name, name)] == getattr(M, name)(a, b, f), name
    assert m["entropy"] == M.entropy(f)
    assert m["sf"] == M.spatial_frequency(f) and m["ag"] == M.average_gradient(f)


def test_colour_goes_through_matlab_rgb2gray(rng):
    a, b, f = (rng.integers(0, 256, (20, 22, 3)).astype(np.uint8) for _ in range(3))
    got = M.compute_all(a, b, f)
    want = M.compute_all(rgb2gray_matlab(a), rgb2gray_matlab(b), rgb2gray_matlab(f))
    assert got == want


def test_float_grey_equals_uint8(rng):
    a, b, f = _textured(rng), _textured(rng), _textured(rng)
    want = M.compute_all(a, b, f)
    # floats on 0..255 say so with data_range=255 and are then used exactly as they are
    assert want == M.compute_all(a.astype(np.float32), b.astype(float), f.astype(float), data_range=255)
    # the default float range is [0, 1]: the same images divided by 255 (equal up to rounding)
    got = M.compute_all(a / 255.0, b / 255.0, f / 255.0)
    assert got == pytest.approx(want, abs=1e-9)
    # uint16 is the same image on another scale: v * 257 is exactly v after / 257
    assert want == M.compute_all(*(x.astype(np.uint16) * 257 for x in (a, b, f)))


def test_uint16_colour_is_accepted_as_fuse_accepts_it(rng):
    a, b, f = (rng.integers(0, 65536, (20, 22, 3)).astype(np.uint16) for _ in range(3))
    got = M.compute_all(a, b, f)
    # the rgb2gray weights, unrounded, on the 0..255 scale
    grey = [(x / 257.0) @ RGB2GRAY_WEIGHTS for x in (a, b, f)]
    assert got == M.compute_all(*grey, data_range=255)


def test_float_outside_its_range_names_the_range_and_the_fix(rng):
    g = rng.integers(0, 256, (16, 16)).astype(np.uint8)
    g[0, :2] = 0, 255
    with pytest.raises(ValueError, match=r"^the fused image is a float image with values in \[0, 255\], outside "
                                         r"\[0, 1\]; pass data_range=255 if 255 is white, or divide it by 255 first$"):
        M.qabf(g, g, g.astype(float))
    with pytest.raises(ValueError, match=r"the ground truth is a float image .* outside \[0, 1\]"):
        M.psnr(g / 255.0, g.astype(float))
    with pytest.raises(ValueError, match=r"outside \[0, 255\] \(from data_range=255\)"):
        M.ssim(g, g, g.astype(float) + 300, data_range=255)
    with pytest.raises(ValueError, match="data_range must be a positive number"):
        M.entropy(g / 255.0, data_range=0)


# ----------------------------------------------------------------------------- input checks

def test_invalid_inputs_raise_one_line_errors(rng):
    g = rng.integers(0, 256, (16, 16)).astype(np.uint8)
    c = rng.integers(0, 256, (16, 16, 3)).astype(np.uint8)
    with pytest.raises(ValueError, match="same size"):
        M.qabf(g, g, g[:, :15])
    with pytest.raises(ValueError, match="same kind"):
        M.compute_all(c, c, g)
    with pytest.raises(ValueError, match=r"the first source is a float image .* outside \[0, 1\]"):
        M.qmi(c.astype(float), c.astype(float), c.astype(float))
    with pytest.raises(ValueError, match="the fused image contains NaN"):
        M.ssim(g, g, np.full((16, 16), np.nan))
    with pytest.raises(ValueError, match="the second source has pixel type int64"):
        M.qcb(g, g.astype(np.int64), g)
    with pytest.raises(TypeError, match="the fused image: expected a numpy array, got list"):
        M.qabf(g, g, g.tolist())
    with pytest.raises(ValueError, match="the first source is .* but the fused image is"):
        M.qy(g, g, g[:, :15])
    with pytest.raises(ValueError, match="at least 11x11"):
        M.compute_all(g[:8, :8], g[:8, :8], g[:8, :8])
    with pytest.raises(ValueError, match="RGB"):
        M.entropy(np.zeros((4, 4, 2), np.uint8))


# ----------------------------------------------------------------------------- ground truth

def test_psnr_by_hand():
    t = np.zeros((16, 16), np.uint8)
    f = t.copy()
    f[3, 4] = 255  # MSE = 255^2 / 256 -> PSNR = 10 log10(256)
    assert M.psnr(f, t) == pytest.approx(10 * np.log10(256), abs=1e-12)
    assert M.psnr(t + 5, t) == pytest.approx(10 * np.log10(255**2 / 25), abs=1e-12)  # 34.151 dB
    assert M.psnr(t, t) == float("inf")
    assert M.psnr(np.zeros((2, 2)), np.ones((2, 2)), data_range=255) == pytest.approx(20 * np.log10(255), abs=1e-12)
    assert M.psnr(np.zeros((2, 2)), np.ones((2, 2))) == 0.0  # [0, 1] floats: black against white
    with pytest.raises(ValueError, match="same size"):
        M.psnr(t, t[:8])


def test_ssim_gt_bounds(rng):
    x = _textured(rng)
    assert M.ssim_gt(x, x) == pytest.approx(1.0, abs=1e-12)
    assert M.ssim_gt(np.clip(x + rng.normal(0, 20, x.shape), 0, 255), x, data_range=255) < 0.9


def test_mask_accuracy_by_hand():
    t = np.zeros((4, 4), bool)
    t[:, 2:] = True
    m = t.copy()
    m[0, 0], m[1, 3], m[3, 1] = True, False, True  # three of 16 pixels flipped
    assert M.mask_accuracy(m, t) == pytest.approx(13 / 16)
    assert M.mask_accuracy(t.astype(np.uint8), t) == 1.0
    assert M.mask_accuracy(~t, t) == 0.0
    with pytest.raises(ValueError, match="threshold it first"):
        M.mask_accuracy(t.astype(np.uint8) * 255, t)
    with pytest.raises(ValueError, match="same size"):
        M.mask_accuracy(t[:3], t)


def test_boundary_fscore_by_hand():
    t = np.zeros((6, 8), bool)
    t[:, 3:] = True  # edge between columns 2 and 3: boundary pixels in columns 2 and 3
    m = np.zeros((6, 8), bool)
    m[:, 4:] = True  # shifted by one: boundary in columns 3 and 4
    # tol 0: half of each boundary coincides (column 3) -> P = R = 1/2
    assert M.boundary_fscore(m, t, tol=0) == pytest.approx(0.5)
    # tol 1: every boundary pixel is within one pixel of the other boundary
    assert M.boundary_fscore(m, t, tol=1) == pytest.approx(1.0)
    far = np.zeros((6, 8), bool)
    far[:, 7:] = True  # boundary in columns 6 and 7: 3 or more px from columns 2-3
    assert M.boundary_fscore(far, t, tol=2) == 0.0
    # shifted by two: columns 4 and 5 against 2 and 3; only column 4 is within 1 px of 3
    m2 = np.zeros((6, 8), bool)
    m2[:, 5:] = True
    assert M.boundary_fscore(m2, t, tol=1) == pytest.approx(0.5)
    assert M.boundary_fscore(np.zeros((6, 8)), np.zeros((6, 8))) == 1.0
    assert M.boundary_fscore(np.zeros((6, 8)), t) == 0.0
    with pytest.raises(ValueError, match="tol"):
        M.boundary_fscore(m, t, tol=-1)
