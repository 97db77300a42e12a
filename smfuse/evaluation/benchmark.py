"""The comparison in one lossless benchmark: methods x data sets -> per-pair scores, and means with intervals.

Every fused image is scored by one implementation, :func:`smfuse.evaluation.evaluate.score_pair`
(:func:`smfuse.evaluation.metrics.compute_all`, plus PSNR and SSIM against the all-in-focus truth
and the mask scores where a set has them), as the method returned it: nothing is written to a
lossy file on the way. Released outputs join through the same code: the survey's lossless outputs
of 18 methods on Lytro pairs 01, 02 and 05 (:func:`survey_outputs`), and MFIFB's JPEG outputs
(:func:`published_jpeg`), which are compared with our outputs encoded the same way
(``run_benchmark(..., jpeg=...)``), so that JPEG loss is not read as a difference between methods.

- :func:`run_benchmark` runs methods of :mod:`smfuse.evaluation.methods` (names, or
  :class:`~smfuse.evaluation.methods.Method` objects) over data sets and returns a
  :class:`Benchmark`: one row per (data set, method, pair), and notes on what was not measured;
- :func:`summarise` gives each (data set, method, metric) its mean and 95 % t interval over
  pairs (:func:`t_interval`); :func:`mean_table` lays it out for reading;
- :func:`strongest` picks the method with the best mean on a set and metric among candidates
  (the strongest peer); :func:`paired_effects` gives per-pair differences for the verdict rule;
- :func:`jpeg_settings` reads the JPEG quality a file was written with from its quantisation
  tables (the IJG scaling of the standard tables, inverted); :func:`jpeg_roundtrip` encodes an
  image the same way.

The pairs of Lytro, the grey set and nyud100_gt are distinct scenes and are treated as
independent; the t interval is over pairs.

References
----------
Independent JPEG Group, libjpeg ``jcparam.c``: ``jpeg_quality_scaling`` and the standard
tables of ITU-T T.81 Annex K (K.1, K.2).
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from smfuse.data.sets import DATASETS, data_root, has_dataset, load_dataset
from smfuse.evaluation.evaluate import evaluate_folder, fused_of, score_pair
from smfuse.evaluation.methods import Method, get_method
from smfuse.evaluation.metrics import METRIC_KEYS
from smfuse.io import atomic_path

__all__ = ["Benchmark", "run_benchmark", "long_table", "survey_outputs", "published_jpeg", "t_interval", "finite",
           "summarise", "mean_table", "strongest", "paired_effects", "JpegSettings", "ijg_tables", "jpeg_settings",
           "jpeg_roundtrip", "ID_COLUMNS", "LEVEL"]

#: The columns that name a row of the per-pair table; the scores follow.
ID_COLUMNS = ("dataset", "method", "pair")
#: Level of the intervals.
LEVEL = 0.95
#: Extra score columns, in table order after :data:`smfuse.evaluation.metrics.METRIC_KEYS`.
_EXTRA = ("psnr", "ssim_gt", "mask_accuracy", "boundary_fscore")


# ----------------------------------------------------------------------------- the table

@dataclass
class Benchmark:
    """What :func:`run_benchmark` measured.

    Attributes
    ----------
    per_pair : pandas.DataFrame
        One row per (``dataset``, ``method``, ``pair``), then one column per score.
    notes : pandas.DataFrame
        ``dataset``, ``method``, ``reason``: each combination that was not measured, and why.
    """

    per_pair: pd.DataFrame
    notes: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=["dataset", "method", "reason"]))

    def __add__(self, other: Benchmark) -> Benchmark:
        return Benchmark(_concat([self.per_pair, other.per_pair]),
                         pd.concat([self.notes, other.notes], ignore_index=True))

    def join(self, rows: pd.DataFrame) -> Benchmark:
        """This benchmark with more per-pair rows (from :func:`long_table`, :func:`survey_outputs` ...)."""
        return Benchmark(_concat([self.per_pair, rows]), self.notes)

    def summary(self, keys: Iterable[str] | None = None, level: float = LEVEL) -> pd.DataFrame:
        """:func:`summarise` of :attr:`per_pair`."""
        return summarise(self.per_pair, keys=keys, level=level)

    def write(self, folder: str | os.PathLike, *, prefix: str = "benchmark") -> list[str]:
        """Write ``<prefix>_per_pair.csv``, ``<prefix>_summary.csv`` and ``<prefix>_not_measured.csv`` (atomically).

        Returns
        -------
        list of str
            The file names written.
        """
        folder = Path(folder)
        if not folder.is_dir():
            raise ValueError(f"cannot write the benchmark into {folder}: no such folder")
        out = []
        for stem, df in (("per_pair", self.per_pair), ("summary", self.summary()), ("not_measured", self.notes)):
            name = f"{prefix}_{stem}.csv"
            with atomic_path(folder / name, suffix=".csv") as tmp:
                df.to_csv(tmp, index=False)
            out.append(name)
        return out


def _score_columns(df: pd.DataFrame) -> list[str]:
    known = [k for k in (*METRIC_KEYS, *_EXTRA) if k in df.columns]
    return known + [c for c in df.columns if c not in known and c not in ID_COLUMNS]


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=list(ID_COLUMNS))
    df = pd.concat(frames, ignore_index=True)
    dup = df.duplicated(subset=list(ID_COLUMNS))
    if dup.any():
        first = df.loc[dup, list(ID_COLUMNS)].iloc[0].tolist()
        raise ValueError(f"the benchmark holds {int(dup.sum())} rows twice (first: {first}); "
                         "give each method one name per data set")
    return df[list(ID_COLUMNS) + _score_columns(df)]


def long_table(table: pd.DataFrame | str | os.PathLike, *, method: str, dataset: str) -> pd.DataFrame:
    """Per-pair rows of the benchmark from a table of :mod:`smfuse.evaluation.evaluate`.

    Parameters
    ----------
    table : DataFrame or path
        What :func:`~smfuse.evaluation.evaluate.evaluate_method` or
        :func:`~smfuse.evaluation.evaluate.evaluate_folder` returned, or the CSV that
        ``smfuse evaluate ... -o CSV`` wrote: one row per image, then ``mean`` (dropped).
    method, dataset : str
        The row's names in the benchmark.

    Examples
    --------
    >>> t = pd.DataFrame({"qabf": [0.5, 0.7, 0.6]}, index=pd.Index(["p1", "p2", "mean"], name="image"))
    >>> long_table(t, method="mine", dataset="lytro").values.tolist()
    [['lytro', 'mine', 'p1', 0.5], ['lytro', 'mine', 'p2', 0.7]]
    """
    if not isinstance(table, pd.DataFrame):
        table = pd.read_csv(table, index_col=0)
    t = table.drop(index="mean", errors="ignore")
    df = t.reset_index(names="pair")
    df.insert(0, "method", str(method))
    df.insert(0, "dataset", str(dataset))
    return df[list(ID_COLUMNS) + _score_columns(df)]


# ----------------------------------------------------------------------------- running methods

def _label(dataset: str) -> str:
    return dataset if dataset in DATASETS else Path(dataset).name


def _limit_of(limits, dataset: str) -> int | None:
    if limits is None or isinstance(limits, int):
        return limits
    return limits.get(dataset, limits.get(_label(dataset)))


def run_benchmark(methods: Iterable[str | Method], datasets: Iterable[str | os.PathLike], *,
                  limits: int | Mapping[str, int | None] | None = None,
                  jpeg: Mapping[str, JpegSettings | Iterable[JpegSettings]] | None = None,
                  jpeg_methods: Iterable[str] | None = None, progress: bool = False,
                  log: Callable[[str], None] | None = None) -> Benchmark:
    """Run every method over every data set it can fuse and score each fused image.

    Parameters
    ----------
    methods : iterable of str or Method
        Registry names (:func:`smfuse.evaluation.methods.method_names`) or methods in hand
        (e.g. :func:`~smfuse.evaluation.methods.smfuse_method` of one training seed); a
        method's ``name`` is its row label.
    datasets : iterable of str or path
        Names of :func:`smfuse.data.sets.load_dataset` or folders of your own pairs
        (labelled by the folder's name).
    limits : int or mapping, optional
        Only the first N pairs: one N for every set, or per set (by name or label; a set
        not in the mapping: all pairs).
    jpeg : mapping, optional
        Set -> :class:`JpegSettings` (or several): on that set, each fused image is also
        scored after a JPEG round trip with each of those settings (:func:`jpeg_roundtrip`),
        as rows named ``"<method> (JPEG q<quality>)"``.
    jpeg_methods : iterable of str, optional
        Only these methods (by name) get the JPEG rows (default: every method).
    progress : bool
        A tqdm bar per (set, method).
    log : callable, optional
        Receives one line per (set, method) that was not measured.

    Returns
    -------
    Benchmark
        Sets not in the data folder, methods that cannot run here (their weights or files
        are missing) and methods that cannot fuse a set (released outputs of another set)
        are left out and listed in :attr:`Benchmark.notes`; nothing else is skipped.

    Raises
    ------
    ValueError
        On an unknown method name, or a method that fails on a pair (the message names it).
    """
    from tqdm.auto import tqdm

    methods = [get_method(m) if isinstance(m, str) else m for m in methods]
    jpeg_methods = None if jpeg_methods is None else set(jpeg_methods)
    for m in methods:
        if not isinstance(m, Method):
            raise ValueError(f"methods: expected registry names or Method objects, got {type(m).__name__}")
    rows, notes = [], []

    def note(d, m, reason):
        notes.append({"dataset": d, "method": m, "reason": reason})
        if log is not None:
            log(f"not measured: {m} on {d}: {reason}")

    for d in map(str, datasets):
        label = _label(d)
        if d in DATASETS and not has_dataset(d):
            note(label, "*", f"{d} is not in the data folder: smfuse data fetch {'authors' if d == 'train' else d}")
            continue
        pairs = load_dataset(d, limit=_limit_of(limits, d))
        settings = (jpeg or {}).get(d) or (jpeg or {}).get(label) or ()
        settings = [settings] if isinstance(settings, JpegSettings) else list(settings)
        if len({s.quality for s in settings}) != len(settings):
            raise ValueError(f"jpeg: give {label} one setting per quality, got {', '.join(map(str, settings))}")
        for m in methods:
            if not m.covers(d):
                note(label, m.name, f"{m.name} has fused images only for {', '.join(map(_label, m.datasets))}")
                continue
            why = m.why_unavailable()
            if why is not None:
                note(label, m.name, why)
                continue
            for pair in tqdm(pairs, desc=f"{label}: {m.name}", unit="img", disable=not progress, leave=False):
                try:
                    fused, mask = fused_of(m(pair.a, pair.b), pair)
                except (TypeError, ValueError) as exc:
                    raise ValueError(f"{m.name} on {pair.name}: {exc}") from None
                rows.append({"dataset": label, "method": m.name, "pair": pair.name, **score_pair(pair, fused, mask)})
                for js in settings if jpeg_methods is None or m.name in jpeg_methods else ():
                    rows.append({"dataset": label, "method": f"{m.name} (JPEG q{js.quality})", "pair": pair.name,
                                 **score_pair(pair, jpeg_roundtrip(fused, js))})
    notes_df = pd.DataFrame(notes, columns=["dataset", "method", "reason"])
    return Benchmark(_concat([pd.DataFrame(rows)]), notes_df)


# ----------------------------------------------------------------------------- released outputs

def survey_outputs(methods: Iterable[str] | None = None, *, root: str | os.PathLike | None = None,
                   progress: bool = False) -> pd.DataFrame:
    """Per-pair scores of the survey's lossless outputs (Liu et al. 2020) on Lytro pairs 01, 02 and 05.

    The files are ``metric_reference/lytro_yuliu2020/c_NN_<method>.png`` in the data folder
    (``smfuse data fetch reference``), scored against the Lytro sources by the same code as
    every method here. Rows are named ``"<method> (survey)"``.

    Parameters
    ----------
    methods : iterable of str, optional
        The survey's method names as in its file names (``cnn``, ``gff``, ``dsift`` ...);
        default all 18.
    root : path, optional
        The ``lytro_yuliu2020`` folder (default in the data folder).

    Returns
    -------
    pandas.DataFrame
        Per-pair rows as :attr:`Benchmark.per_pair`; empty (with a ``ValueError`` never
        raised) when the folder or the Lytro set is missing.
    """
    folder = Path(root) if root is not None else data_root() / "metric_reference" / "lytro_yuliu2020"
    if not folder.is_dir() or not has_dataset("lytro"):
        return _concat([])
    found = sorted({p.stem.split("_", 2)[2] for p in folder.glob("c_??_*.png")} - {"1", "2"})
    names = found if methods is None else list(methods)
    unknown = sorted(set(names) - set(found))
    if unknown:
        raise ValueError(f"methods: the survey has no outputs of {', '.join(unknown)}; choose from {', '.join(found)}")
    frames = []
    for m in names:
        t = evaluate_folder("lytro", folder, pattern=f"c_{{index:02d}}_{m}.png", missing="skip", progress=progress)
        frames.append(long_table(t, method=f"{m} (survey)", dataset="lytro"))
    return _concat(frames)


def published_jpeg(methods: Iterable[str] | None = None, *, root: str | os.PathLike | None = None,
                   limit: int | None = None, progress: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-pair scores of MFIFB's JPEG outputs on Lytro, and the JPEG settings each method's files were written with.

    Parameters
    ----------
    methods : iterable of str, optional
        Of :data:`smfuse.evaluation.evaluate.PUBLISHED_METHODS` (default all 10).
    root : path, optional
        The ``lytro_mfifb`` folder (default ``published_results/lytro_mfifb`` in the data folder).
    limit : int, optional
        Only the first ``limit`` Lytro pairs.

    Returns
    -------
    per_pair : pandas.DataFrame
        Rows named ``"<METHOD> (MFIFB, JPEG q<quality>)"``.
    settings : pandas.DataFrame
        Index ``method``: ``quality`` (the one all its files share), ``subsampling``,
        ``ijg_exact`` (the files' tables are the IJG tables of that quality, entry for
        entry) and ``files``.

    Raises
    ------
    ValueError
        If the folder or a method's files are missing, or one method's files were written
        with different settings.
    """
    from smfuse.evaluation.evaluate import PUBLISHED_METHODS

    base = Path(root) if root is not None else data_root() / "published_results" / "lytro_mfifb"
    if not base.is_dir():
        raise ValueError(f"MFIFB's outputs are not in {base}: run `smfuse data fetch mfifb` (or set SMFUSE_DATA)")
    frames, settings = [], {}
    for m in (PUBLISHED_METHODS if methods is None else tuple(methods)):
        files = sorted((base / m).glob(f"lytro_??_{m}.jpg"))[:limit]
        if not files:
            raise ValueError(f"no JPEG outputs of {m!r} in {base / m}; choose from {', '.join(PUBLISHED_METHODS)}")
        found = {jpeg_settings(f) for f in files}
        if len(found) != 1:
            raise ValueError(f"{m}: its {len(files)} files were written with {len(found)} different JPEG settings "
                             f"({', '.join(sorted(str(s) for s in found))}); match them file by file")
        s = found.pop()
        settings[m] = {"quality": s.quality, "subsampling": s.subsampling, "ijg_exact": s.exact, "files": len(files)}
        t = evaluate_folder("lytro", base / m, pattern=f"lytro_{{index:02d}}_{m}.jpg", limit=limit, progress=progress)
        frames.append(long_table(t, method=f"{m} (MFIFB, JPEG q{s.quality})", dataset="lytro"))
    table = pd.DataFrame.from_dict(settings, orient="index")
    table.index.name = "method"
    return _concat(frames), table


# ----------------------------------------------------------------------------- means and intervals

def finite(values) -> np.ndarray:
    """Which scores count in a mean or an effect: the finite ones, as a boolean mask of ``values``' shape.

    A pair that a method reproduces exactly (one source is the truth) scores an infinite PSNR
    against the truth; it is left out of means and paired effects, and their ``n`` says so.
    Missing scores (NaN) are left out too.
    """
    return np.isfinite(np.asarray(values, dtype=np.float64))


def t_interval(values, level: float = LEVEL) -> tuple[float, float, float]:
    """Mean and two-sided Student t interval of the mean of independent values.

    Parameters
    ----------
    values : (N,) array_like
        One value per pair (NaN not allowed).
    level : float
        Coverage, in (0, 1).

    Returns
    -------
    (mean, lo, hi)
        ``mean -/+ t_{(1+level)/2, N-1} * sd / sqrt(N)``; ``lo = hi = nan`` for N = 1.

    Raises
    ------
    ValueError
        For no values, NaN values, or a level outside (0, 1).

    Examples
    --------
    >>> [round(v, 4) for v in t_interval([1.0, 2.0, 3.0])]
    [2.0, -0.4841, 4.4841]
    """
    from scipy import stats

    x = np.asarray(values, dtype=np.float64).ravel()
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    if x.size == 0 or not np.isfinite(x).all():
        raise ValueError(f"t_interval needs finite values, got {x.size} values"
                         f"{' with NaN or infinity' if x.size else ''}")
    mean = float(x.mean())
    if x.size == 1:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf((1 + level) / 2, x.size - 1) * x.std(ddof=1) / np.sqrt(x.size))
    return mean, mean - half, mean + half


def summarise(per_pair: pd.DataFrame, *, keys: Iterable[str] | None = None, level: float = LEVEL) -> pd.DataFrame:
    """Mean and t interval over pairs of each (data set, method, metric).

    Parameters
    ----------
    per_pair : pandas.DataFrame
        :attr:`Benchmark.per_pair`.
    keys : iterable of str, optional
        The metrics (default every score column). A metric a set does not have (``psnr``
        without truth) is left out for that set.

    Returns
    -------
    pandas.DataFrame
        Columns ``dataset, method, metric, n, mean, lo, hi``, in the per-pair table's
        order of sets and methods.
    """
    keys = _score_columns(per_pair) if keys is None else list(keys)
    missing = [k for k in keys if k not in per_pair.columns]
    if missing:
        raise ValueError(f"keys: no score {', '.join(missing)} in the table; "
                         f"it has {', '.join(_score_columns(per_pair))}")
    out = []
    for (d, m), g in per_pair.groupby(["dataset", "method"], sort=False):
        for k in keys:
            v = g[k].to_numpy(dtype=np.float64)
            v = v[finite(v)]
            if v.size:
                mean, lo, hi = t_interval(v, level)
                out.append({"dataset": d, "method": m, "metric": k, "n": v.size, "mean": mean, "lo": lo, "hi": hi})
    return pd.DataFrame(out, columns=["dataset", "method", "metric", "n", "mean", "lo", "hi"])


def mean_table(summary: pd.DataFrame, dataset: str, *, keys: Iterable[str] | None = None,
               digits: int = 4) -> pd.DataFrame:
    """One set's summary for reading: a row per method, a column per metric, ``mean [lo, hi]``, and ``n``."""
    s = summary[summary.dataset == dataset]
    if s.empty:
        raise ValueError(f"no data set {dataset!r} in the summary; it has {', '.join(summary.dataset.unique())}")
    keys = list(dict.fromkeys(s.metric)) if keys is None else [k for k in keys if k in set(s.metric)]

    def cell(r):
        ci = "" if np.isnan(r["lo"]) else f" [{r['lo']:.{digits}f}, {r['hi']:.{digits}f}]"
        return f"{r['mean']:.{digits}f}{ci}"

    s = s[s.metric.isin(keys)].assign(cell=lambda x: x.apply(cell, axis=1))
    order = list(dict.fromkeys(s.method))
    t = s.pivot(index="method", columns="metric", values="cell").reindex(index=order, columns=keys)
    t.insert(0, "n", s.groupby("method", sort=False)["n"].max().reindex(order))
    return t


def strongest(summary: pd.DataFrame, dataset: str, metric: str, among: Iterable[str]) -> str | None:
    """The method among ``among`` with the highest mean of ``metric`` on ``dataset`` (``None`` if none was measured).

    Every metric of the benchmark is better when higher. Ties go to the first in ``among``.
    """
    among = list(among)
    s = summary[(summary.dataset == dataset) & (summary.metric == metric) & summary.method.isin(among)]
    if s.empty:
        return None
    s = s.assign(order=s.method.map({m: i for i, m in enumerate(among)})).sort_values(["mean", "order"],
                                                                                    ascending=[False, True])
    return str(s.method.iloc[0])


def paired_effects(per_pair: pd.DataFrame, dataset: str, metric: str, x: str | Iterable[str], y: str) -> pd.DataFrame:
    """Per-pair differences ``metric(x) - metric(y)`` on ``dataset``, over the pairs both have.

    Parameters
    ----------
    x : str or iterable of str
        One method, or several (e.g. the training seeds of one configuration): one row each.
    y : str
        The method compared with.

    Returns
    -------
    pandas.DataFrame
        A row per method of ``x``, a column per pair (the pairs that every method of ``x``
        and ``y`` scored with a finite value: a pair one of them reproduces exactly, with
        an infinite PSNR, is left out, as in :func:`summarise`); ``.to_numpy()`` is the
        ``(K, N)`` effects of :func:`smfuse.reproduce.claims.decide`.

    Raises
    ------
    ValueError
        If a method has no scores there, or no pair is common to all of them.
    """
    xs = [x] if isinstance(x, str) else list(x)
    d = per_pair[(per_pair.dataset == dataset)]
    table = d.pivot(index="method", columns="pair", values=metric)
    absent = [m for m in [*xs, y] if m not in table.index]
    if absent:
        raise ValueError(f"no {metric} of {', '.join(absent)} on {dataset}")
    table = table.loc[[*xs, y]]
    table = table.loc[:, finite(table).all(axis=0)]
    if table.shape[1] == 0:
        raise ValueError(f"{', '.join(xs)} and {y} share no pair of {dataset}")
    eff = table.loc[xs] - table.loc[y]
    eff.index.name = f"{metric}(x) - {metric}({y})"
    return eff


# ----------------------------------------------------------------------------- JPEG

# ITU-T T.81 Annex K, Tables K.1 (luminance) and K.2 (chrominance), in row-major (natural) order,
# the order Pillow's ``Image.quantization`` gives them in.
_K1 = np.array([16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56,
                14, 17, 22, 29, 51, 87, 80, 62, 18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
                49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99])
_K2 = np.array([17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99, 24, 26, 56, 99, 99, 99, 99, 99,
                47, 66, 99, 99, 99, 99, 99, 99] + [99] * 32)
_SUBSAMPLING = {0: "4:4:4", 1: "4:2:2", 2: "4:2:0"}


@dataclass(frozen=True)
class JpegSettings:
    """How a JPEG file was written, as far as matters for encoding another image the same way.

    Attributes
    ----------
    quality : int
        The IJG quality (1-100) whose scaled standard tables are the file's.
    subsampling : str
        Chroma subsampling, ``'4:2:0'``, ``'4:2:2'`` or ``'4:4:4'`` (``'4:4:4'`` for grey).
    exact : bool
        Whether the file's tables equal the IJG tables of ``quality`` entry for entry
        (``False``: the nearest quality, by the sum of absolute differences).
    """

    quality: int
    subsampling: str = "4:2:0"
    exact: bool = True

    def __post_init__(self):
        if isinstance(self.quality, bool) or not isinstance(self.quality, (int, np.integer)) or \
                not 1 <= self.quality <= 100:
            raise ValueError(f"quality must be an integer in 1..100, got {self.quality!r}")
        if self.subsampling not in _SUBSAMPLING.values():
            raise ValueError(f"subsampling must be one of {', '.join(_SUBSAMPLING.values())}, got {self.subsampling!r}")

    def __str__(self) -> str:
        return f"q{self.quality} {self.subsampling}{'' if self.exact else ' (nearest)'}"


def ijg_tables(quality: int) -> np.ndarray:
    """The IJG quantisation tables of ``quality``: ``(2, 64)`` int, luminance then chrominance, row-major.

    ``scale = 5000 / q`` below 50, else ``200 - 2 q``; each entry ``(base * scale + 50) // 100``,
    clipped to 1..255 (libjpeg ``jpeg_quality_scaling`` and ``jpeg_add_quant_table`` with
    ``force_baseline``).

    Examples
    --------
    >>> ijg_tables(75)[0, :8].tolist()
    [8, 6, 5, 8, 12, 20, 26, 31]
    >>> bool((ijg_tables(50) == np.stack([_K1, _K2])).all())
    True
    """
    q = int(quality)
    if not 1 <= q <= 100:
        raise ValueError(f"quality must be an integer in 1..100, got {quality!r}")
    scale = 5000 // q if q < 50 else 200 - 2 * q
    return np.clip((np.stack([_K1, _K2]) * scale + 50) // 100, 1, 255)


def _quality_of(tables: np.ndarray) -> tuple[int, bool]:
    """Invert the IJG scaling: the quality whose tables these are (exactly, or the nearest)."""
    k = tables.shape[0]
    cost = [int(np.abs(ijg_tables(q)[:k] - tables).sum()) for q in range(1, 101)]
    best = int(np.argmin(cost))
    return best + 1, cost[best] == 0


def jpeg_settings(source) -> JpegSettings:
    """The JPEG settings a file (or an open PIL JPEG image) was written with, read from its quantisation tables.

    Raises
    ------
    ValueError
        If it is not a JPEG, or its tables are not 8-bit tables in the IJG layout
        (one luminance table, and one chrominance table for colour).
    """
    from PIL import Image, JpegImagePlugin

    im = source if isinstance(source, Image.Image) else None
    if im is None:
        with Image.open(source) as opened:
            return jpeg_settings(opened)
    if im.format != "JPEG" or not getattr(im, "quantization", None):
        what = getattr(im, "filename", "") or "the image"
        raise ValueError(f"{what} is not a JPEG with quantisation tables")
    q = im.quantization
    tables = np.array([list(q[i]) for i in sorted(q)][:2])
    if tables.shape[1] != 64:
        raise ValueError(f"{im.filename}: quantisation tables of {tables.shape[1]} entries; expected 64")
    quality, exact = _quality_of(tables)
    sub = "4:4:4" if im.mode == "L" else _SUBSAMPLING.get(JpegImagePlugin.get_sampling(im), "4:4:4")
    return JpegSettings(quality, sub, exact)


def jpeg_roundtrip(image: np.ndarray, settings: JpegSettings | int) -> np.ndarray:
    """``image`` encoded as JPEG with ``settings`` (IJG tables of that quality, its subsampling), and decoded.

    Parameters
    ----------
    image : (H, W) or (H, W, 3) uint8 ndarray
    settings : JpegSettings or int
        An int is a quality with 4:2:0 subsampling (libjpeg's and MATLAB's default).

    Returns
    -------
    ndarray
        uint8, the shape of ``image``: what a reader of the JPEG file would get.

    Raises
    ------
    TypeError
        If ``image`` is not a uint8 array.
    """
    from PIL import Image

    if not isinstance(settings, JpegSettings):
        settings = JpegSettings(settings)
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8:
        raise TypeError(f"image must be a uint8 numpy array, got {getattr(image, 'dtype', type(image).__name__)}; "
                        "JPEG files hold 8-bit images")
    buf = io.BytesIO()
    Image.fromarray(image).save(buf, format="JPEG", quality=settings.quality, subsampling=settings.subsampling)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im).copy()
