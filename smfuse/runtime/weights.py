"""Weights: every weights spec -> a mask generator, and one bounded cache of models.

This is the one place that knows where weights live and how a spec is read. A spec is
one string, as a command line gives it (``smfuse fuse --weights SPEC``, the ``train``
option ``init_from``):

``paper``, ``code`` (or ``None``: :data:`DEFAULT_VARIANT`)
    Our weights for that loss variant: ``smfuse_<variant>.pt`` in the folder named by
    ``SMFUSE_WEIGHTS_DIR`` (:data:`WEIGHTS_ENV`) when it is set, else in the package's
    ``smfuse/runtime/trained`` (:data:`PACKAGE_WEIGHTS_DIR`, how they were made is in its
    README). There is no fallback from one folder to the other: a folder set in the
    environment that lacks the file is an error, so that a notebook never mixes weights.
``authors``, ``authors@EPOCH``
    The authors' released ``checkpoint.zip`` in the data folder
    (:func:`smfuse.data.sets.data_root`, at :data:`OFFICIAL_ZIP`), newest epoch (617) unless
    ``@EPOCH`` names one.
``authors:PATH``, ``authors:PATH@EPOCH``
    The authors' checkpoint at ``PATH``: their zip, a folder holding the unzipped files,
    or one prefix such as ``CGAN_84/CGAN.model-617`` (:func:`smfuse.runtime.official.load_official`).
    A trailing ``@`` and digits always names the epoch.
anything else (or a path object)
    A checkpoint written by :func:`smfuse.runtime.checkpoint.save_checkpoint`.

:func:`resolve` turns a spec into a :class:`WeightsSource` (which file, which epoch)
without reading the weights; :func:`load_weights` gives a fresh model (yours to
modify, e.g. to train); :func:`load_model` gives a shared one from the cache. A spec
that does not resolve raises one line: ``FileNotFoundError`` for weights that are not
where the spec says, :class:`~smfuse.runtime.tensorbundle.CheckpointError` (a ``ValueError``)
for a file that cannot be read; the command line prints it as ``smfuse: error: ...``.

The cache
---------
:func:`load_model` keeps the :data:`CACHE_SIZE` = 3 most recently used models (the
authors' weights and ours in both variants: every model a notebook compares), least
recently used first out. Each cached model also keeps, while it lives, the CPU buffers
of :class:`smfuse.runtime.fast.FastLogits` (about 190 MB for 512-pixel tiles), so the cache
holds at most about 0.6 GB. Entries are keyed by the file's resolved path, size and
modification time (and the epoch), so a retrained file at the same path is read again.
"""

from __future__ import annotations

import os
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from smfuse.runtime.checkpoint import load_checkpoint
from smfuse.data.sets import data_root
from smfuse.method.network import MaskGenerator
from smfuse.runtime.official import load_official

__all__ = [
    "VARIANTS",
    "DEFAULT_VARIANT",
    "WEIGHTS_ENV",
    "PACKAGE_WEIGHTS_DIR",
    "OFFICIAL_ZIP",
    "CACHE_SIZE",
    "WeightsSource",
    "weights_dir",
    "weights_path",
    "authors_checkpoint",
    "resolve",
    "load_weights",
    "load_model",
    "clear_cache",
    "cache_size",
]

VARIANTS = ("code", "paper")
# The shipped default: the variant that scores best on Lytro (notebooks/05-evaluation).
DEFAULT_VARIANT = "paper"
WEIGHTS_ENV = "SMFUSE_WEIGHTS_DIR"
PACKAGE_WEIGHTS_DIR = Path(__file__).resolve().parent / "trained"
OFFICIAL_ZIP = Path("smfuse_official") / "checkpoint.zip"  # relative to data_root()
CACHE_SIZE = 3

_AUTHORS_RE = re.compile(r"^authors(?::(?P<path>.*?))?(?:@(?P<epoch>\d+))?$", re.S)


@dataclass(frozen=True)
class WeightsSource:
    """Where a weights spec points.

    Attributes
    ----------
    spec : str
        The spec as given (``paper``, ``authors@614``, a path ...).
    kind : {'ours', 'authors'}
        Our checkpoint format, or the authors' TensorFlow release.
    path : Path
        The file (or, for ``authors``, the zip, folder or prefix).
    epoch : int or None
        The authors' epoch; None for the newest (and for ours).
    """

    spec: str
    kind: str
    path: Path
    epoch: int | None = None

    def load(self) -> MaskGenerator:
        """A fresh mask generator from this source, in eval mode, on the CPU."""
        if self.kind == "authors":
            return load_official(self.path, self.epoch)
        return load_checkpoint(self.path)[0]

    def _key(self) -> tuple:
        p = self.path.resolve()
        try:
            st = p.stat()
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = None  # loading will say what is wrong
        return (self.kind, str(p), stamp, self.epoch)


def weights_dir() -> Path:
    """The folder of our weights: ``$SMFUSE_WEIGHTS_DIR`` if set, else the package's."""
    env = os.environ.get(WEIGHTS_ENV)
    return Path(env).expanduser() if env else PACKAGE_WEIGHTS_DIR


def _check_variant(variant) -> str:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(map(repr, VARIANTS))}, got {variant!r}")
    return variant


def weights_path(variant: str) -> Path | None:
    """Our weights for a loss variant (``'code'`` or ``'paper'``), or ``None`` if absent.

    ``smfuse_<variant>.pt`` in :func:`weights_dir`.
    """
    path = weights_dir() / f"smfuse_{_check_variant(variant)}.pt"
    return path if path.is_file() else None


def authors_checkpoint() -> Path | None:
    """The authors' ``checkpoint.zip`` in the data folder, or ``None`` when it is absent."""
    root = data_root()
    if root is None or not (root / OFFICIAL_ZIP).is_file():
        return None
    return root / OFFICIAL_ZIP


def resolve(spec: str | os.PathLike | None = None) -> WeightsSource:
    """Where a weights spec points (see the module docstring), without reading the weights.

    Parameters
    ----------
    spec : str, path or None
        ``None`` for :data:`DEFAULT_VARIANT`.

    Returns
    -------
    WeightsSource

    Raises
    ------
    FileNotFoundError
        If a variant's file or the authors' checkpoint is not where the spec says.
    ValueError
        If ``authors:`` is followed by an empty path.
    TypeError
        If ``spec`` is neither a str, a path nor None.
    """
    if spec is None:
        spec = DEFAULT_VARIANT
    if isinstance(spec, os.PathLike):
        return WeightsSource(str(spec), "ours", Path(spec))
    if not isinstance(spec, str):
        raise TypeError(f"weights spec must be a str ('paper', 'code', 'authors[:PATH][@EPOCH]' or a "
                        f"checkpoint path), got {type(spec).__name__}")
    if spec in VARIANTS:
        path = weights_path(spec)
        if path is None:
            folder = weights_dir()
            where = f"{WEIGHTS_ENV}={folder}" if os.environ.get(WEIGHTS_ENV) else f"the package folder {folder}"
            raise FileNotFoundError(f"weights {spec!r}: no smfuse_{spec}.pt in {where}; train them with "
                                    f"`smfuse train --config full --set variant={spec}`, or give a checkpoint path")
        return WeightsSource(spec, "ours", path)
    m = _AUTHORS_RE.match(spec)
    if m is None:
        return WeightsSource(spec, "ours", Path(spec))
    path, epoch = m.group("path"), m.group("epoch")
    if path is None:
        path = authors_checkpoint()
        if path is None:
            raise FileNotFoundError(f"weights {spec!r}: the authors' checkpoint ({OFFICIAL_ZIP.as_posix()}) is "
                                    f"not in a data folder; set SMFUSE_DATA or use 'authors:PATH'")
    elif not path:
        raise ValueError(f"weights {spec!r}: empty path after 'authors:'")
    return WeightsSource(spec, "authors", Path(path), None if epoch is None else int(epoch))


def load_weights(spec: str | os.PathLike | None = None) -> MaskGenerator:
    """A fresh mask generator from a weights spec (not cached: yours to modify).

    Parameters
    ----------
    spec : str, path or None
        See the module docstring; ``None`` for :data:`DEFAULT_VARIANT`.

    Returns
    -------
    MaskGenerator
        In eval mode, on the CPU.

    Raises
    ------
    FileNotFoundError, CheckpointError (a ValueError), TypeError
        As :func:`resolve`, or when the file cannot be read.

    Examples
    --------
    >>> net = load_weights("authors@617")  # doctest: +SKIP
    >>> net = load_weights("authors:checkpoint.zip@614")  # doctest: +SKIP
    >>> net = load_weights("runs/code/final.pt")  # doctest: +SKIP
    """
    return resolve(spec).load()


_CACHE: OrderedDict[tuple, MaskGenerator] = OrderedDict()
_LOCK = threading.Lock()


def load_model(spec: str | os.PathLike | None = None) -> MaskGenerator:
    """A mask generator from a weights spec, shared through the bounded cache.

    The same spec (same file, unchanged) gives the same model object until it drops
    out of the cache (:data:`CACHE_SIZE` models, least recently used out). Do not
    train or modify it: use :func:`load_weights` for a model of your own.

    Parameters
    ----------
    spec : str, path or None
        See the module docstring; ``None`` for :data:`DEFAULT_VARIANT`.

    Returns
    -------
    MaskGenerator
        In eval mode, on the CPU.

    Raises
    ------
    FileNotFoundError, CheckpointError (a ValueError), TypeError
        As :func:`load_weights`.
    """
    source = resolve(spec)
    key = source._key()
    with _LOCK:
        model = _CACHE.get(key)
        if model is not None:
            _CACHE.move_to_end(key)
            return model
    model = source.load()  # outside the lock: reading the authors' zip takes a moment
    with _LOCK:
        model = _CACHE.setdefault(key, model)
        _CACHE.move_to_end(key)
        while len(_CACHE) > CACHE_SIZE:
            _CACHE.popitem(last=False)
    return model


def clear_cache() -> None:
    """Drop every cached model (their FastLogits buffers go with them)."""
    with _LOCK:
        _CACHE.clear()


def cache_size() -> int:
    """How many models the cache holds now (at most :data:`CACHE_SIZE`)."""
    with _LOCK:
        return len(_CACHE)
