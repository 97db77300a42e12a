"""Checkpoints: the authors' TensorFlow 1 release, read without TensorFlow, and our own.

The authors' checkpoint
-----------------------
The authors released ``checkpoint.zip`` with ``CGAN_84/CGAN.model-614..617.{index,
data-00000-of-00001,meta}``: TensorFlow 1 "TensorBundle" checkpoints. A bundle is

``PREFIX.index``
    A LevelDB-style sorted string table (SSTable). Data blocks hold prefix-compressed
    ``key -> value`` entries with restart points; an index block points to the data
    blocks; a 48-byte footer holds the handles of the metaindex and index blocks and
    the magic number ``0xdb4775248b80fb57``. Every block is followed by a compression
    type byte (0 none, 1 snappy) and the masked CRC-32C of block and type byte. The
    empty key holds a ``BundleHeaderProto`` (number of shards, endianness); every other
    key is a variable name whose value is a ``BundleEntryProto`` (dtype, shape, shard,
    offset, size, CRC-32C of the bytes).
``PREFIX.data-0000S-of-0000N``
    The raw tensor bytes, one shard per file.
``PREFIX.meta``
    The serialised graph; not needed to restore the weights.

:func:`read_tensor_bundle` decodes all of this with the standard library and numpy
(protobuf wire format decoded by hand, snappy blocks decompressed in pure Python), and
checks every CRC. :func:`load_official` maps the variables onto :class:`MaskGenerator`:

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

Our checkpoints
---------------
:func:`save_checkpoint` writes, with ``torch.save`` and atomically (temporary file in
the same folder, then ``os.replace``), a dict::

    {"format": "smfuse.MaskGenerator", "format_version": 1,
     "state_dict": ..., "meta": {...}, "optimizer": state dict or None, "step": int or None}

:func:`load_checkpoint` reads it back (``weights_only`` unpickling: no code runs);
:func:`read_checkpoint` gives the whole validated dict (to resume training).

Weight specifications
---------------------
:func:`load_weights` takes one string, as a command line would:

``official``, ``official@EPOCH``
    The authors' ``checkpoint.zip`` in the data folder (:func:`smfuse.data.data_root`),
    newest epoch (617) unless ``@EPOCH`` names one.
``official:PATH``, ``official:PATH@EPOCH``
    The authors' checkpoint at ``PATH``: their zip, a folder holding the unzipped
    files, or one checkpoint prefix such as ``CGAN_84/CGAN.model-617``. A trailing
    ``@`` and digits always names the epoch.
``PATH``
    A checkpoint written by :func:`save_checkpoint`.

Every failure to read a checkpoint (missing file, truncated or foreign file, missing
variable, wrong shape, CRC mismatch) raises :class:`CheckpointError`, a ``ValueError``
whose one-line message names the file and the problem.
"""

from __future__ import annotations

import io
import math
import os
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from .io import atomic_path
from .model import MaskGenerator

__all__ = [
    "CheckpointError",
    "read_tensor_bundle",
    "list_official_epochs",
    "load_official",
    "official_state_dict",
    "save_checkpoint",
    "read_checkpoint",
    "load_checkpoint",
    "load_weights",
    "OFFICIAL_VARIABLES",
    "FORMAT",
    "FORMAT_VERSION",
]

FORMAT = "smfuse.MaskGenerator"
FORMAT_VERSION = 1
OFFICIAL_ZIP = Path("smfuse_official") / "checkpoint.zip"  # relative to data_root()


class CheckpointError(ValueError):
    """A checkpoint could not be read: missing, truncated, foreign or inconsistent."""


class _Corrupt(Exception):
    """Internal: a format violation, turned into a CheckpointError naming the file."""


# ----------------------------------------------------------------------------- CRC-32C


def _crc_table() -> list[int]:
    poly = 0x82F63B78  # Castagnoli, reflected
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    return table


_CRC_TABLE = _crc_table()


def _crc32c(data: bytes | bytearray | memoryview) -> int:
    """CRC-32C (Castagnoli) of ``data``; ``_crc32c(b"123456789") == 0xE3069283``."""
    t = _CRC_TABLE
    crc = 0xFFFFFFFF
    for byte in bytes(data):
        crc = t[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ 0xFFFFFFFF


def _mask_crc(crc: int) -> int:
    """LevelDB/TensorFlow's masked CRC: rotate right by 15 bits, add a constant."""
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


# ----------------------------------------------------------------------------- wire formats


def _varint(buf: bytes, pos: int, what: str) -> tuple[int, int]:
    """Decode a base-128 varint at ``pos``; return (value, next position)."""
    result = shift = 0
    for i in range(10):
        if pos + i >= len(buf):
            raise _Corrupt(f"truncated varint in {what}")
        byte = buf[pos + i]
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos + i + 1
        shift += 7
    raise _Corrupt(f"varint longer than 10 bytes in {what}")


def _u32(buf: bytes, pos: int, what: str) -> int:
    if pos < 0 or pos + 4 > len(buf):
        raise _Corrupt(f"truncated {what}")
    return int.from_bytes(buf[pos:pos + 4], "little")


def _proto_fields(buf: bytes, what: str) -> dict[int, list]:
    """Decode one protobuf message into ``{field number: [values]}``.

    Varints (wire type 0) and fixed32/fixed64 (5/1) become ints, length-delimited
    fields (2) bytes; groups (3/4) are refused.
    """
    fields: dict[int, list] = {}
    pos = 0
    while pos < len(buf):
        tag, pos = _varint(buf, pos, what)
        number, wire = tag >> 3, tag & 7
        if number == 0:
            raise _Corrupt(f"field number 0 in {what}")
        if wire == 0:
            value, pos = _varint(buf, pos, what)
        elif wire == 1:
            if pos + 8 > len(buf):
                raise _Corrupt(f"truncated fixed64 in {what}")
            value, pos = int.from_bytes(buf[pos:pos + 8], "little"), pos + 8
        elif wire == 2:
            n, pos = _varint(buf, pos, what)
            if pos + n > len(buf):
                raise _Corrupt(f"truncated length-delimited field {number} in {what}")
            value, pos = bytes(buf[pos:pos + n]), pos + n
        elif wire == 5:
            value, pos = _u32(buf, pos, f"fixed32 in {what}"), pos + 4
        else:
            raise _Corrupt(f"unsupported protobuf wire type {wire} (field {number}) in {what}")
        fields.setdefault(number, []).append(value)
    return fields


def _last(fields: dict[int, list], number: int, default):
    """Protobuf semantics for a singular field: the last occurrence wins."""
    return fields[number][-1] if number in fields else default


def _int64(v: int) -> int:
    """A varint read as int64 (two's complement for negative values)."""
    return v - (1 << 64) if v >= 1 << 63 else v


def _snappy_decompress(buf: bytes) -> bytes:
    """Decompress one raw snappy block (the format LevelDB tables use)."""
    n, pos = _varint(buf, 0, "snappy preamble")
    out = bytearray()
    while pos < len(buf):
        tag = buf[pos]
        pos += 1
        kind = tag & 3
        if kind == 0:  # literal
            length = tag >> 2
            if length >= 60:
                extra = length - 59
                if pos + extra > len(buf):
                    raise _Corrupt("truncated snappy literal length")
                length = int.from_bytes(buf[pos:pos + extra], "little")
                pos += extra
            length += 1
            if pos + length > len(buf):
                raise _Corrupt("truncated snappy literal")
            out += buf[pos:pos + length]
            pos += length
            continue
        if kind == 1:  # copy, 1-byte offset
            if pos + 1 > len(buf):
                raise _Corrupt("truncated snappy copy")
            length = ((tag >> 2) & 7) + 4
            offset = ((tag >> 5) << 8) | buf[pos]
            pos += 1
        else:  # copy, 2- or 4-byte offset
            width = 2 if kind == 2 else 4
            if pos + width > len(buf):
                raise _Corrupt("truncated snappy copy")
            length = (tag >> 2) + 1
            offset = int.from_bytes(buf[pos:pos + width], "little")
            pos += width
        if offset == 0 or offset > len(out):
            raise _Corrupt(f"snappy copy offset {offset} outside the {len(out)} bytes decoded")
        start = len(out) - offset
        for i in range(length):  # may overlap its own output (run-length style)
            out.append(out[start + i])
    if len(out) != n:
        raise _Corrupt(f"snappy block decodes to {len(out)} bytes, its header says {n}")
    return bytes(out)


# ----------------------------------------------------------------------------- SSTable

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48  # two block handles padded to 40 bytes, then the 8-byte magic
_BLOCK_TRAILER = 5  # compression type byte + masked CRC-32C
_COMPRESSION = {0: "none", 1: "snappy"}


def _block_handle(buf: bytes, pos: int, what: str) -> tuple[int, int, int]:
    offset, pos = _varint(buf, pos, what)
    size, pos = _varint(buf, pos, what)
    return offset, size, pos


def _read_block(table: bytes, offset: int, size: int, what: str) -> bytes:
    end = len(table) - _FOOTER_SIZE
    if offset + size + _BLOCK_TRAILER > end:
        raise _Corrupt(f"{what} (offset {offset}, size {size}) runs past the end of the table")
    contents = table[offset:offset + size]
    ctype = table[offset + size]
    stored = _u32(table, offset + size + 1, f"{what} checksum")
    actual = _mask_crc(_crc32c(table[offset:offset + size + 1]))
    if stored != actual:
        raise _Corrupt(f"{what} checksum mismatch (stored {stored:#010x}, computed {actual:#010x})")
    if ctype == 0:
        return contents
    if ctype == 1:
        return _snappy_decompress(contents)
    raise _Corrupt(f"{what} uses compression type {ctype}, which this reader cannot decode "
                   f"(supported: {', '.join(f'{k} {v}' for k, v in _COMPRESSION.items())})")


def _block_entries(block: bytes, what: str) -> list[tuple[bytes, bytes]]:
    """The (key, value) entries of one block, undoing the prefix compression."""
    if len(block) < 4:
        raise _Corrupt(f"{what} is shorter than its restart count")
    num_restarts = _u32(block, len(block) - 4, f"{what} restart count")
    limit = len(block) - 4 - 4 * num_restarts
    if limit < 0:
        raise _Corrupt(f"{what} claims {num_restarts} restart points, more than fit in it")
    restarts = {_u32(block, limit + 4 * i, f"{what} restart point") for i in range(num_restarts)}
    entries = []
    key = b""
    pos = 0
    while pos < limit:
        entry_pos = pos
        shared, pos = _varint(block, pos, what)
        unshared, pos = _varint(block, pos, what)
        vlen, pos = _varint(block, pos, what)
        if entry_pos in restarts and shared != 0:
            raise _Corrupt(f"{what}: entry at restart point {entry_pos} shares a key prefix")
        if shared > len(key) or pos + unshared + vlen > limit:
            raise _Corrupt(f"{what}: entry at byte {entry_pos} is inconsistent with the block")
        key = key[:shared] + block[pos:pos + unshared]
        pos += unshared
        entries.append((bytes(key), bytes(block[pos:pos + vlen])))
        pos += vlen
    return entries


def _read_table(table: bytes) -> list[tuple[bytes, bytes]]:
    """All (key, value) pairs of an SSTable, in stored order."""
    if len(table) < _FOOTER_SIZE:
        raise _Corrupt(f"{len(table)} bytes, too short for a table footer ({_FOOTER_SIZE} bytes)")
    magic = int.from_bytes(table[-8:], "little")
    if magic != _TABLE_MAGIC:
        raise _Corrupt(f"not an SSTable (magic number {magic:#018x}, expected {_TABLE_MAGIC:#018x})")
    footer = table[-_FOOTER_SIZE:]
    _, _, pos = _block_handle(footer, 0, "footer")  # metaindex: no filters needed
    index_off, index_size, _ = _block_handle(footer, pos, "footer")
    index = _read_block(table, index_off, index_size, "index block")
    out = []
    for i, (_, handle) in enumerate(_block_entries(index, "index block")):
        off, size, _ = _block_handle(handle, 0, "index entry")
        out += _block_entries(_read_block(table, off, size, f"data block {i}"), f"data block {i}")
    return out


# ----------------------------------------------------------------------------- TensorBundle

# TensorFlow DataType enum -> numpy dtype (little-endian); strings and variants unsupported.
_TF_DTYPES = {
    1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8",
    9: "int64", 10: "bool", 17: "uint16", 19: "float16", 22: "uint32", 23: "uint64",
}


@dataclass(frozen=True)
class _BundleEntry:
    dtype: int
    shape: tuple[int, ...]
    shard_id: int
    offset: int
    size: int
    crc32c: int | None
    sliced: bool


def _parse_entry(value: bytes, name: str) -> _BundleEntry:
    what = f"entry of {name!r}"
    f = _proto_fields(value, what)
    dims: list[int] = []
    shape_msg = _proto_fields(_last(f, 2, b""), f"shape of {name!r}")
    if _last(shape_msg, 3, 0):
        raise _Corrupt(f"{name!r} has an unknown rank")
    for dim in shape_msg.get(2, []):
        size = _int64(_last(_proto_fields(dim, f"shape of {name!r}"), 1, 0))
        if size < 0:
            raise _Corrupt(f"{name!r} has an unknown dimension ({size})")
        dims.append(size)
    crc = _last(f, 6, None)
    return _BundleEntry(dtype=_last(f, 1, 0), shape=tuple(dims), shard_id=_last(f, 3, 0),
                        offset=_int64(_last(f, 4, 0)), size=_int64(_last(f, 5, 0)),
                        crc32c=crc, sliced=7 in f)


def _as_bytes(src, what: str) -> tuple[bytes, str]:
    """(contents, label) of a bytes-like object or a path."""
    if isinstance(src, (bytes, bytearray, memoryview)):
        return bytes(src), f"<{what} bytes>"
    if isinstance(src, (str, os.PathLike)):
        try:
            return Path(src).read_bytes(), str(src)
        except OSError as e:
            raise CheckpointError(f"{src}: cannot read the {what} file ({e.strerror or e})") from None
    raise TypeError(f"{what} must be bytes or a path, got {type(src).__name__}")


def _decode_bundle(index: bytes, shards: Sequence[bytes], names, verify_crc: bool) -> dict[str, np.ndarray]:
    entries = _read_table(index)
    if not entries or entries[0][0] != b"":
        raise _Corrupt("no bundle header (the empty key); is this a TensorBundle .index file?")
    header = _proto_fields(entries[0][1], "bundle header")
    num_shards = _last(header, 1, 0)
    big_endian = _last(header, 2, 0) == 1
    if num_shards != len(shards):
        raise _Corrupt(f"the bundle has {num_shards} data shard(s), {len(shards)} given")
    wanted = None if names is None else set(names)
    out: dict[str, np.ndarray] = {}
    for key, value in entries[1:]:
        try:
            name = key.decode("utf-8")
        except UnicodeDecodeError:
            raise _Corrupt(f"tensor name {key!r} is not UTF-8") from None
        if wanted is not None and name not in wanted:
            continue
        e = _parse_entry(value, name)
        if e.sliced:
            raise _Corrupt(f"{name!r} is a partitioned (sliced) variable, which is not supported")
        if e.dtype not in _TF_DTYPES:
            raise _Corrupt(f"{name!r} has TensorFlow dtype {e.dtype}, which this reader cannot decode")
        dtype = np.dtype(_TF_DTYPES[e.dtype]).newbyteorder(">" if big_endian else "<")
        expected = math.prod(e.shape) * dtype.itemsize
        if e.size != expected:
            raise _Corrupt(f"{name!r}: {e.size} bytes stored for shape {e.shape} of {dtype.name} "
                           f"({expected} expected)")
        if not 0 <= e.shard_id < len(shards):
            raise _Corrupt(f"{name!r} lives in shard {e.shard_id}, not among the {len(shards)} given")
        data = shards[e.shard_id]
        if e.offset < 0 or e.offset + e.size > len(data):
            raise _Corrupt(f"{name!r} (bytes {e.offset}..{e.offset + e.size}) runs past the end of "
                           f"its {len(data)}-byte data file (truncated?)")
        raw = data[e.offset:e.offset + e.size]
        if verify_crc and e.crc32c is not None:
            actual = _mask_crc(_crc32c(raw))
            if actual != e.crc32c:
                raise _Corrupt(f"checksum mismatch for {name!r} (stored {e.crc32c:#010x}, "
                               f"computed {actual:#010x}): the data file is corrupt or not this "
                               f"index's")
        out[name] = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="), copy=True).reshape(e.shape)
    if wanted is not None and wanted - out.keys():
        raise _Corrupt(f"tensor(s) not in the bundle: {', '.join(sorted(wanted - out.keys()))}")
    return out


def read_tensor_bundle(index, data, *, names=None, verify_crc: bool = True) -> dict[str, np.ndarray]:
    """Read a TensorFlow TensorBundle checkpoint without TensorFlow.

    Parameters
    ----------
    index : bytes or path
        The ``PREFIX.index`` file or its contents.
    data : bytes or path, or a sequence of them
        The data shard(s), ``PREFIX.data-00000-of-00001`` ... in shard order.
    names : iterable of str, optional
        Read only these tensors (all must exist); default all.
    verify_crc : bool
        Check each tensor's stored CRC-32C (block checksums of the index are always
        checked).

    Returns
    -------
    dict of str to ndarray
        Tensor name -> array with the stored dtype (native byte order) and shape, in
        the index's (sorted) order.

    Raises
    ------
    CheckpointError
        (a ``ValueError``) If a file cannot be read, is not a TensorBundle, is truncated
        or corrupt, uses an unsupported feature (block compression other than none or
        snappy, string tensors, partitioned variables), or lacks a requested tensor.
    TypeError
        If ``index`` or ``data`` is neither bytes nor a path.

    Notes
    -----
    Every tensor's CRC-32C is stored masked, as LevelDB masks its block checksums.

    Examples
    --------
    >>> import numpy as np
    >>> tensors = read_tensor_bundle("CGAN.model-617.index",
    ...                              "CGAN.model-617.data-00000-of-00001")  # doctest: +SKIP
    >>> tensors["fusion_model/layer1/w1"].shape  # doctest: +SKIP
    (3, 3, 1, 16)
    """
    index_bytes, label = _as_bytes(index, "index")
    if isinstance(data, (list, tuple)):
        if not data:
            raise ValueError("data must name at least one shard")
        shards = [_as_bytes(d, "data")[0] for d in data]
    else:
        shards = [_as_bytes(data, "data")[0]]
    if names is not None:
        names = [names] if isinstance(names, str) else list(names)
    try:
        return _decode_bundle(index_bytes, shards, names, verify_crc)
    except _Corrupt as e:
        raise CheckpointError(f"{label}: {e}") from None


# ----------------------------------------------------------------------------- the authors' files

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
        try:
            return epoch, label, _decode_bundle(index, data, names, verify_crc)
        except _Corrupt as e:
            raise CheckpointError(f"{label}: {e}") from None

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
        ``format``, ``format_version``, ``state_dict`` (checked against
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
    if raw[:4] == b"PK\x03\x04" and _looks_like_official_zip(raw):
        raise CheckpointError(f"{label}: this is the authors' TensorFlow checkpoint; "
                              f"load it with 'official:{label}' or load_official()")
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
    state = payload.get("state_dict")
    if not isinstance(state, dict):
        raise CheckpointError(f"{label}: no state_dict in the checkpoint")
    template = MaskGenerator().state_dict()
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
        "state_dict": state,
        "meta": meta if isinstance(meta, dict) else {},
        "optimizer": payload.get("optimizer"),
        "step": payload.get("step"),
    }


def _looks_like_official_zip(raw: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as z:
            return any(_INDEX_RE.match(n) for n in z.namelist())
    except Exception:
        return False


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
    model = MaskGenerator()
    model.load_state_dict(ckpt["state_dict"])
    return model.eval(), ckpt["meta"]


_SPEC_RE = re.compile(r"^official(?::(?P<path>.*?))?(?:@(?P<epoch>\d+))?$", re.S)


def load_weights(spec) -> MaskGenerator:
    """A mask generator from a weight specification (as given on a command line).

    Parameters
    ----------
    spec : str or path
        ``official`` or ``official@EPOCH``: the authors' ``checkpoint.zip`` in the data
        folder (:func:`smfuse.data.data_root`); ``official:PATH`` or
        ``official:PATH@EPOCH``: the authors' checkpoint at ``PATH`` (zip, folder or
        prefix, see :func:`load_official`; a trailing ``@`` and digits always names the
        epoch, default the newest, 617); anything else: the path of a checkpoint saved
        by :func:`save_checkpoint`.

    Returns
    -------
    MaskGenerator
        In eval mode, on the CPU.

    Raises
    ------
    CheckpointError
        (a ``ValueError``) If the checkpoint is missing or unreadable, or ``official``
        is asked for without a data folder.
    TypeError
        If ``spec`` is neither a str nor a path.

    Examples
    --------
    >>> net = load_weights("official@617")  # doctest: +SKIP
    >>> net = load_weights("official:checkpoint.zip@614")  # doctest: +SKIP
    >>> net = load_weights("runs/code/final.pt")  # doctest: +SKIP
    """
    if isinstance(spec, os.PathLike):
        return load_checkpoint(spec)[0]
    if not isinstance(spec, str):
        raise TypeError(f"spec must be a str ('official', 'official:PATH[@EPOCH]' or a checkpoint "
                        f"path), got {type(spec).__name__}")
    m = _SPEC_RE.match(spec)
    if m is None:
        return load_checkpoint(spec)[0]
    path, epoch = m.group("path"), m.group("epoch")
    if path is None:
        from .data import data_root

        root = data_root()
        if root is None or not (root / OFFICIAL_ZIP).is_file():
            raise CheckpointError(f"{spec}: the authors' checkpoint ({OFFICIAL_ZIP.as_posix()}) is not "
                                  f"in a data folder; set SMFUSE_DATA or use 'official:PATH'")
        path = root / OFFICIAL_ZIP
    elif not path:
        raise CheckpointError(f"{spec}: empty path after 'official:'")
    return load_official(path, None if epoch is None else int(epoch))
