"""Our own checkpoint format for the mask generator.

:func:`save_checkpoint` writes, with ``torch.save`` and atomically (temporary file in
the same folder, then ``os.replace``), a dict::

    {"format": "smfuse.MaskGenerator", "format_version": 1, "arch": "released",
     "state_dict": ..., "meta": {...}, "optimizer": state dict or None, "step": int or None}

``arch`` names the architecture (:data:`smfuse.method.network.ARCHS`; the state dicts of all of
them have the same shapes); a file without it, written before it existed, is
``released``.

:func:`load_checkpoint` reads it back (``weights_only`` unpickling: no code runs);
:func:`read_checkpoint` gives the whole validated dict (to resume training).

Every failure to read a checkpoint (missing file, truncated or foreign file, wrong
shape) raises :class:`~smfuse.runtime.tensorbundle.CheckpointError`, a ``ValueError`` whose
one-line message names the file and the problem. The authors' TensorFlow release is
read by :mod:`smfuse.runtime.official`; a weights spec (``paper``, ``authors:PATH@EPOCH``, a
path) is turned into a model by :mod:`smfuse.runtime.weights`.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import torch

from smfuse.io import atomic_path
from smfuse.method.network import ARCHS, MaskGenerator
from smfuse.runtime.official import is_official_zip
from smfuse.runtime.tensorbundle import CheckpointError

__all__ = ["CheckpointError", "save_checkpoint", "read_checkpoint", "load_checkpoint", "FORMAT", "FORMAT_VERSION"]

FORMAT = "smfuse.MaskGenerator"
FORMAT_VERSION = 1


# ----------------------------------------------------------------------------- our checkpoints

_META_TYPES = (str, int, float, bool, type(None))


def _check_meta(value, where: str) -> None:
    if isinstance(value, _META_TYPES):
        return
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            _check_meta(v, f"{where}[{i}]")
        return
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise TypeError(f"meta keys must be str, got {k!r} in {where}")
            _check_meta(v, f"{where}[{k!r}]")
        return
    raise TypeError(f"meta must hold only str, int, float, bool, None, lists and dicts; "
                    f"{where} is a {type(value).__name__} (convert it, e.g. with str())")


def save_checkpoint(path, model: MaskGenerator, *, meta: dict, optimizer: torch.optim.Optimizer | None = None,
                    step: int | None = None) -> Path:
    """Save a mask generator (and optionally the training state), atomically.

    Parameters
    ----------
    path : str or path
        Target file (conventionally ``.pt``); its folder is created if needed. An
        existing file is replaced only once the new one is completely written.
    model : MaskGenerator
    meta : dict
        Provenance (configuration, data, commit, metrics ...): str keys; values str,
        int, float, bool, None, or lists and dicts of these.
    optimizer : torch.optim.Optimizer, optional
        Saved with its state so that training can resume.
    step : int, optional
        Training step reached (>= 0).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    TypeError
        If ``model`` is not a MaskGenerator, ``optimizer`` not an optimizer, or ``meta``
        not a dict of plain values.
    ValueError
        If ``step`` is negative.
    """
    if not isinstance(model, MaskGenerator):
        raise TypeError(f"model must be a MaskGenerator, got {type(model).__name__}")
    if not isinstance(meta, dict):
        raise TypeError(f"meta must be a dict, got {type(meta).__name__}")
    _check_meta(meta, "meta")
    if optimizer is not None and not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"optimizer must be a torch.optim.Optimizer or None, got {type(optimizer).__name__}")
    if step is not None:
        if isinstance(step, bool) or not isinstance(step, (int, np.integer)):
            raise TypeError(f"step must be an int or None, got {type(step).__name__}")
        if step < 0:
            raise ValueError(f"step must be >= 0, got {step}")
        step = int(step)
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": model.arch,
        "state_dict": {k: v.detach().to("cpu", copy=True) for k, v in model.state_dict().items()},
        "meta": meta,
        "optimizer": None if optimizer is None else optimizer.state_dict(),
        "step": step,
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            torch.save(payload, f)
            f.flush()
            os.fsync(f.fileno())
    return path


def read_checkpoint(path) -> dict:
    """The validated contents of a checkpoint written by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    dict
        ``format``, ``format_version``, ``arch``, ``state_dict`` (checked against
        :class:`MaskGenerator`), ``meta``, ``optimizer`` (state dict or None), ``step``
        (int or None). To resume training, load ``optimizer`` into an optimizer built
        over the parameters of the model from :func:`load_checkpoint`.

    Raises
    ------
    CheckpointError
        (a ``ValueError``) If the file is missing, truncated, not a torch file, not ours
        (format tag), or its state dict does not fit a MaskGenerator.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or path, got {type(path).__name__}")
    label = str(path)
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{label}: no such checkpoint file")
    try:
        raw = p.read_bytes()
    except OSError as e:
        raise CheckpointError(f"{label}: cannot read the file ({e.strerror or e})") from None
    if raw[:4] == b"PK\x03\x04" and is_official_zip(raw):
        raise CheckpointError(f"{label}: this is the authors' TensorFlow checkpoint; "
                              f"load it with 'authors:{label}' or load_official()")
    try:
        payload = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises many kinds for a damaged file
        msg = " ".join(str(e).split())[:200] or type(e).__name__
        raise CheckpointError(f"{label}: not a readable torch checkpoint (truncated or corrupt?): "
                              f"{type(e).__name__}: {msg}") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        tag = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{label}: not an smfuse mask-generator checkpoint (format {tag!r}, "
                              f"expected {FORMAT!r})")
    if payload.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{label}: format version {payload.get('format_version')!r} is not "
                              f"supported (this code reads {FORMAT_VERSION})")
    arch = payload.get("arch", "released")
    if arch not in ARCHS:
        raise CheckpointError(f"{label}: unknown architecture {arch!r} (this code knows {', '.join(ARCHS)})")
    state = payload.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(f"{label}: no state_dict in the checkpoint")
    template = MaskGenerator(arch=arch).state_dict()
    missing = sorted(template.keys() - state.keys())
    extra = sorted(state.keys() - template.keys())
    if missing or extra:
        raise CheckpointError(f"{label}: state_dict does not fit MaskGenerator "
                              f"(missing: {', '.join(missing) or '-'}; unexpected: {', '.join(extra) or '-'})")
    for k, v in template.items():
        if not isinstance(state[k], torch.Tensor) or state[k].shape != v.shape:
            got = tuple(state[k].shape) if isinstance(state[k], torch.Tensor) else type(state[k]).__name__
            raise CheckpointError(f"{label}: {k} has shape {got}, expected {tuple(v.shape)}")
    meta = payload.get("meta")
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "arch": arch,
        "state_dict": state,
        "meta": meta if isinstance(meta, dict) else {},
        "optimizer": payload.get("optimizer"),
        "step": payload.get("step"),
    }


def load_checkpoint(path) -> tuple[MaskGenerator, dict]:
    """Load a mask generator saved by :func:`save_checkpoint`.

    Parameters
    ----------
    path : str or path

    Returns
    -------
    model : MaskGenerator
        In eval mode, on the CPU.
    meta : dict
        The ``meta`` given when saving.

    Raises
    ------
    CheckpointError
        (a ``ValueError``) As :func:`read_checkpoint`.

    Examples
    --------
    >>> import tempfile, os
    >>> net = MaskGenerator()
    >>> f = os.path.join(tempfile.mkdtemp(), "net.pt")
    >>> _ = save_checkpoint(f, net, meta={"note": "example"})
    >>> net2, meta = load_checkpoint(f)
    >>> meta
    {'note': 'example'}
    """
    ckpt = read_checkpoint(path)
    model = MaskGenerator(arch=ckpt["arch"])
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), ckpt["meta"]
