"""Small helpers for the notebooks: where results go, saving figures and tables, recording claims.

Every notebook in ``notebooks/`` writes its PNG figures and CSV tables into one folder
(``runs/notebooks/NN-name`` under the repository root, git-ignored, unless told otherwise:
:mod:`smfuse.reproduce.run` points the full profile at the committed ``results/``) and records the
paper's claims it checks — the claim, our measurement, the measurement with the
authors' released weights, the published value, and the file that holds the evidence —
in ``claims.json`` / ``claims.csv`` there. :mod:`smfuse.reproduce.run` gathers these into
``results/SUMMARY.md``.

A few measurements the notebooks show are defined here rather than in a cell, so that
they are tested: :func:`boundary_window`, :func:`count_islands`,
:func:`receptive_field`.

The results folder can be redirected with the ``SMFUSE_RESULTS`` environment variable
(the notebook tests do so, to keep the committed results untouched).
"""

from __future__ import annotations

import csv
import json
import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

# the weights lookups, re-exported for the notebooks (they live in smfuse.runtime.weights)
from smfuse.runtime.weights import DEFAULT_VARIANT, VARIANTS, WEIGHTS_ENV, authors_checkpoint, load_model, weights_path

__all__ = [
    "REPO_ROOT",
    "RESULTS_ENV",
    "results_root",
    "resolve_out_dir",
    "relpath",
    "fmt",
    "Claim",
    "Report",
    "load_claims",
    "image_grid",
    "boundary_window",
    "count_islands",
    "receptive_field",
    "read_markdown_table",
    "authors_checkpoint",
    "load_models",
    "WEIGHTS_ENV",
    "weights_path",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
RESULTS_ENV = "SMFUSE_RESULTS"
CLAIMS_JSON = "claims.json"
CLAIMS_CSV = "claims.csv"


def results_root() -> Path:
    """``$SMFUSE_RESULTS`` if set, else ``runs/notebooks/`` under the repository root (git-ignored).

    A notebook run on its own (Jupyter, or ``papermill`` without ``out_dir``) writes there,
    never into the committed ``results/``.
    """
    env = os.environ.get(RESULTS_ENV)
    return Path(env).expanduser() if env else REPO_ROOT / "runs" / "notebooks"


def resolve_out_dir(name: str, out_dir: str | os.PathLike | None = None) -> Path:
    """The output folder of notebook ``name`` (created if needed).

    Parameters
    ----------
    name : str
        The notebook's name without extension, e.g. ``"01-repeated-blur"``.
    out_dir : path, optional
        Where to write; ``None`` gives ``results_root() / name`` (resolved from the
        package location, not from the working directory).
    """
    if not isinstance(name, str) or not name or "/" in name or "\\" in name:
        raise ValueError(f"name must be a notebook name such as '01-repeated-blur', got {name!r}")
    path = Path(out_dir).expanduser() if out_dir is not None else results_root() / name
    path.mkdir(parents=True, exist_ok=True)
    return path


def relpath(path: str | os.PathLike, start: str | os.PathLike | None = None) -> str:
    """``path`` relative to ``start`` (default: the repository root) when inside it, else its name.

    For printing locations without machine-specific absolute paths.
    """
    p = Path(path).resolve()
    base = Path(start).resolve() if start is not None else REPO_ROOT
    try:
        return p.relative_to(base).as_posix()
    except ValueError:
        return p.name


def fmt(value, digits: int = 4) -> str:
    """A number as fixed-point text (``'n/a'`` for None or NaN); other values as ``str``."""
    if value is None:
        return "n/a"
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if math.isnan(v):
            return "n/a"
        return f"{v:.{digits}f}"
    return str(value)


@dataclass
class Claim:
    """One checked claim of the paper.

    Attributes
    ----------
    claim : str
        What the paper (or the authors' code) says, in a sentence.
    ours : str
        Our measurement (our code or our trained weights).
    authors : str
        The measurement with the authors' released weights or saved files, or ``n/a``.
    published : str
        The published value, or ``n/a``.
    file : str
        The result file that holds the evidence (relative to the notebook's folder).
    notebook : str
        The notebook that made the measurement.
    verdict : str
        The verdict of the claims rule with its interval (:meth:`smfuse.reproduce.claims.Verdict.text`).
    rule : str
        The rule, stated before measuring (direction or threshold, and on what data).
    id : str
        The register entry it tests (``C6``, a claim of the paper; ``F1``, a fact of the code:
        :mod:`smfuse.reproduce.register`), or ``""`` for the replication's own checks and
        findings beyond the paper.
    subject : str
        Whose claim the verdict is about: ``authors`` (the released weights), ``retrain``
        (ours), ``method`` (a deterministic method or the code), or ``""``.
    section : str
        Where the report puts it: ``paper`` (a claim of the register), ``fact`` (an exact
        check of the code against the paper), ``appendix`` (the replication's own checks:
        convergence, precision, selection, speed) or ``beyond`` (findings beyond the paper).
    detail : dict
        The verdict's numbers (word, estimate, interval, n, p-values) for the report.
    """

    claim: str
    ours: str
    authors: str
    published: str
    file: str
    notebook: str
    verdict: str = ""
    rule: str = ""
    id: str = ""
    subject: str = ""
    section: str = ""
    detail: dict = field(default_factory=dict)


class Report:
    """Output folder of one notebook: figures, tables and claims.

    Parameters
    ----------
    name : str
        The notebook's name, e.g. ``"01-repeated-blur"``.
    out_dir : path, optional
        See :func:`resolve_out_dir`.

    Examples
    --------
    >>> import tempfile
    >>> rep = Report("00-example", tempfile.mkdtemp())
    >>> from smfuse.reproduce.claims import decide
    >>> v = decide([0.0004, 0.0007, 0.0005], direction="greater", rule="mean(agreement - 0.999) > 0")
    >>> rep.claim("MI agrees with the saved masks", verdict=v, ours=0.99934, published="99.95 %",
    ...           file="agreement.csv").verdict[:9]
    'supported'
    """

    def __init__(self, name: str, out_dir: str | os.PathLike | None = None) -> None:
        self.name = name
        self.dir = resolve_out_dir(name, out_dir)
        self.claims: list[Claim] = []
        # A re-run starts a fresh list; stale claims of an earlier run must not survive.
        for f in (CLAIMS_JSON, CLAIMS_CSV):
            (self.dir / f).unlink(missing_ok=True)

    def path(self, filename: str) -> Path:
        """A file inside the output folder."""
        return self.dir / filename

    def figure(self, fig, stem: str, *, dpi: int = 100) -> str:
        """Save a matplotlib figure as ``stem.png``; return the file name."""
        name = _stem(stem) + ".png"
        fig.savefig(self.dir / name, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
        return name

    def table(self, df, stem: str, *, index: bool = True) -> str:
        """Save a pandas DataFrame as ``stem.csv`` (full precision); return the file name."""
        name = _stem(stem) + ".csv"
        df.to_csv(self.dir / name, index=index)
        return name

    def claim(self, claim: str, *, verdict, ours=None, authors=None, published=None, file: str = "",
              digits: int = 4, id: str = "", subject: str = "", section: str = "") -> Claim:
        """Record a claim with its computed verdict and write ``claims.json`` and ``claims.csv`` at once.

        Parameters
        ----------
        claim : str
            The claim, in a sentence.
        verdict : smfuse.reproduce.claims.Verdict
            What the claims rule decided (:func:`smfuse.reproduce.claims.decide`,
            :func:`~smfuse.reproduce.claims.decide_equivalence` or :func:`~smfuse.reproduce.claims.not_measured`);
            a verdict is computed, never written in.
        ours, authors, published :
            Numbers are formatted with :func:`fmt` (``digits`` decimals); strings are kept.
        file : str
            The evidence file in this notebook's folder.
        id, subject, section : str
            The register entry tested (``C..`` or ``F..``), whose claim the verdict is about,
            and the report's section (see :class:`Claim`); ``section`` defaults to
            ``paper`` for a ``C..`` id, ``fact`` for an ``F..`` id and ``beyond`` otherwise.
        """
        from smfuse.reproduce.claims import VERDICTS, Verdict

        if not claim:
            raise ValueError("claim must be a non-empty sentence")
        if not isinstance(verdict, Verdict) or verdict.verdict not in VERDICTS:
            raise TypeError(f"verdict must be a smfuse.reproduce.claims.Verdict from the claims rule, "
                            f"got {type(verdict).__name__}")
        if id:
            from smfuse.reproduce import register

            (register.claim if id.startswith("C") else register.fact)(id)  # an unknown id stops the notebook here
        sections = ("paper", "fact", "appendix", "beyond")
        section = section or {"C": "paper", "F": "fact"}.get(id[:1], "beyond")
        if section not in sections:
            raise ValueError(f"section must be one of {sections}, got {section!r}")
        c = Claim(claim=claim, ours=fmt(ours, digits), authors=fmt(authors, digits),
                  published=fmt(published, digits), file=file, notebook=self.name,
                  verdict=verdict.text(), rule=verdict.rule, id=id, subject=subject, section=section,
                  detail=verdict.to_record())
        self.claims.append(c)
        self._write()
        return c

    def _write(self) -> None:
        rows = [asdict(c) for c in self.claims]
        (self.dir / CLAIMS_JSON).write_text(json.dumps(rows, indent=1) + "\n")
        with open(self.dir / CLAIMS_CSV, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(Claim.__dataclass_fields__))
            w.writeheader()
            w.writerows(rows)

    def check_verdicts(self) -> None:
        """Assert that every claim recorded has a verdict computed by the claims rule (for a notebook's last cell).

        It checks *that* each verdict was computed (one of the four words, with its rule
        or its reason), never *which* verdict came out.
        """
        from smfuse.reproduce.claims import VERDICTS

        if not self.claims:
            raise AssertionError(f"{self.name}: no claims recorded")
        for c in self.claims:
            word = next((w for w in VERDICTS if c.verdict.startswith(w)), None)
            if word is None:
                raise AssertionError(f"{self.name}: claim {c.claim[:60]!r} has no computed verdict: {c.verdict!r}")
            if word != "not measured" and not c.rule:
                raise AssertionError(f"{self.name}: claim {c.claim[:60]!r} does not state its rule")

    def claims_table(self):
        """The claims recorded so far, as a DataFrame (for display at the end of a notebook)."""
        import pandas as pd

        return pd.DataFrame([asdict(c) for c in self.claims],
                            columns=list(Claim.__dataclass_fields__)).drop(columns=["notebook", "detail"])


def _stem(stem: str) -> str:
    if not stem or "/" in stem or "\\" in stem or stem.startswith("."):
        raise ValueError(f"stem must be a plain file name without extension, got {stem!r}")
    return stem


def load_claims(folder: str | os.PathLike) -> list[dict]:
    """The claims recorded in ``folder/claims.json`` (an empty list if there is none)."""
    p = Path(folder) / CLAIMS_JSON
    if not p.is_file():
        return []
    rows = json.loads(p.read_text())
    if not isinstance(rows, list):
        raise ValueError(f"{p.name} in {Path(folder).name}: expected a list of claims")
    return rows


def read_markdown_table(path: str | os.PathLike):
    """The first pipe table of a Markdown file as a DataFrame (numbers parsed where possible).

    For the published means shipped with the data (``| method | QMI | ... |``).
    """
    import pandas as pd

    lines = [ln.strip() for ln in Path(path).read_text().splitlines()]
    start = next((i for i, ln in enumerate(lines) if ln.startswith("|")), None)
    if start is None or start + 1 >= len(lines) or not set(lines[start + 1]) <= set("|-: "):
        raise ValueError(f"{Path(path).name}: no Markdown pipe table (header row, then a |---| row) found")
    cells = lambda ln: [c.strip() for c in ln.strip("|").split("|")]  # noqa: E731
    header = cells(lines[start])
    rows = []
    for ln in lines[start + 2:]:
        if not ln.startswith("|"):
            break
        row = cells(ln)
        if len(row) != len(header):
            raise ValueError(f"{Path(path).name}: a row has {len(row)} cells, the header {len(header)}")
        rows.append(row)
    df = pd.DataFrame(rows, columns=header)
    for col in df.columns:
        try:
            df[col] = pd.to_numeric(df[col])
        except (ValueError, TypeError):
            pass
    return df


# ----------------------------------------------------------------------------- figures


def image_grid(images, titles=None, *, ncols: int | None = None, size: float = 3.0, cmap="gray",
               vmin=None, vmax=None, colorbar: bool = False):
    """A row (or grid) of images without axes; returns the matplotlib figure.

    Parameters
    ----------
    images : sequence of (H, W) or (H, W, 3) ndarrays
        Grey images are drawn with ``cmap`` (and ``vmin``/``vmax`` if given).
    titles : sequence of str, optional
    ncols : int, optional
        Columns (default: all in one row).
    """
    import matplotlib.pyplot as plt

    images = list(images)
    if not images:
        raise ValueError("images must not be empty")
    ncols = ncols or len(images)
    nrows = math.ceil(len(images) / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(size * ncols, size * nrows), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_axis_off()
        if k >= len(images):
            continue
        im = np.asarray(images[k])
        art = ax.imshow(im, cmap=None if im.ndim == 3 else cmap, vmin=vmin, vmax=vmax,
                        interpolation="nearest")
        if titles is not None:
            ax.set_title(titles[k], fontsize=9)
        if colorbar and im.ndim == 2:
            fig.colorbar(art, ax=ax, fraction=0.046, pad=0.02)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- measurements


def boundary_window(mask, size: int) -> tuple[int, int]:
    """Top-left corner ``(y, x)`` of the ``size x size`` window holding the most mask boundary.

    A boundary pixel is one whose right or lower neighbour has the other label; ties go
    to the first window in raster order. Used to crop focus boundaries for side-by-side
    figures.

    Parameters
    ----------
    mask : (H, W) bool ndarray
    size : int
        Window side, at most ``min(H, W)``.
    """
    m = np.asarray(mask).astype(bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be a (H, W) array, got shape {m.shape}")
    h, w = m.shape
    if not 1 <= size <= min(h, w):
        raise ValueError(f"size must be between 1 and {min(h, w)} for a {h}x{w} mask, got {size}")
    edge = np.zeros((h, w), np.float64)
    edge[:, :-1] += m[:, 1:] != m[:, :-1]
    edge[:-1, :] += m[1:, :] != m[:-1, :]
    ii = np.zeros((h + 1, w + 1))
    ii[1:, 1:] = edge.cumsum(0).cumsum(1)
    sums = ii[size:, size:] - ii[:-size, size:] - ii[size:, :-size] + ii[:-size, :-size]
    y, x = np.unravel_index(int(np.argmax(sums)), sums.shape)
    return int(y), int(x)


def count_islands(mask, *, max_area: int | None = None) -> int:
    """Number of 4-connected regions of either label (a speckle count for binary masks).

    Parameters
    ----------
    mask : (H, W) bool ndarray
    max_area : int, optional
        Count only regions of at most this many pixels.
    """
    from scipy import ndimage

    m = np.asarray(mask).astype(bool)
    if m.ndim != 2:
        raise ValueError(f"mask must be a (H, W) array, got shape {m.shape}")
    total = 0
    for part in (m, ~m):
        labels, n = ndimage.label(part)
        if max_area is None:
            total += n
        elif n:
            areas = np.bincount(labels.ravel())[1:]
            total += int((areas <= max_area).sum())
    return total


def receptive_field(model, *, size: int = 33) -> tuple[int, int]:
    """Height and width of the input region that reaches one output pixel, measured.

    Back-propagates the decoder output at the centre of a ``size x size`` random input
    pair and measures the extent of the non-zero input gradient (both sources).

    Parameters
    ----------
    model : MaskGenerator
    size : int
        Odd input side, larger than the expected field.
    """
    import torch

    if size % 2 == 0 or size < 3:
        raise ValueError(f"size must be odd and >= 3, got {size}")
    g = torch.Generator().manual_seed(0)
    x1 = (torch.rand(1, 1, size, size, generator=g, dtype=torch.float32) * 2 - 1).requires_grad_()
    x2 = (torch.rand(1, 1, size, size, generator=g, dtype=torch.float32) * 2 - 1).requires_grad_()
    c = size // 2
    z = model.logits(x1, x2)
    z[0, 0, c, c].backward()
    grad = (x1.grad.abs() + x2.grad.abs())[0, 0].numpy()
    ys, xs = np.nonzero(grad)
    if ys.size == 0:
        return 0, 0
    return int(ys.max() - ys.min() + 1), int(xs.max() - xs.min() + 1)


# ----------------------------------------------------------------------------- models


def load_models() -> dict:
    """The mask generators the notebooks compare, each ``None`` when unavailable.

    Taken from the SMFuse methods of :mod:`smfuse.evaluation.methods` (each loaded once and shared
    with the method).

    Returns
    -------
    dict
        Keyed by method name (:mod:`smfuse.evaluation.methods`): ``"smfuse_authors"``, the
        authors' released checkpoint, epoch 617, from the data folder; ``"smfuse_code"``,
        ``"smfuse_paper"``: our weights trained with each loss variant (``smfuse_code.pt`` /
        ``smfuse_paper.pt`` shipped in ``smfuse/runtime/trained``, or in the folder named by
        the ``SMFUSE_WEIGHTS_DIR`` environment variable, to run the notebooks on freshly
        trained weights). ``None`` where the weights are absent. The models come from
        :func:`smfuse.runtime.weights.load_model`'s cache, shared with the SMFuse methods:
        do not train them.
    """
    from smfuse.evaluation.methods import get_method

    models = {}
    for name in ("smfuse_code", "smfuse_paper", "smfuse_authors"):
        method = get_method(name)
        models[name] = method.model() if method.available() else None
    return models
