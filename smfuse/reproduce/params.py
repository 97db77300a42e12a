"""Notebook parameters: checked once, in the cell after each notebook's ``parameters`` cell.

Every notebook takes ``profile`` and ``out_dir``; some also take (papermill ``-p``, or
``smfuse reproduce -p KEY=VALUE`` / ``--grid KEY=V1,V2``):

``dataset``
    ``None`` (the notebook's own sets) or a data set name of :data:`smfuse.data.sets.DATASETS`,
    or the path of a folder of your own pairs (:func:`smfuse.data.sets.load_folder`).
``weights``
    ``None`` (our shipped weights) or a folder holding ``smfuse_code.pt`` /
    ``smfuse_paper.pt`` (what ``SMFUSE_WEIGHTS_DIR`` names), or one checkpoint file of
    ours (``smfuse train`` writes ``final.pt``): "ours" in the notebook's tables.
``methods``
    ``None`` (all) or a comma-separated list of the methods to compare:
    the names of the method registry (:func:`smfuse.evaluation.methods.method_names`); the methods a
    notebook's claims are measured against always run.
``seed``
    The training seed (an integer >= 0), where the notebook trains.

:func:`check` raises one ``ValueError`` naming the parameter, what came and what is
allowed, so a bad ``-p`` stops a run at its first cell.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from smfuse.evaluation.methods import method_names

__all__ = ["check", "Parameters", "PROFILES", "METHOD_NAMES", "label"]

PROFILES = ("quick", "full")
#: The method names of the evaluation notebooks' tables: the registry's (smfuse.evaluation.methods).
METHOD_NAMES = tuple(method_names())


@dataclass
class Parameters:
    """The checked parameters of one notebook run.

    Attributes
    ----------
    profile : {'quick', 'full'}
    out_dir : path or None
    dataset : str or None
        A data set name, or the absolute path of a folder of pairs.
    weights : str or None
        The weights folder now named by ``SMFUSE_WEIGHTS_DIR`` in this kernel.
    methods : set of str or None
        The chosen methods plus the required ones; ``None``: all.
    seed : int or None
    out : Path
        The folder the notebook writes into.
    """

    profile: str
    out_dir: str | None
    dataset: str | None = None
    weights: str | None = None
    methods: set | None = None
    seed: int | None = None
    out: Path | None = None
    given: dict = field(default_factory=dict)

    def keep(self, name: str) -> bool:
        """Whether method ``name`` is to be run."""
        return self.methods is None or name in self.methods


def label(dataset: str) -> str:
    """A data set as it appears in file names and tables: its name, or its folder's name."""
    from smfuse.data.sets import DATASETS

    return dataset if dataset in DATASETS else Path(dataset).name


_UNSET = object()


def check(notebook: str, *, profile, out_dir, dataset=_UNSET, weights=_UNSET, methods=_UNSET, seed=_UNSET,
          required_methods=(), needs_truth: bool = False, log=print) -> Parameters:
    """Validate a notebook's parameters; return them resolved, and say where the notebook writes.

    Parameters
    ----------
    notebook : str
        The notebook's name (``"05-evaluation"``).
    profile, out_dir, dataset, weights, methods, seed
        The notebook's parameters (pass only those it declares).
    required_methods : iterable of str
        Methods the notebook's claims need; always kept.
    needs_truth : bool
        The notebook scores against the all-in-focus truth: a ``dataset`` without it is refused.
    log : callable
        Receives one line: the parameters and the output folder.

    Raises
    ------
    ValueError
        Naming the first bad parameter, what it got and what is allowed.
    """
    from smfuse.reproduce import report

    if profile not in PROFILES:
        raise ValueError(f"parameter profile must be one of {', '.join(repr(p) for p in PROFILES)}, got {profile!r} "
                         "(papermill -p profile quick)")
    if out_dir is not None and not isinstance(out_dir, (str, os.PathLike)):
        raise ValueError(f"parameter out_dir must be a folder path or None, got {out_dir!r}")
    p = Parameters(profile=profile, out_dir=out_dir)
    if dataset is not _UNSET:
        p.dataset = _check_dataset(dataset, needs_truth)
        p.given["dataset"] = dataset
    if weights is not _UNSET:
        p.weights = _check_weights(weights)
        p.given["weights"] = weights
    if methods is not _UNSET:
        p.methods = _check_methods(methods, required_methods)
        p.given["methods"] = methods
    if seed is not _UNSET:
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise ValueError(f"parameter seed must be an integer >= 0 (or None for the default 0), got {seed!r}")
        p.seed = 0 if seed is None else seed
        p.given["seed"] = seed
    p.out = report.resolve_out_dir(notebook, out_dir)
    shown = ", ".join(f"{k}={v!r}" for k, v in {"profile": profile, **p.given}.items())
    # Never an absolute path: the output of this cell is kept in committed notebooks.
    where = report.relpath(p.out) if _inside_repo(p.out) else f"{p.out.name}/ (a folder outside the checkout)"
    log(f"parameters: {shown}; writing to {where}")
    return p


def _inside_repo(path: Path) -> bool:
    from smfuse.reproduce.report import REPO_ROOT

    try:
        Path(path).resolve().relative_to(REPO_ROOT)
        return True
    except ValueError:
        return False


def _check_dataset(dataset, needs_truth: bool):
    from smfuse.data.sets import DATASETS, has_dataset, load_dataset, missing_files

    if dataset is None:
        return None
    if not isinstance(dataset, (str, os.PathLike)) or not str(dataset):
        raise ValueError(f"parameter dataset must be a data set name ({', '.join(DATASETS)}) or a folder of pairs, "
                         f"got {dataset!r}")
    text = str(dataset)
    if text in DATASETS:
        if not has_dataset(text):
            missing = missing_files(text)
            raise ValueError(f"parameter dataset={text!r}: {len(missing)} of its files are not in the data folder; "
                             f"fetch them (smfuse data fetch {'authors' if text == 'train' else text})")
        name = text
    else:
        folder = Path(text).expanduser()
        if not folder.is_dir():
            raise ValueError(f"parameter dataset={text!r} is neither a data set name ({', '.join(DATASETS)}) nor an "
                             "existing folder of pairs")
        name = str(folder.resolve())
    first = load_dataset(name, limit=1)  # the folder's pairing errors surface here, before any work
    if needs_truth and first[0].truth is None:
        raise ValueError(f"parameter dataset={text!r}: this notebook scores against the all-in-focus truth, which "
                         "the set does not have (for your own pairs: X_truth beside X_A/X_B, or a truth/ subfolder)")
    return name


def _check_weights(weights):
    from smfuse.runtime import weights as _weights
    from smfuse.runtime.weights import WEIGHTS_ENV

    if weights is None:
        return None
    if not isinstance(weights, (str, os.PathLike)):
        raise ValueError(f"parameter weights must be a folder or a checkpoint file, got {weights!r}")
    path = Path(weights).expanduser()
    if path.is_dir():
        found = [v for v in ("code", "paper") if (path / f"smfuse_{v}.pt").is_file()]
        if not found:
            raise ValueError(f"parameter weights={str(weights)!r}: the folder holds neither smfuse_code.pt nor "
                             "smfuse_paper.pt (or give one checkpoint file)")
        for v in found:
            _weights.load_model(str(path / f"smfuse_{v}.pt"))  # a corrupt file fails here, with its name
        folder = path
    elif path.is_file():
        from smfuse.runtime.checkpoint import read_checkpoint

        _weights.load_model(str(path))
        cfg = (read_checkpoint(path).get("meta") or {}).get("config") or {}
        variant = cfg.get("variant") if cfg.get("variant") in ("code", "paper") else _weights.DEFAULT_VARIANT
        folder = Path(tempfile.mkdtemp(prefix="smfuse-weights-"))
        (folder / f"smfuse_{variant}.pt").symlink_to(path.resolve())
    else:
        raise ValueError(f"parameter weights={str(weights)!r}: no such folder or checkpoint file")
    os.environ[WEIGHTS_ENV] = str(folder)  # read by smfuse.runtime.weights (and so every method) in this kernel
    return str(folder)


def _check_methods(methods, required) -> set | None:
    if methods is None:
        return None
    items = methods.replace(",", " ").split() if isinstance(methods, str) else methods
    try:
        items = [str(m) for m in items]
    except TypeError:
        raise ValueError(f"parameter methods must be a comma-separated string or a list of names, got {methods!r}") \
            from None
    chosen = set()
    for m in items:
        if m not in METHOD_NAMES:
            raise ValueError(f"parameter methods: unknown method {m!r}; choose from {', '.join(METHOD_NAMES)}")
        chosen.add(m)
    if not chosen:
        raise ValueError("parameter methods is empty; give None for all, or method names")
    return chosen | set(required)
