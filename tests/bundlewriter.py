"""Test helper: a minimal TensorBundle writer, independent of the reader.

SSTable blocks with prefix-compressed keys and restart points, hand-encoded protobuf
entries, and optionally snappy blocks (literals only), so that the reader in
:mod:`smfuse.runtime.tensorbundle` is checked against the format, not against itself. Only the
masked CRC-32C is shared with the reader (itself checked against published vectors).
"""

import os
import zipfile

import numpy as np

from smfuse.method.network import MaskGenerator
from smfuse.runtime.official import OFFICIAL_VARIABLES
from smfuse.runtime.tensorbundle import masked_crc32c


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _ld(field: int, payload: bytes) -> bytes:  # length-delimited protobuf field
    return _varint(field << 3 | 2) + _varint(len(payload)) + payload


_TF_DTYPE = {np.dtype("float32"): 1, np.dtype("float64"): 2, np.dtype("int32"): 3, np.dtype("int64"): 9}


def _entry(arr: np.ndarray, offset: int, *, crc: bool = True, dtype: int | None = None) -> bytes:
    shape = b"".join(_ld(2, b"\x08" + _varint(d)) for d in arr.shape)
    raw = arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    msg = b"\x08" + _varint(dtype or _TF_DTYPE[arr.dtype]) + _ld(2, shape)
    msg += b"\x20" + _varint(offset) + b"\x28" + _varint(len(raw))
    if crc:
        msg += b"\x35" + masked_crc32c(raw).to_bytes(4, "little")
    return msg


def _block(entries, restart_interval=2) -> bytes:
    out, restarts, prev = bytearray(), [], b""
    for i, (k, v) in enumerate(entries):
        if i % restart_interval == 0:
            restarts.append(len(out))
            shared = 0
        else:
            shared = len(os.path.commonprefix([prev, k]))
        out += _varint(shared) + _varint(len(k) - shared) + _varint(len(v)) + k[shared:] + v
        prev = k
    restarts = restarts or [0]
    for r in restarts:
        out += r.to_bytes(4, "little")
    return bytes(out + len(restarts).to_bytes(4, "little"))


def _snappy_literals(data: bytes) -> bytes:
    out = bytearray(_varint(len(data)))
    for i in range(0, len(data), 256):
        chunk = data[i:i + 256]
        out += bytes([60 << 2, len(chunk) - 1]) + chunk
    return bytes(out)


def _table(entries, *, ctype: int = 0) -> bytes:
    out = bytearray()

    def put(block: bytes, t: int = 0) -> bytes:
        body = _snappy_literals(block) if t == 1 else block
        handle = _varint(len(out)) + _varint(len(body))
        out.extend(body + bytes([t]) + masked_crc32c(body + bytes([t])).to_bytes(4, "little"))
        return handle

    data_handle = put(_block(entries), ctype)
    meta_handle = put(_block([]))
    index_handle = put(_block([(entries[-1][0] + b"\xff", data_handle)]))
    footer = (meta_handle + index_handle).ljust(40, b"\0") + (0xDB4775248B80FB57).to_bytes(8, "little")
    return bytes(out + footer)


def make_bundle(tensors: dict, *, ctype: int = 0, crc: bool = True) -> tuple[bytes, bytes]:
    """(index, data) of a one-shard TensorBundle holding ``tensors``."""
    entries = [(b"", b"\x08\x01" + _ld(3, b"\x08\x01"))]  # num_shards 1, version.producer 1
    data = bytearray()
    for name in sorted(tensors):
        arr = np.asarray(tensors[name])
        entries.append((name.encode(), _entry(arr, len(data), crc=crc)))
        data += arr.astype(arr.dtype.newbyteorder("<")).tobytes()
    return _table(entries, ctype=ctype), bytes(data)


def official_like(net: MaskGenerator, *, prefix="fusion_model") -> dict:
    """The authors' variable layout (HWIO kernels) for the weights of ``net``."""
    out = {}
    sd = net.state_dict()
    for ours, tf in OFFICIAL_VARIABLES.items():
        t = sd[ours].numpy()
        out[f"{prefix}/layer{tf[1:]}/{tf}"] = t.transpose(2, 3, 1, 0) if t.ndim == 4 else t
    return out


def write_official_zip(path, tensors_by_epoch: dict) -> None:
    with zipfile.ZipFile(path, "w") as z:
        for epoch, tensors in tensors_by_epoch.items():
            index, data = make_bundle(tensors)
            z.writestr(f"CGAN_84/CGAN.model-{epoch}.index", index)
            z.writestr(f"CGAN_84/CGAN.model-{epoch}.data-00000-of-00001", data)
