"""TensorFlow's TensorBundle checkpoint format, read without TensorFlow.

A TensorFlow 1/2 checkpoint ``PREFIX`` is a bundle of files:

``PREFIX.index``
    A LevelDB-style sorted string table (SSTable). Data blocks hold prefix-compressed
    ``key -> value`` entries with restart points; an index block points to the data
    blocks; a 48-byte footer holds the handles of the metaindex and index blocks and
    the magic number ``0xdb4775248b80fb57``. Every block is followed by a compression
    type byte and the masked CRC-32C of block and type byte. The empty key holds a
    ``BundleHeaderProto`` (number of shards, endianness); every other key is a variable
    name whose value is a ``BundleEntryProto`` (dtype, shape, shard, offset, size,
    CRC-32C of the bytes).
``PREFIX.data-0000S-of-0000N``
    The raw tensor bytes, one shard per file.
``PREFIX.meta``
    The serialised graph; not needed to restore the weights.

:func:`read_tensor_bundle` decodes the index and checks every CRC: block checksums
always, tensor checksums unless told not to. CRC-32C comes from the maintained
``google-crc32c`` package (Google's C implementation). The two protobuf messages are
decoded with a minimal wire-format parser (varints, fixed32/64, length-delimited
fields): that is all the two messages use, and it spares a dependency on ``protobuf``
and TensorFlow's ``.proto`` files.

Blocks must be uncompressed (type 0). LevelDB also allows snappy (type 1), but
TensorFlow's ``BundleWriter`` writes its index with ``kNoCompression``, and we measured
that every block of the four indexes of the authors' release is type 0
(``tests/test_tensorbundle.py::test_release_blocks_are_uncompressed``), so no snappy
decoder is kept; a compressed block is refused with a one-line error.

Every failure (missing, truncated or foreign file, unsupported feature, CRC mismatch)
raises :class:`CheckpointError`, a ``ValueError`` whose one-line message names the
file and the problem; every checkpoint reader of the package raises it.

References
----------
TensorFlow, ``tensorflow/core/util/tensor_bundle/tensor_bundle.{h,cc}`` and
``tensor_bundle.proto``; LevelDB, ``doc/table_format.md``; RFC 3720, B.4 (CRC-32C).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import google_crc32c
import numpy as np

__all__ = ["CheckpointError", "read_tensor_bundle", "crc32c", "masked_crc32c"]


class CheckpointError(ValueError):
    """A checkpoint could not be read: missing, truncated, foreign or inconsistent."""


class _Corrupt(Exception):
    """Internal: a format violation, turned into a CheckpointError naming the file."""


# ----------------------------------------------------------------------------- CRC-32C


def crc32c(data: bytes | bytearray | memoryview) -> int:
    """CRC-32C (Castagnoli) of ``data``, by ``google-crc32c``.

    >>> hex(crc32c(b"123456789"))  # the standard check value
    '0xe3069283'
    """
    return google_crc32c.value(bytes(data))


def _mask_crc(crc: int) -> int:
    """LevelDB/TensorFlow's masked CRC: rotate right by 15 bits, add a constant."""
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def masked_crc32c(data: bytes | bytearray | memoryview) -> int:
    """The masked CRC-32C that SSTable blocks and bundle entries store."""
    return _mask_crc(crc32c(data))


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


# ----------------------------------------------------------------------------- SSTable

_TABLE_MAGIC = 0xDB4775248B80FB57
_FOOTER_SIZE = 48  # two block handles padded to 40 bytes, then the 8-byte magic
_BLOCK_TRAILER = 5  # compression type byte + masked CRC-32C
_SNAPPY = 1  # LevelDB's compression type for snappy


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
    actual = masked_crc32c(table[offset:offset + size + 1])
    if stored != actual:
        raise _Corrupt(f"{what} checksum mismatch (stored {stored:#010x}, computed {actual:#010x})")
    if ctype == 0:
        return contents
    kind = " (snappy)" if ctype == _SNAPPY else ""
    raise _Corrupt(f"{what} uses compression type {ctype}{kind}, which this reader cannot decode "
                   f"(supported: 0, none, which TensorFlow's bundle writer uses)")


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
            actual = masked_crc32c(raw)
            if actual != e.crc32c:
                raise _Corrupt(f"checksum mismatch for {name!r} (stored {e.crc32c:#010x}, "
                               f"computed {actual:#010x}): the data file is corrupt or not this "
                               f"index's")
        out[name] = np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="), copy=True).reshape(e.shape)
    if wanted is not None and wanted - out.keys():
        raise _Corrupt(f"tensor(s) not in the bundle: {', '.join(sorted(wanted - out.keys()))}")
    return out


def read_tensor_bundle(index, data, *, names=None, verify_crc: bool = True,
                       label: str | None = None) -> dict[str, np.ndarray]:
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
    label : str, optional
        Names the source in error messages; default the index path (or
        ``<index bytes>``).

    Returns
    -------
    dict of str to ndarray
        Tensor name -> array with the stored dtype (native byte order) and shape, in
        the index's (sorted) order.

    Raises
    ------
    CheckpointError
        (a ``ValueError``) If a file cannot be read, is not a TensorBundle, is truncated
        or corrupt, uses an unsupported feature (compressed blocks, string tensors,
        partitioned variables), or lacks a requested tensor.
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
    index_bytes, index_label = _as_bytes(index, "index")
    label = index_label if label is None else label
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


