"""Data sets as named source pairs: the real sets, and an embedded synthetic default.

Real sets are found through the ``SMFUSE_DATA`` environment variable, else a
``shared/data`` folder beside the project checkout (``../shared/data``). They are never
copied into the project. Names:

``lytro``
    20 colour pairs, 520x520 (Nejati et al. 2015); A = near focus, B = far focus.
``grayscale``
    10 classic grey pairs (Liu et al. 2020 survey).
``nyud100_gt``
    100 synthetic-defocus colour pairs with the all-in-focus truth.
``train``
    The authors' 20 grey training pairs (``Train_ir``/``Train_vi``, the luminance of
    Lytro A/B) with their saved initial masks.
``synthetic``
    Needs no files: multi-focus pairs made from images bundled with scikit-image,
    defocused by a known focus map (hard and soft boundaries, several shapes and blur
    strengths), with the all-in-focus truth and the true mask.

In every pair, ``mask`` is 1 where the *second* source ``b`` is the sharper, the
convention of the authors' initial masks and of :func:`smfuse.guided_block.initial_mask`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from .io import read_image

__all__ = ["Pair", "data_root", "load_dataset", "has_dataset", "synthetic_pair", "DATASETS"]

DATASETS = ("synthetic", "lytro", "grayscale", "nyud100_gt", "train")


@dataclass
class Pair:
    """One multi-focus source pair.

    Attributes
    ----------
    name : str
        Stable identifier (``lytro-01``, ``train-13``, ``synthetic-03-camera`` ...).
    a, b : (H, W) or (H, W, 3) ndarray
        The two sources in their file dtype (``uint8`` for every bundled set).
    truth : ndarray or None
        The all-in-focus image, where known.
    mask : (H, W) bool ndarray or None
        The true focus map (1 where ``b`` is sharper), where known.
    initial_mask : (H, W) bool ndarray or None
        The authors' saved initial mask MI, for the ``train`` set.
    meta : dict
        Anything else (blur strength, shape, source files).
    """

    name: str
    a: np.ndarray
    b: np.ndarray
    truth: np.ndarray | None = None
    mask: np.ndarray | None = None
    initial_mask: np.ndarray | None = None
    meta: dict = field(default_factory=dict)


def data_root() -> Path | None:
    """The folder holding the real data sets, or ``None`` when there is none.

    ``SMFUSE_DATA`` if set (it must then exist), else ``shared/data`` beside the project
    checkout, else ``../shared/data`` from the working directory.
    """
    env = os.environ.get("SMFUSE_DATA")
    if env:
        p = Path(env).expanduser()
        if not p.is_dir():
            raise ValueError(f"SMFUSE_DATA points to {p}, which is not a folder")
        return p
    here = Path(__file__).resolve().parents[1]  # the checkout (smfuse/..)
    for cand in (here.parent / "shared" / "data", Path.cwd().parent / "shared" / "data"):
        if cand.is_dir():
            return cand
    return None


_FOLDERS = {"lytro": "lytro", "grayscale": "grayscale", "nyud100_gt": "nyud100_gt",
            "train": "smfuse_official"}


def has_dataset(name: str) -> bool:
    """Whether data set ``name`` can be loaded here (``synthetic`` always can)."""
    if name == "synthetic":
        return True
    if name not in _FOLDERS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    root = data_root()
    return root is not None and (root / _FOLDERS[name]).is_dir()


def load_dataset(name: str, *, limit: int | None = None, root: str | os.PathLike | None = None) -> list[Pair]:
    """Load a data set as a list of :class:`Pair`.

    Parameters
    ----------
    name : {'synthetic', 'lytro', 'grayscale', 'nyud100_gt', 'train'}
    limit : int, optional
        Load only the first ``limit`` pairs (in the set's natural order).
    root : path, optional
        Data folder; defaults to :func:`data_root`.

    Raises
    ------
    ValueError
        If the name is unknown or the real data cannot be found.
    """
    if name == "synthetic":
        n = 8 if limit is None else limit
        return [synthetic_pair(i) for i in range(n)]
    if name not in _FOLDERS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    base = Path(root) if root is not None else data_root()
    if base is None or not (base / _FOLDERS[name]).is_dir():
        raise ValueError(
            f"data set {name!r} not found: set SMFUSE_DATA to the data folder "
            "(or place it at ../shared/data); the 'synthetic' set needs no files"
        )
    folder = base / _FOLDERS[name]
    loader = {"lytro": _lytro, "grayscale": _grayscale, "nyud100_gt": _nyud, "train": _train}[name]
    return loader(folder, limit)


def _take(items, limit):
    return items if limit is None else items[:limit]


def _lytro(folder: Path, limit):
    out = []
    for n in _take(range(1, 21), limit):
        out.append(Pair(f"lytro-{n:02d}", read_image(folder / f"lytro-{n:02d}-A.jpg"),
                        read_image(folder / f"lytro-{n:02d}-B.jpg")))
    return out


def _grayscale(folder: Path, limit):
    out = []
    for n in _take(range(1, 11), limit):
        out.append(Pair(f"g-{n:02d}", read_image(folder / f"g_{n:02d}_1.tif"),
                        read_image(folder / f"g_{n:02d}_2.tif")))
    return out


def _nyud(folder: Path, limit):
    def key(p: Path):
        m = re.search(r"\((\d+)\)", p.name)
        return int(m.group(1)) if m else 0

    files = sorted((folder / "full_clear").glob("*.jpg"), key=key)
    out = []
    for f in _take(files, limit):
        out.append(Pair(f"nyud-{key(f):03d}", read_image(folder / "source_1" / f.name),
                        read_image(folder / "source_2" / f.name), truth=read_image(f)))
    return out


def _train(folder: Path, limit):
    lytro = {}
    tsv = folder / "TRAIN_TO_LYTRO.tsv"
    if tsv.is_file():
        for line in tsv.read_text().splitlines()[1:]:
            if line and not line.startswith("#"):
                parts = line.split("\t")
                lytro[int(parts[0])] = parts[3]
    out = []
    for n in _take(range(1, 21), limit):
        out.append(Pair(
            f"train-{n:02d}",
            read_image(folder / "train_pairs" / "first" / f"{n}.jpg"),
            read_image(folder / "train_pairs" / "second" / f"{n}.jpg"),
            initial_mask=read_image(folder / "initial_masks" / f"{n}.jpg") >= 128,
            meta={"index": n, "lytro": lytro.get(n)},
        ))
    return out


# ----------------------------------------------------------------------------- synthetic

_SYNTH_IMAGES = ("camera", "astronaut", "coffee", "moon", "chelsea", "brick", "rocket", "coins",
                 "immunohistochemistry", "grass", "clock", "gravel")
_SHAPES = ("half", "disc", "blobs", "stripe")
_SIGMA_RANGE = (1.5, 4.0)  # defocus: Gaussian sigma in px, drawn uniformly
_SOFT_RANGE = (1.5, 4.5)  # a soft boundary: the focus map blurred with this sigma (px), drawn uniformly


def _focus_field(shape: str, h: int, w: int, rng: np.random.Generator) -> np.ndarray:
    """A binary focus map (1 = second source sharp) of the given kind."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    if shape == "half":
        angle = rng.uniform(0, np.pi)
        cy, cx = h * rng.uniform(0.35, 0.65), w * rng.uniform(0.35, 0.65)
        return (np.cos(angle) * (xx - cx) + np.sin(angle) * (yy - cy)) > 0
    if shape == "disc":
        cy, cx = h * rng.uniform(0.3, 0.7), w * rng.uniform(0.3, 0.7)
        rad = min(h, w) * rng.uniform(0.2, 0.35)
        return (yy - cy) ** 2 + (xx - cx) ** 2 < rad ** 2
    if shape == "blobs":
        noise = ndimage.gaussian_filter(rng.standard_normal((h, w)), sigma=min(h, w) / 10)
        return noise > np.median(noise)
    if shape == "stripe":
        cx, half = w * rng.uniform(0.35, 0.65), w * rng.uniform(0.12, 0.22)
        return np.abs(xx - cx) < half
    raise ValueError(f"unknown focus shape {shape!r}")


def synthetic_pair(index: int, *, size: int = 256, seed: int = 0) -> Pair:
    """A synthetic multi-focus pair with known truth, from an image bundled with scikit-image.

    Four choices are drawn independently from ``(seed, index)``, in this order: the image
    (one of 12 bundled with scikit-image, cropped to ``size x size`` as the all-in-focus
    truth ``G``), the focus shape (a half plane at a random angle, a disc, random blobs
    or a stripe: the map ``M`` of where the second source is sharp), the defocus (a
    Gaussian of sigma uniform in [1.5, 4] px) and the edge softness (hard, or soft with
    probability 1/2: ``M`` blurred with sigma uniform in [1.5, 4.5] px); then the shape's
    own parameters. Every design is thus its own, with no period in ``index``:

    ``a = (1 - w) G + w blur(G)``, ``b = w G + (1 - w) blur(G)``, ``w`` the (soft) map.

    Parameters
    ----------
    index : int
        Which pair (>= 0); the same index and seed always give the same pair.
    size : int
        Side of the square crop, >= 16.
    seed : int
        Seed of the random shapes.

    Returns
    -------
    Pair
        uint8 sources and truth, and ``mask = w > 0.5``; ``meta`` holds the draws
        (``image``, ``shape``, ``sigma``, ``soft``, ``edge_sigma``, 0 for a hard edge)
        and the ``seed``.
    """
    import skimage.data

    if index < 0:
        raise ValueError(f"index must be >= 0, got {index}")
    if size < 16:
        raise ValueError(f"size must be >= 16, got {size}")
    rng = np.random.default_rng([seed, index])
    img_name = _SYNTH_IMAGES[int(rng.integers(len(_SYNTH_IMAGES)))]
    shape = _SHAPES[int(rng.integers(len(_SHAPES)))]
    sigma = float(rng.uniform(*_SIGMA_RANGE))
    soft = bool(rng.random() < 0.5)
    edge_sigma = float(rng.uniform(*_SOFT_RANGE)) if soft else 0.0
    img = getattr(skimage.data, img_name)()
    h0, w0 = img.shape[:2]
    if min(h0, w0) < size:
        from skimage.transform import resize

        scale = size / min(h0, w0)
        img = resize(img, (int(np.ceil(h0 * scale)), int(np.ceil(w0 * scale))) + img.shape[2:],
                     preserve_range=True, anti_aliasing=True)
        h0, w0 = img.shape[:2]
    y0, x0 = (h0 - size) // 2, (w0 - size) // 2
    truth = np.asarray(img[y0:y0 + size, x0:x0 + size], dtype=np.float64)
    m = _focus_field(shape, size, size, rng).astype(np.float64)
    w = ndimage.gaussian_filter(m, edge_sigma) if soft else m
    sig = (sigma, sigma, 0) if truth.ndim == 3 else sigma
    blurred = ndimage.gaussian_filter(truth, sig, mode="reflect")
    if truth.ndim == 3:
        w = w[..., None]
    a = (1 - w) * truth + w * blurred
    b = w * truth + (1 - w) * blurred

    def u8(x):
        return np.clip(np.rint(x), 0, 255).astype(np.uint8)

    wm = w[..., 0] if truth.ndim == 3 else w
    return Pair(f"synthetic-{index:02d}-{img_name}", u8(a), u8(b), truth=u8(truth), mask=wm > 0.5,
                meta={"image": img_name, "shape": shape, "sigma": sigma, "soft": soft, "edge_sigma": edge_sigma,
                      "seed": seed})
