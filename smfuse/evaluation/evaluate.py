"""Score fused results over a data set: one row per image, a final ``mean`` row.

Every score comes from :func:`smfuse.evaluation.metrics.compute_all` (MATLAB ``rgb2gray`` grey,
0..255 scale; see that module for the convention and its validation), plus ``psnr`` and
``ssim_gt`` where the data set has the all-in-focus truth, and ``mask_accuracy`` and
``boundary_fscore`` where it has the true focus map and the method returns its mask.

- :func:`evaluate_folder` scores result files found in a folder;
- :func:`evaluate_method` runs a method of :mod:`smfuse.evaluation.methods` (by name) or any
  ``fuse(a, b)`` callable over a data set and scores it;
- :func:`score_published` scores the MFIFB release of 10 methods' Lytro results (JPEG,
  so slightly lossy: compression costs about 0.01 QAB/F and 0.04 QMI; say so beside any
  comparison with lossless results).

CSV outputs are written atomically (a temporary file renamed into place).

References
----------
Zhang, X. "Multi-focus image fusion: a benchmark." arXiv:2005.01116 (2020).
doi:10.48550/arXiv.2005.01116

Nejati, M., Samavi, S., Shirani, S. "Multi-focus image fusion using dictionary-based
sparse representation." Information Fusion 25 (2015) 72-84.
doi:10.1016/j.inffus.2014.10.004
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np
import pandas as pd

from smfuse.data.sets import Pair, data_root, load_dataset
from smfuse.io import as_image, atomic_path, check_data_range, check_image, read_image
from smfuse.evaluation.methods import get_method
from smfuse.evaluation.metrics import METRIC_KEYS, boundary_fscore, compute_all, mask_accuracy, psnr, ssim_gt

__all__ = [
    "evaluate_folder",
    "evaluate_method",
    "score_pair",
    "fused_of",
    "score_published",
    "PUBLISHED_METHODS",
    "GT_KEYS",
    "MASK_KEYS",
]

#: Extra columns where the data set has the all-in-focus truth.
GT_KEYS = ("psnr", "ssim_gt")
#: Extra columns where the data set has the true focus map and the method returns a mask.
MASK_KEYS = ("mask_accuracy", "boundary_fscore")
#: The methods of the MFIFB release in ``published_results/lytro_mfifb``.
PUBLISHED_METHODS = ("CNN", "IFCNN", "SESF", "DPRL", "ECNN", "GFF", "GFDF", "DSIFT", "BFMF", "MWGF")

_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp"}


# ----------------------------------------------------------------------------- scoring core

def _score(pair: Pair, fused: np.ndarray, mask: np.ndarray | None = None,
           data_range: float | None = None) -> dict[str, float]:
    try:
        row = compute_all(pair.a, pair.b, fused, data_range=data_range)
        if pair.truth is not None:
            row["psnr"] = psnr(fused, pair.truth, data_range=data_range)
            row["ssim_gt"] = ssim_gt(fused, pair.truth, data_range=data_range)
        if pair.mask is not None and mask is not None:
            row["mask_accuracy"] = mask_accuracy(mask, pair.mask)
            row["boundary_fscore"] = boundary_fscore(mask, pair.mask)
    except ValueError as exc:
        raise ValueError(f"{pair.name}: {exc}") from None
    return row


def score_pair(pair: Pair, fused: np.ndarray, mask: np.ndarray | None = None, *,
               data_range: float | None = None) -> dict[str, float]:
    """Every score of one fused image: the keys of :func:`smfuse.evaluation.metrics.compute_all`,
    plus ``psnr``/``ssim_gt`` where ``pair`` has the all-in-focus truth and
    ``mask_accuracy``/``boundary_fscore`` where it has the true focus map and ``mask`` is given.

    Raises
    ------
    ValueError
        Naming the pair, if the fused image does not match its sources.
    """
    return _score(pair, fused, mask, data_range)


def _table(rows: dict[str, dict[str, float]], attrs: dict) -> pd.DataFrame:
    if not rows:
        raise ValueError("nothing to score: no image pairs")
    cols = list(METRIC_KEYS)
    for extra in (GT_KEYS, MASK_KEYS):
        if any(extra[0] in r for r in rows.values()):
            cols += list(extra)
    df = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=cols)
    df.loc["mean"] = df.mean(axis=0)
    df.index.name = "image"
    df.attrs.update(attrs)
    return df


def _write_csv_atomic(df: pd.DataFrame, out_csv: str | os.PathLike) -> None:
    p = Path(out_csv)
    if not p.parent.is_dir():
        raise ValueError(f"cannot write {p}: folder {p.parent} does not exist")
    with atomic_path(p, suffix=".csv") as tmp:
        df.to_csv(tmp)


def _progress(items: Iterable, total: int, desc: str, enabled: bool):
    from tqdm.auto import tqdm

    return tqdm(items, total=total, desc=desc, unit="img", disable=not enabled, leave=False)


# ----------------------------------------------------------------------------- folders

def _find(folder: Path, pattern: str, pair: Pair, index: int) -> Path | None:
    try:
        rel = pattern.format(name=pair.name, index=index)
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"pattern {pattern!r} is not a valid template: use the fields {{name}} and "
                         f"{{index}} (e.g. 'lytro_{{index:02d}}_CNN.jpg'), got {type(exc).__name__}: {exc}") from None
    pat = os.path.join(glob.escape(str(folder)), rel if glob.has_magic(rel) else glob.escape(rel))
    hits = [Path(h) for h in sorted(glob.glob(pat))]
    hits = [h for h in hits if h.is_file() and h.suffix.lower() in _IMAGE_SUFFIXES]
    if len(hits) > 1:
        raise ValueError(f"pattern {rel!r} matches {len(hits)} images in {folder} "
                         f"({', '.join(h.name for h in hits[:3])} ...); make the pattern specific")
    return hits[0] if hits else None


def _score_folder(pairs: list[Pair], folder: Path, pattern: str, missing: str, desc: str,
                  progress: bool, data_range: float | None = None) -> dict[str, dict[str, float]]:
    found = [(pair, _find(folder, pattern, pair, i)) for i, pair in enumerate(pairs, start=1)]
    absent = [pair.name for pair, path in found if path is None]
    if absent and missing == "error":
        raise ValueError(f"no result in {folder} for {len(absent)} of {len(pairs)} pairs (first: {absent[0]}, "
                         f"pattern {pattern!r}); fix the pattern, or pass missing='skip' to score the rest")
    found = [(pair, path) for pair, path in found if path is not None]
    if not found:
        raise ValueError(f"no result in {folder} matches pattern {pattern!r} for any pair")
    rows = {}
    for pair, path in _progress(found, len(found), desc, progress):
        rows[pair.name] = _score(pair, read_image(path), data_range=data_range)
    return rows


def evaluate_folder(dataset_name: str, folder: str | os.PathLike, *, pattern: str = "{name}.*",
                    out_csv: str | os.PathLike | None = None, progress: bool = True,
                    limit: int | None = None, missing: str = "error",
                    data_range: float | None = None) -> pd.DataFrame:
    """Score the fused results in a folder against a data set's sources.

    Parameters
    ----------
    dataset_name : str
        A name of :func:`smfuse.data.sets.load_dataset` (``'lytro'``, ``'nyud100_gt'`` ...).
    folder : path
        Where the fused images are.
    pattern : str
        File name of pair number ``index`` (1-based, in the set's order) as a
        :meth:`str.format` template with the fields ``{name}`` (the pair's name, e.g.
        ``lytro-01``) and ``{index}``, relative to ``folder``; glob wildcards allowed and
        only image files count. Default ``'{name}.*'`` (``lytro-01.png`` ...); the MFIFB
        release needs ``'lytro_{index:02d}_CNN.jpg'``.
    out_csv : path, optional
        Also write the table there (atomically).
    progress : bool
        Show a tqdm progress bar.
    limit : int, optional
        Score only the first ``limit`` pairs of the set.
    missing : {'error', 'skip'}
        What to do when a pair has no result file: raise (default), or leave it out of the
        table and the mean (then the mean is over fewer images than the set holds).
    data_range : float, optional
        White level of float result images (e.g. 255 for float TIFFs on 0..255);
        default: float results lie in [0, 1].

    Returns
    -------
    pandas.DataFrame
        Index ``image``: the pair names, then ``mean``. Columns: the keys of
        :func:`smfuse.evaluation.metrics.compute_all`, then ``psnr`` and ``ssim_gt`` when the set
        has the all-in-focus truth.

    Raises
    ------
    ValueError
        If the set or folder is missing, a pair has no (or several) result files, or a
        result does not match its sources in kind or size.
    """
    if missing not in ("error", "skip"):
        raise ValueError(f"missing must be 'error' or 'skip', got {missing!r}")
    data_range = check_data_range(data_range)
    folder = Path(folder)
    if not folder.is_dir():
        raise ValueError(f"results folder {folder} does not exist")
    pairs = load_dataset(dataset_name, limit=limit)
    rows = _score_folder(pairs, folder, pattern, missing, f"{dataset_name}: {folder.name}", progress, data_range)
    df = _table(rows, {"dataset": dataset_name, "source": str(folder), "pattern": pattern})
    if out_csv is not None:
        _write_csv_atomic(df, out_csv)
    return df


# ----------------------------------------------------------------------------- methods

def fused_of(result: Any, pair: Pair, data_range: float | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """The fused image (and mask, or ``None``) from what a method or ``fuse_fn`` returned for ``pair``,
    checked by the input contract (colour floats rounded to ``uint8``, as a saved result would be).

    Raises
    ------
    ValueError
        If it is not an image of the sources' shape and scale.
    """
    return _unpack(result, pair, data_range)


def _unpack(result: Any, pair: Pair, data_range: float | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """A fused image (and mask, if given) from what a fuse function returned, checked by the input contract."""
    mask = None
    if not isinstance(result, np.ndarray) and hasattr(result, "fused"):
        mask = getattr(result, "mask", None)
        result = result.fused
    role = f"{pair.name}: the fused image fuse_fn returned"
    fused = check_image(result, role=role, data_range=data_range)
    if fused.shape != np.asarray(pair.a).shape:
        raise ValueError(f"{pair.name}: fuse_fn returned shape {fused.shape} for sources of shape "
                         f"{np.asarray(pair.a).shape}; return the fused image in the sources' shape")
    if fused.dtype.kind == "f" and fused.ndim == 3:  # colour is scored as 8-bit, as a saved result would be
        u = as_image(fused, role=role, data_range=data_range)
        fused = np.clip(np.floor(u * 255.0 + 0.5), 0, 255).astype(np.uint8)  # MATLAB round, as im2uint8
    return fused, mask


def evaluate_method(dataset_name: str, fuse_fn: str | Callable[[np.ndarray, np.ndarray], Any], *,
                    limit: int | None = None, names: Iterable[str] | None = None,
                    out_csv: str | os.PathLike | None = None, progress: bool = True,
                    data_range: float | None = None) -> pd.DataFrame:
    """Run a fusion method over a data set and score it.

    Parameters
    ----------
    dataset_name : str
        A name of :func:`smfuse.data.sets.load_dataset`.
    fuse_fn : str or callable
        The name of a method of :mod:`smfuse.evaluation.methods` (``'gff'``, ``'initial_mask'``,
        ``'smfuse_paper'`` ...), or any ``fuse_fn(a, b)`` with the set's sources (as read:
        ``uint8`` for the bundled sets), returning the fused image in the sources' shape as
        a numpy array (``uint8``, ``uint16``, or floats in [0, 1], or in [0, ``data_range``]),
        or an object with a ``fused`` attribute and optionally a ``mask`` (1 where ``b``
        was taken), such as :class:`smfuse.evaluation.methods.Fused`. Colour floats are rounded to
        ``uint8`` first (as a saved 8-bit result would be).
    limit : int, optional
        Use only the first ``limit`` pairs.
    names : iterable of str, optional
        Use only the pairs of these names (after ``limit``), in the set's order; a name
        the set does not have is an error.
    out_csv : path, optional
        Also write the table there (atomically).
    progress : bool
        Show a tqdm progress bar.
    data_range : float, optional
        White level of float results (e.g. 255 for floats on 0..255); default [0, 1].

    Returns
    -------
    pandas.DataFrame
        As :func:`evaluate_folder`, plus ``mask_accuracy`` and ``boundary_fscore`` when
        the set has true focus maps and ``fuse_fn`` returns a mask.

    Raises
    ------
    ValueError
        If the set or the named method is missing, or ``fuse_fn`` returns something of the
        wrong shape or scale.
    """
    if isinstance(fuse_fn, str):
        method = get_method(fuse_fn)
        why = method.why_unavailable()
        if why is not None:
            raise ValueError(f"method {fuse_fn!r} cannot run here: {why}")
        if not method.covers(dataset_name):
            raise ValueError(f"method {fuse_fn!r} has fused images only for {', '.join(method.datasets)}, not "
                             f"{dataset_name}; evaluate it on {method.datasets[0]}")
        fuse_fn, name = method, method.name
    elif callable(fuse_fn):
        name = getattr(fuse_fn, "name", None) or getattr(fuse_fn, "__module__", None) or \
            getattr(fuse_fn, "__name__", "method")
    else:
        raise ValueError(f"fuse_fn must be a method name or a callable fuse(a, b), got {type(fuse_fn).__name__}")
    data_range = check_data_range(data_range)
    pairs = load_dataset(dataset_name, limit=limit)
    if names is not None:
        wanted = {str(n) for n in names}
        unknown = sorted(wanted - {p.name for p in pairs})
        if unknown:
            raise ValueError(f"names: {dataset_name} has no pair {', '.join(unknown)}"
                             f"{' among its first %d' % limit if limit else ''}")
        pairs = [p for p in pairs if p.name in wanted]
    rows = {}
    for pair in _progress(pairs, len(pairs), f"{dataset_name}: {name}", progress):
        fused, mask = _unpack(fuse_fn(pair.a, pair.b), pair, data_range)
        rows[pair.name] = _score(pair, fused, mask, data_range)
    df = _table(rows, {"dataset": dataset_name, "source": name})
    if out_csv is not None:
        _write_csv_atomic(df, out_csv)
    return df


# ----------------------------------------------------------------------------- published results

def _published_root(root) -> Path:
    if root is not None:
        p = Path(root)
    else:
        p = data_root() / "published_results" / "lytro_mfifb"
        if not p.is_dir():
            raise ValueError(f"published results not found in the data folder ({p}): run `smfuse data fetch "
                             "mfifb`, set SMFUSE_DATA to a folder that holds them, or pass root=")
    if not p.is_dir():
        raise ValueError(f"published results folder {p} does not exist")
    return p


def score_published(root: str | os.PathLike | None = None, *, methods: Iterable[str] | None = None,
                    limit: int | None = None, out_csv: str | os.PathLike | None = None,
                    progress: bool = True) -> pd.DataFrame:
    """Mean scores of the MFIFB release's fused Lytro results, one row per method.

    The files are ``<root>/<METHOD>/lytro_NN_<METHOD>.jpg``, scored against the Lytro
    sources of :func:`smfuse.data.sets.load_dataset` with :func:`smfuse.evaluation.metrics.compute_all`.

    Parameters
    ----------
    root : path, optional
        The ``lytro_mfifb`` folder; defaults to ``published_results/lytro_mfifb`` in
        :func:`smfuse.data.sets.data_root`.
    methods : iterable of str, optional
        Subset of :data:`PUBLISHED_METHODS` (default: all 10).
    limit : int, optional
        Use only the first ``limit`` Lytro pairs (the published tables use all 20).
    out_csv : path, optional
        Also write the table there (atomically).
    progress : bool
        Show a tqdm progress bar per method.

    Returns
    -------
    pandas.DataFrame
        Index ``method``; columns the keys of :func:`smfuse.evaluation.metrics.compute_all` and
        ``n_images``. Means over the pairs scored.

    Notes
    -----
    These outputs are JPEG-compressed: scored with the same code, CNN's JPEG outputs lose
    about 0.01 QAB/F and 0.04 QMI against the survey's lossless outputs of the same
    method (0.7516 vs 0.7615, 1.1097 vs 1.1512). Our own results are lossless; say so
    beside any comparison.
    """
    base = _published_root(root)
    methods = tuple(PUBLISHED_METHODS if methods is None else methods)
    for m in methods:
        if not (base / m).is_dir():
            raise ValueError(f"no folder for method {m!r} in {base}; available: "
                             f"{', '.join(sorted(p.name for p in base.iterdir() if p.is_dir()))}")
    pairs = load_dataset("lytro", limit=limit)
    means = {}
    for m in methods:
        rows = _score_folder(pairs, base / m, f"lytro_{{index:02d}}_{m}.jpg", "error", f"lytro: {m}", progress)
        table = _table(rows, {})
        means[m] = {**table.loc["mean"].to_dict(), "n_images": len(rows)}
    df = pd.DataFrame.from_dict(means, orient="index")
    df.index.name = "method"
    df.attrs.update({"dataset": "lytro", "source": str(base), "note": "JPEG outputs of the MFIFB release"})
    if out_csv is not None:
        _write_csv_atomic(df, out_csv)
    return df


if __name__ == "__main__":  # python -m smfuse.evaluation.evaluate [OUT_CSV]: the full published table
    import sys

    table = score_published(out_csv=sys.argv[1] if len(sys.argv) > 1 else None)
    print(table.to_string(float_format=lambda v: f"{v:.4f}"))
