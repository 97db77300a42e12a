"""The authors' released weights: their TensorFlow 1 checkpoint mapped onto our MaskGenerator.

The authors released ``checkpoint.zip`` with ``CGAN_84/CGAN.model-614..617.{index,
data-00000-of-00001,meta}``: TensorFlow 1 TensorBundle checkpoints, read by
:mod:`smfuse.runtime.tensorbundle`. :func:`load_official` maps the variables onto
:class:`~smfuse.method.network.MaskGenerator`:

========================  =====================  ==========================
authors' variable         shape (HWIO)           ours
========================  =====================  ==========================
``w1..w4``, ``b1..b4``    (3, 3, I, 16), (16,)   ``branch1.conv1..conv4``
``w1_vi..``, ``b1_vi..``  same                   ``branch2.conv1..conv4``
``w5..w7``, ``b5..b7``    (1, 1, I, O), (1,)     ``dec1..dec3`` (scalar bias)
========================  =====================  ==========================

Branch 1 takes the first source (the authors' ``Train_ir``), branch 2 the second
(``Train_vi``). Kernels go from HWIO to torch's OIHW with ``permute(3, 2, 0, 1)``; no
flip (both frameworks compute a cross-correlation). Other variables (optimiser slots,
step counters) are ignored. Variables are matched on the last component of their name
(``fusion_model/layer1/w1`` -> ``w1``).

The checkpoint can be given as the zip, a folder holding the unzipped files, or one
prefix such as ``CGAN_84/CGAN.model-617``. Where the release lies in the data folder,
and the ``authors:PATH[@EPOCH]`` weights spec, belong to :mod:`smfuse.runtime.weights`.

Every failure raises :class:`~smfuse.runtime.tensorbundle.CheckpointError` (a ``ValueError``)
with a one-line message naming the file and the problem.
"""

from __future__ import annotations

import io
import os
import re
import zipfile
import zlib
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch

from smfuse.method.network import MaskGenerator
from smfuse.runtime.tensorbundle import CheckpointError, read_tensor_bundle

__all__ = ["OFFICIAL_VARIABLES", "CheckpointError", "list_official_epochs", "official_state_dict",
           "load_official", "is_official_zip"]

_INDEX_RE = re.compile(r"^(?P<prefix>(?:.*/)?[^/]*-(?P<epoch>\d+))\.index$")
_SHARD_RE = re.compile(r"\.data-(?P<shard>\d{5})-of-(?P<n>\d{5})$")


def _official_names() -> dict[str, str]:
    names = {}
    for branch, suffix in (("branch1", ""), ("branch2", "_vi")):
        for i in range(1, 5):
            names[f"{branch}.conv{i}.weight"] = f"w{i}{suffix}"
            names[f"{branch}.conv{i}.bias"] = f"b{i}{suffix}"
    for i in range(1, 4):
        names[f"dec{i}.weight"] = f"w{i + 4}"
        names[f"dec{i}.bias"] = f"b{i + 4}"
    return names


OFFICIAL_VARIABLES: dict[str, str] = _official_names()
"""Our parameter name -> the authors' variable name (last component of the TF name)."""


class _OfficialSource:
    """The bundles (one per epoch) of the authors' checkpoint: a zip, folder or prefix."""

    def __init__(self, path) -> None:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(f"path must be a str or path, got {type(path).__name__}")
        self.path = Path(path)
        self.label = str(path)
        self.zip: zipfile.ZipFile | None = None
        files: list[str]
        p = self.path
        if p.is_file() and p.suffix != ".index":
            try:
                self.zip = zipfile.ZipFile(p)
            except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
                raise CheckpointError(f"{self.label}: not a readable zip archive ({e})") from None
            files = [n for n in self.zip.namelist() if not n.endswith("/")]
        elif p.is_dir():
            files = [q.relative_to(p).as_posix() for q in sorted(p.rglob("*")) if q.is_file()]
        else:
            prefix = p.with_name(p.name[:-len(".index")]) if p.suffix == ".index" else p
            if not Path(f"{prefix}.index").is_file():
                raise CheckpointError(
                    f"{self.label}: no such checkpoint (expected the authors' checkpoint.zip, a "
                    f"folder holding PREFIX.index files, or a prefix PREFIX with PREFIX.index "
                    f"beside it)")
            self.path = prefix.parent
            files = [q.name for q in sorted(prefix.parent.iterdir())
                     if q.name.startswith(prefix.name + ".")]
        self.bundles: dict[int, str] = {}
        for f in files:
            m = _INDEX_RE.match(f)
            if m:
                epoch = int(m.group("epoch"))
                if epoch in self.bundles:
                    raise CheckpointError(f"{self.label}: epoch {epoch} appears twice "
                                          f"({self.bundles[epoch]}, {m.group('prefix')})")
                self.bundles[epoch] = m.group("prefix")
        self.files = files
        if not self.bundles:
            raise CheckpointError(f"{self.label}: no checkpoint PREFIX-EPOCH.index file in it")

    def _read(self, name: str) -> bytes:
        try:
            if self.zip is not None:
                return self.zip.read(name)
            return (self.path / name).read_bytes()
        except (zipfile.BadZipFile, EOFError, zlib.error, OSError, KeyError, ValueError) as e:
            raise CheckpointError(f"{self.label}: cannot read {name} ({e})") from None

    def tensors(self, epoch: int | None, names=None, verify_crc: bool = True):
        """(epoch, label, tensors) of one epoch, default the newest."""
        if epoch is None:
            epoch = max(self.bundles)
        if epoch not in self.bundles:
            raise CheckpointError(f"{self.label}: no epoch {epoch}; available: "
                                  f"{', '.join(map(str, sorted(self.bundles)))}")
        prefix = self.bundles[epoch]
        shards = {}
        for f in self.files:
            if f.startswith(prefix + ".data-"):
                m = _SHARD_RE.search(f)
                if m:
                    shards[int(m.group("shard"))] = f
        if not shards:
            raise CheckpointError(f"{self.label}: {prefix}.data-00000-of-00001 is missing")
        if sorted(shards) != list(range(len(shards))):
            raise CheckpointError(f"{self.label}: data shards of {prefix} are incomplete")
        label = f"{self.label}[{prefix}]" if self.zip is not None else str(self.path / prefix)
        index = self._read(prefix + ".index")
        data = [self._read(shards[i]) for i in range(len(shards))]
        return epoch, label, read_tensor_bundle(index, data, names=names, verify_crc=verify_crc, label=label)

    def close(self) -> None:
        if self.zip is not None:
            self.zip.close()


def list_official_epochs(path) -> list[int]:
    """Epochs available in the authors' checkpoint.

    Parameters
    ----------
    path : str or path
        The authors' ``checkpoint.zip``, a folder holding unzipped ``PREFIX-EPOCH.index``
        files (searched recursively), or one prefix such as ``CGAN_84/CGAN.model-617``
        (then only that prefix's epoch is listed).

    Returns
    -------
    list of int
        Sorted epochs, e.g. ``[614, 615, 616, 617]`` for the release.

    Raises
    ------
    CheckpointError
        If the path does not exist, is not a readable zip, or holds no checkpoint.
    """
    src = _OfficialSource(path)
    try:
        return sorted(src.bundles)
    finally:
        src.close()


def official_state_dict(tensors: Mapping[str, np.ndarray], *, label: str = "checkpoint") -> dict[str, torch.Tensor]:
    """Map the authors' variables onto :class:`MaskGenerator`'s state dict.

    Parameters
    ----------
    tensors : mapping of str to ndarray
        Tensors by full TensorFlow name (as from :func:`read_tensor_bundle`); matched on
        the last name component; other variables (optimiser slots ...) are ignored.
    label : str
        Names the source in error messages.

    Returns
    -------
    dict of str to tensor
        float32 tensors in torch layout (kernels OIHW), ready for ``load_state_dict``.

    Raises
    ------
    CheckpointError
        If a needed variable is missing, ambiguous, not floating point, non-finite or of
        the wrong shape.
    """
    by_base: dict[str, list[str]] = {}
    for full in tensors:
        by_base.setdefault(full.rsplit("/", 1)[-1], []).append(full)
    template = MaskGenerator().state_dict()
    missing = [tf for tf in OFFICIAL_VARIABLES.values() if tf not in by_base]
    if missing:
        raise CheckpointError(f"{label}: variable(s) missing: {', '.join(missing)} "
                              f"(the bundle holds {len(tensors)} tensors)")
    out = {}
    for ours, tf in OFFICIAL_VARIABLES.items():
        if len(by_base[tf]) > 1:
            raise CheckpointError(f"{label}: variable {tf} is ambiguous: {', '.join(by_base[tf])}")
        full = by_base[tf][0]
        arr = np.asarray(tensors[full])
        shape = tuple(template[ours].shape)
        expected = (shape[2], shape[3], shape[1], shape[0]) if len(shape) == 4 else shape  # HWIO
        if arr.shape != expected:
            raise CheckpointError(f"{label}: variable {full} has shape {arr.shape}, expected "
                                  f"{expected} for {ours}")
        if arr.dtype.kind != "f":
            raise CheckpointError(f"{label}: variable {full} has dtype {arr.dtype}, expected float32")
        if not np.isfinite(arr).all():
            raise CheckpointError(f"{label}: variable {full} holds NaN or infinite values")
        t = torch.from_numpy(np.ascontiguousarray(arr, dtype=np.float32))
        if t.ndim == 4:
            t = t.permute(3, 2, 0, 1).contiguous()  # HWIO -> OIHW, no flip
        out[ours] = t
    return out


def load_official(path, epoch: int | None = None, *, verify_crc: bool = True) -> MaskGenerator:
    """The authors' released mask generator, from their TensorFlow 1 checkpoint.

    Parameters
    ----------
    path : str or path
        ``checkpoint.zip`` as released, a folder with the unzipped files, or one
        checkpoint prefix (``CGAN_84/CGAN.model-617``; the ``.index`` path works too).
    epoch : int, optional
        Which epoch (614..617 in the release); default the newest in ``path``. With a
        prefix it must be the prefix's own epoch.
    verify_crc : bool
        Check every tensor's CRC-32C.

    Returns
    -------
    MaskGenerator
        In eval mode, float32, on the CPU.

    Raises
    ------
    CheckpointError
        (a ``ValueError``) If the file is missing, truncated or corrupt, the epoch is
        not there, or a variable is missing or of the wrong shape.

    Notes
    -----
    The release's newest epoch is 617 (about 750k iterations); the authors' test
    script names epoch 568, which was not released.

    Examples
    --------
    >>> net = load_official("checkpoint.zip")  # doctest: +SKIP
    >>> sum(p.numel() for p in net.parameters())  # doctest: +SKIP
    38339
    """
    if epoch is not None and (isinstance(epoch, bool) or not isinstance(epoch, (int, np.integer)) or epoch < 0):
        raise ValueError(f"epoch must be a non-negative int or None, got {epoch!r}")
    src = _OfficialSource(path)
    try:
        _, label, tensors = src.tensors(None if epoch is None else int(epoch), verify_crc=verify_crc)
    finally:
        src.close()
    model = MaskGenerator()
    model.load_state_dict(official_state_dict(tensors, label=label))
    return model.eval()



def is_official_zip(raw: bytes) -> bool:
    """Whether ``raw`` is a zip archive holding a ``PREFIX-EPOCH.index`` file (the authors' release)."""
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            return any(_INDEX_RE.match(n) for n in z.namelist())
    except Exception:
        return False
