"""Data sets as named source pairs: the real sets, folders of your own pairs, and an embedded synthetic default.

Real sets live in the data folder: ``SMFUSE_DATA`` if set, else ``data/`` in the repository
root, filled by ``smfuse data fetch NAME | all`` from the pinned sources of
``data/registry.tsv`` (:mod:`smfuse.data.fetch`). They are never committed. Names:

``lytro``
    20 colour pairs, 520x520 (Nejati et al. 2015); A = near focus, B = far focus.
``grayscale``
    10 classic grey pairs (Liu et al. 2020 survey).
``nyud100_gt``
    100 synthetic-defocus colour pairs with the all-in-focus truth.
``train``
    The authors' 20 grey training pairs (``Train_ir``/``Train_vi``, the luminance of
    Lytro A/B) with their saved initial masks (fetched as the ``authors`` set).
``synthetic``
    Needs no files: multi-focus pairs made from images bundled with scikit-image,
    defocused by a known focus map (hard and soft boundaries, several shapes and blur
    strengths), with the all-in-focus truth and the true mask.

Anywhere a name is taken, a **folder of your own pairs** is taken too
(:func:`load_folder`): ``X_A``/``X_B``, ``X-A``/``X-B``, ``X_1``/``X_2`` or ``X-1``/``X-2``
side by side (the MFFW release's ``mffw_01_A.jpg`` as is), or the same file names in two
subfolders ``A/`` and ``B/`` (or ``1/`` and ``2/``, ``source_1/`` and ``source_2/``).

In every pair, ``mask`` is 1 where the *second* source ``b`` is the sharper, the
convention of the authors' initial masks and of :func:`smfuse.method.guided_block.initial_mask`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from smfuse.data.fetch import data_folder
from smfuse.io import check_pair, read_image

__all__ = ["Pair", "data_root", "load_dataset", "load_folder", "has_dataset", "missing_files", "synthetic_pair",
           "base_images", "DATASETS", "IMAGE_SUFFIXES"]

DATASETS = ("synthetic", "lytro", "grayscale", "nyud100_gt", "train")
#: File types read in a folder of pairs.
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")


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


def data_root() -> Path:
    """The data folder: ``$SMFUSE_DATA`` if set, else ``data/`` in the repository root.

    It may not exist yet, or hold only some sets: see :func:`has_dataset` and
    ``smfuse data list``.
    """
    return data_folder()


_FOLDERS = {"lytro": "lytro", "grayscale": "grayscale", "nyud100_gt": "nyud100_gt",
            "train": "smfuse_official"}
# The registry files each named set needs (by path prefix), and the set that fetches them.
_NEEDS = {"lytro": ("lytro/lytro-",), "grayscale": ("grayscale/g_",),
          "nyud100_gt": ("nyud100_gt/source_1/", "nyud100_gt/source_2/", "nyud100_gt/full_clear/"),
          "train": ("smfuse_official/train_pairs/", "smfuse_official/initial_masks/")}
_FETCH_SET = {"lytro": "lytro", "grayscale": "grayscale", "nyud100_gt": "nyud100_gt", "train": "authors"}


def _is_folder_spec(name) -> bool:
    return isinstance(name, os.PathLike) or (isinstance(name, str) and name not in DATASETS
                                              and (os.sep in name or "/" in name or Path(name).is_dir()))


def missing_files(name: str, root: str | os.PathLike | None = None) -> list[str]:
    """The files named set ``name`` needs that are not in the data folder (``[]`` when complete)."""
    from smfuse.data.fetch import set_files

    if name not in _NEEDS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}")
    base = Path(root) if root is not None else data_root()
    need = [e for e in set_files(_FETCH_SET[name]) if e.file.startswith(_NEEDS[name])]
    return [e.file for e in need if not (base / e.file).is_file()]


def has_dataset(name: str | os.PathLike) -> bool:
    """Whether data set ``name`` can be loaded here (``synthetic`` always can; a folder if it exists)."""
    if name == "synthetic":
        return True
    if _is_folder_spec(name):
        return Path(name).expanduser().is_dir()
    if name not in _FOLDERS:
        raise ValueError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)}, or give a folder of pairs")
    return not missing_files(name)


def load_dataset(name: str | os.PathLike, *, limit: int | None = None,
                 root: str | os.PathLike | None = None) -> list[Pair]:
    """Load a data set as a list of :class:`Pair`.

    Parameters
    ----------
    name : {'synthetic', 'lytro', 'grayscale', 'nyud100_gt', 'train'} or path
        A named set, or a folder of your own pairs (:func:`load_folder`).
    limit : int, optional
        Load only the first ``limit`` pairs (in the set's natural order).
    root : path, optional
        Data folder of the named sets; defaults to :func:`data_root`.

    Raises
    ------
    ValueError
        If the name is unknown, the set's files are not in the data folder (the message
        says which command fetches them), or a folder's pairs cannot be matched.
    """
    if limit is not None and (not isinstance(limit, (int, np.integer)) or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}")
    if name == "synthetic":
        n = 8 if limit is None else limit
        return [synthetic_pair(i) for i in range(n)]
    if _is_folder_spec(name):
        return load_folder(name, limit=limit)
    if name not in _FOLDERS:
        raise ValueError(f"unknown data set {name!r}: choose one of {', '.join(DATASETS)}, or give the path of a "
                         "folder of your own pairs (no such folder here)")
    base = Path(root) if root is not None else data_root()
    missing = missing_files(name, base)
    if missing:
        raise ValueError(
            f"data set {name!r}: {len(missing)} files missing in the data folder {base} (first: {missing[0]}); "
            f"run `smfuse data fetch {_FETCH_SET[name]}` or set SMFUSE_DATA to a folder that holds it; "
            "the 'synthetic' set needs no files")
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


# ----------------------------------------------------------------------------- folders of your own pairs

#: Role of a file from the end of its stem: source A, source B, the all-in-focus truth, the true mask.
_ROLE_TOKENS = {"a": "a", "1": "a", "b": "b", "2": "b", "truth": "truth", "gt": "truth", "mask": "mask"}
#: Subfolder names of the two sources (case-insensitive) and of the optional truth and mask.
_SUBFOLDERS = {"a": ("a", "1", "source_1", "source_a"), "b": ("b", "2", "source_2", "source_b"),
               "truth": ("truth", "gt", "full_clear"), "mask": ("mask", "masks")}
_FLAT = re.compile(r"^(?P<stem>.+?)[_-](?P<role>a|b|1|2|truth|gt|mask)$", re.IGNORECASE)


def _natural(s: str):
    return [int(t) if t.isdigit() else t.lower() for t in re.split(r"(\d+)", s)]


def _images(folder: Path) -> list[Path]:
    return sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")
                   and p.suffix.lower() in IMAGE_SUFFIXES), key=lambda p: _natural(p.name))


def _listing(paths, limit: int = 12) -> str:
    names = [str(p) for p in paths]
    return ", ".join(names[:limit]) + (f" and {len(names) - limit} more" if len(names) > limit else "")


def _read_mask(path: Path) -> np.ndarray:
    m = read_image(path)
    if m.ndim != 2:
        raise ValueError(f"mask {path.name}: expected a grey image (white = second source sharp), got shape {m.shape}")
    if m.dtype == bool:
        return m
    if m.dtype.kind in "ui":
        return m.astype(np.int64) >= (int(np.iinfo(m.dtype).max) + 1) // 2
    return m > 0.5


def _collect_flat(folder: Path) -> tuple[dict[str, dict[str, list[Path]]], list[Path]]:
    """The side-by-side files grouped by pair and role, and the images whose names fit no role."""
    groups: dict[str, dict[str, list[Path]]] = {}
    stray = []
    for p in _images(folder):
        m = _FLAT.match(p.stem)
        if m is None:
            stray.append(p)
            continue
        groups.setdefault(m.group("stem"), {}).setdefault(_ROLE_TOKENS[m.group("role").lower()], []).append(p)
    return groups, stray


def _collect_subfolders(folder: Path, subs: dict[str, Path]) -> dict[str, dict[str, list[Path]]]:
    groups: dict[str, dict[str, list[Path]]] = {}
    for role, sub in subs.items():
        for p in _images(sub):
            groups.setdefault(p.stem, {}).setdefault(role, []).append(p)
    return groups


def _refuse_bad_files(root: Path, groups: dict, stray: list[Path], layout: str) -> None:
    """Every file that cannot be paired, of every kind, in one message (so one run shows them all)."""
    def name(p: Path) -> str:
        return p.name if layout == "side by side" else f"{p.parent.name}/{p.name}"

    ambiguous = [p for g in groups.values() for files in g.values() if len(files) > 1 for p in files]
    unpaired = [p for g in groups.values() if "a" not in g or "b" not in g for files in g.values() for p in files]
    problems = []
    if stray:
        problems.append(f"{len(stray)} not part of a pair ({_listing(name(p) for p in stray)}: name the sources "
                        "X_A/X_B, X-A/X-B or X_1/X_2, the optional truth X_truth and mask X_mask, or move them out)")
    if unpaired:
        problems.append(f"{len(unpaired)} without their partner source ({_listing(name(p) for p in unpaired)}: every "
                        "pair needs both sources, X_A and X_B, or the same name in A/ and B/)")
    if ambiguous:
        problems.append(f"{len(ambiguous)} that are several files for one image of a pair "
                        f"({_listing(name(p) for p in ambiguous)}: keep one of each)")
    if problems:
        raise ValueError(f"{root}: cannot pair every image: " + "; ".join(problems))


def load_folder(folder: str | os.PathLike, *, limit: int | None = None) -> list[Pair]:
    """Load a folder of your own multi-focus pairs.

    Two layouts are recognised (any of the formats of :data:`IMAGE_SUFFIXES`, 8 or 16 bit,
    grey or colour):

    - side by side: ``X_A.png`` and ``X_B.png`` (or ``X-A``/``X-B``, ``X_1``/``X_2``,
      ``X-1``/``X-2``; letters in either case), so the MFFW release (``mffw_01_A.jpg``,
      ``mffw_01_B.jpg``), Lytro (``lytro-01-A.jpg``) and the grey set (``g_01_1.tif``)
      load as they are; optional ``X_truth`` (or ``X_gt``: the all-in-focus image) and
      ``X_mask`` (the true focus map);
    - in subfolders: the same file names in ``A/`` and ``B/`` (or ``1/`` and ``2/``,
      ``source_1/`` and ``source_2/``), with optional ``truth/`` (or ``gt/``,
      ``full_clear/``) and ``mask/``.

    A mask is a grey image, white (at least half the range) where the *second* source is
    the sharper. Pairs are named ``X`` and sorted naturally (``2`` before ``10``).

    Parameters
    ----------
    folder : path
    limit : int, optional
        Load only the first ``limit`` pairs.

    Returns
    -------
    list of Pair
        ``meta['files']`` holds the source file names.

    Raises
    ------
    ValueError
        If the folder does not exist or holds no pairs; if images have no partner, an
        unrecognised name, or several candidates for one role (all of them, of every
        kind, in one message: up to 12 names of each kind, then a count); or if the two
        sources of a pair differ in size or kind.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ValueError(f"data folder {root} does not exist (give a data set name: {', '.join(DATASETS)}, "
                         "or the folder of your pairs)")
    by_name = {p.name.lower(): p for p in root.iterdir() if p.is_dir()}
    subs = {}
    for role, names in _SUBFOLDERS.items():
        hits = [by_name[n] for n in names if n in by_name]
        if len(hits) > 1:
            raise ValueError(f"{root}: ambiguous subfolders for the {role} images: {_listing(h.name for h in hits)}; "
                             "keep one")
        if hits:
            subs[role] = hits[0]
    if "a" in subs or "b" in subs:
        if not ("a" in subs and "b" in subs):
            have = subs.get("a", subs.get("b"))
            raise ValueError(f"{root}: subfolder {have.name}/ has no partner; put the two sources in A/ and B/")
        groups = _collect_subfolders(root, subs)
        stray: list[Path] = []
        layout = "subfolders " + "/".join(subs[r].name for r in ("a", "b"))
    else:
        groups, stray = _collect_flat(root)
        layout = "side by side"
    _refuse_bad_files(root, groups, stray, layout)
    if not groups:
        raise ValueError(f"{root}: no image pairs found; name them X_A/X_B (or X-A/X-B, X_1/X_2), or put the "
                         "sources in subfolders A/ and B/")
    out = []
    for stem in _take(sorted(groups, key=_natural), limit):
        g = {role: files[0] for role, files in groups[stem].items()}
        a, b = read_image(g["a"]), read_image(g["b"])
        check_pair(a, b, names=(g["a"].name, g["b"].name))
        truth = read_image(g["truth"]) if "truth" in g else None
        if truth is not None and truth.shape != a.shape:
            raise ValueError(f"{g['truth'].name}: truth of shape {truth.shape} for sources of shape {a.shape}")
        mask = _read_mask(g["mask"]) if "mask" in g else None
        if mask is not None and mask.shape != a.shape[:2]:
            raise ValueError(f"{g['mask'].name}: mask of shape {mask.shape} for sources of shape {a.shape}")
        out.append(Pair(stem, a, b, truth=truth, mask=mask,
                        meta={"files": {role: p.name for role, p in g.items()}, "folder": str(root),
                              "layout": layout}))
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


def base_images(pairs: list[Pair]) -> list[str]:
    """The base image of each pair: pairs made from one image share a label (one unit for the verdict rule).

    Synthetic pairs name their bundled image (``meta['image']``); a real pair is its own scene.
    """
    return [str(p.meta.get("image", p.name)) if p.meta else p.name for p in pairs]
