"""Synthetic pairs whose focused regions are small discs of known radii.

The paper claims (Sec. I, contribution 4 (c)) that SMFuse does not lose small focused regions,
which the post-processing of earlier decision-map methods (consistency verification,
small-region removal: :mod:`smfuse.evaluation.postprocess`) blurs or removes. These pairs put
numbers on it (claim C11 of the register, notebook 09): in each, discs of the radii
:data:`RADII` (4 to 24 px) are in focus in one source and out of focus in the other, the
rest of the image the other way round, so that every true region's size is known.

Each pair is drawn from ``numpy.random.default_rng([seed, index])``, in this order: the base
image (one of the 12 images bundled with scikit-image that :func:`smfuse.data.sets.synthetic_pair`
uses, centre-cropped to ``size x size``: the all-in-focus truth ``G``), the defocus (a Gaussian
of sigma uniform in [1.5, 4] px, as for the synthetic pairs) and the disc centres. Which
source holds the focused discs alternates with ``index`` (the second source for even
indices), so that a method that leans to one source gains nothing. The discs are placed at
random where the image has texture (the mean gradient magnitude of ``G`` inside the disc at
least that over the whole image: a disc on a flat patch looks the same in both sources and
no method could find it), at least 8 px inside the image, and at least 16 px apart edge to
edge, so that the 8-px neighbourhoods of two discs never touch. Edges are hard:
``a = (1 - M) G + M blur(G)`` and ``b = M G + (1 - M) blur(G)`` with ``M`` the binary map of
where the second source is sharp.

Examples
--------
>>> from smfuse.data.small_regions import small_region_pair, RADII
>>> p = small_region_pair(0, size=128, radii=(4, 8))
>>> p.meta["radii"], p.meta["focused_in"], int(p.meta["regions"].max())
((4, 8), 'b', 2)
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from smfuse.data.sets import _SIGMA_RANGE, _SYNTH_IMAGES, Pair

__all__ = ["small_region_pair", "small_region_pairs", "RADII", "MARGIN", "GAP"]

#: The disc radii of every pair, in pixels (the register's "4 to 24 px").
RADII = (4, 6, 8, 10, 12, 16, 20, 24)
#: Least distance of a disc's edge from the image border, in pixels.
MARGIN = 8
#: Least distance between two discs' edges, in pixels.
GAP = 16
_TRIES = 2000


def _base_image(name: str, size: int) -> np.ndarray:
    """Bundled image ``name``, centre-cropped to ``size x size`` (resized up first if smaller), float64 0..255."""
    import skimage.data

    img = getattr(skimage.data, name)()
    h0, w0 = img.shape[:2]
    if min(h0, w0) < size:
        from skimage.transform import resize

        scale = size / min(h0, w0)
        img = resize(img, (int(np.ceil(h0 * scale)), int(np.ceil(w0 * scale))) + img.shape[2:],
                     preserve_range=True, anti_aliasing=True)
        h0, w0 = img.shape[:2]
    y0, x0 = (h0 - size) // 2, (w0 - size) // 2
    return np.asarray(img[y0:y0 + size, x0:x0 + size], dtype=np.float64)


def _place_discs(texture: np.ndarray, radii, rng: np.random.Generator) -> list[tuple[int, int, int]]:
    """Centres ``(radius, cy, cx)`` for discs of ``radii`` (largest first), on texture, apart from each other."""
    h, w = texture.shape
    yy, xx = np.mgrid[0:h, 0:w]
    level = texture.mean()
    placed: list[tuple[int, int, int]] = []
    for r in sorted(radii, reverse=True):
        lo, hi_y, hi_x = r + MARGIN, h - r - MARGIN, w - r - MARGIN
        if hi_y <= lo or hi_x <= lo:
            raise ValueError(f"a disc of radius {r} px does not fit {MARGIN} px inside a {h}x{w} image; "
                             "use a larger size or smaller radii")
        for _ in range(_TRIES):
            cy, cx = int(rng.integers(lo, hi_y)), int(rng.integers(lo, hi_x))
            if any((cy - y) ** 2 + (cx - x) ** 2 < (r + q + GAP) ** 2 for q, y, x in placed):
                continue
            if texture[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r].mean() >= level:
                placed.append((r, cy, cx))
                break
        else:
            raise ValueError(f"could not place a disc of radius {r} px on texture, {GAP} px from the others, in "
                             f"{_TRIES} tries; use a larger size or fewer radii")
    return placed


def small_region_pair(index: int, *, size: int = 256, radii=RADII, seed: int = 0) -> Pair:
    """A pair whose focused regions are discs of known radii (see the module docstring).

    Parameters
    ----------
    index : int
        Which pair (>= 0); the same index and seed always give the same pair.
    size : int
        Side of the square image, >= 64.
    radii : sequence of int
        The disc radii in pixels, each >= 1; one disc of each.
    seed : int
        Seed of the draws.

    Returns
    -------
    Pair
        ``uint8`` sources and truth (grey or colour, as the base image), ``mask`` (True where
        the second source is sharp) and ``meta``: ``image`` (the base image: pairs of one image
        are one unit for the verdict rule), ``sigma``, ``focused_in`` (``'a'`` or ``'b'``: the
        source that holds the focused discs), ``radii`` (disc k+1's radius at position k),
        ``centres`` and ``regions``, an ``(H, W)`` int array labelling disc k+1 with k+1 and the
        rest with 0.

    Raises
    ------
    ValueError
        If ``index`` < 0, ``size`` < 64, a radius is not a positive integer, or the discs do not fit.
    """
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)) or index < 0:
        raise ValueError(f"index must be an integer >= 0, got {index!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 64:
        raise ValueError(f"size must be an integer >= 64, got {size!r}")
    radii = tuple(int(r) for r in radii)
    if not radii or min(radii) < 1:
        raise ValueError(f"radii must be positive integers (pixels), got {radii!r}")
    rng = np.random.default_rng([seed, index])
    name = _SYNTH_IMAGES[int(rng.integers(len(_SYNTH_IMAGES)))]
    sigma = float(rng.uniform(*_SIGMA_RANGE))
    truth = _base_image(name, int(size))
    grey = truth.mean(axis=2) if truth.ndim == 3 else truth
    texture = np.hypot(ndimage.sobel(grey, 0), ndimage.sobel(grey, 1))
    discs = _place_discs(texture, radii, rng)
    discs.sort(key=lambda d: radii.index(d[0]))  # back to the order of radii
    yy, xx = np.mgrid[0:size, 0:size]
    regions = np.zeros((size, size), np.int32)
    for k, (r, cy, cx) in enumerate(discs, start=1):
        regions[(yy - cy) ** 2 + (xx - cx) ** 2 < r * r] = k
    focused_in = "b" if index % 2 == 0 else "a"
    m = (regions > 0) if focused_in == "b" else (regions == 0)  # True where the second source is sharp
    blurred = ndimage.gaussian_filter(truth, (sigma, sigma, 0) if truth.ndim == 3 else sigma, mode="reflect")
    w = m.astype(np.float64)[..., None] if truth.ndim == 3 else m.astype(np.float64)
    a = (1 - w) * truth + w * blurred
    b = w * truth + (1 - w) * blurred

    def u8(x):
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)

    return Pair(f"discs-{index:02d}-{name}", u8(a), u8(b), truth=u8(truth), mask=m,
                meta={"image": name, "sigma": sigma, "focused_in": focused_in, "radii": tuple(d[0] for d in discs),
                      "centres": tuple((d[1], d[2]) for d in discs), "regions": regions, "seed": seed})


def small_region_pairs(n: int, *, size: int = 256, radii=RADII, seed: int = 0) -> list[Pair]:
    """The first ``n`` pairs of :func:`small_region_pair` (indices 0 .. n-1)."""
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    return [small_region_pair(i, size=size, radii=radii, seed=seed) for i in range(n)]
