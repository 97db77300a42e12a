"""Tests of smfuse.runtime.tensorbundle: TensorFlow's TensorBundle format read without TensorFlow.

The synthetic bundles come from the independent writer in ``bundlewriter.py``.
"""

import zipfile

import numpy as np
import pytest

from bundlewriter import _block, _entry, _table, _varint, make_bundle
from datahelp import require
from smfuse.runtime.tensorbundle import CheckpointError, _mask_crc, crc32c, masked_crc32c, read_tensor_bundle


# ----------------------------------------------------------------------------- CRC-32C

def test_crc32c_known_vectors():
    assert crc32c(b"123456789") == 0xE3069283  # the standard check value
    assert crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720, B.4
    assert crc32c(b"\xff" * 32) == 0x62A8AB43
    assert crc32c(memoryview(b"123456789")) == 0xE3069283  # any bytes-like object
    assert _mask_crc(0) == 0xA282EAD8 == masked_crc32c(b"")


# ----------------------------------------------------------------------------- synthetic bundles

def test_bundle_round_trip_with_shared_prefixes_and_dtypes(rng):
    tensors = {
        "net/layer1/w1": rng.standard_normal((3, 3, 1, 16)).astype(np.float32),
        "net/layer1/b1": rng.standard_normal(16).astype(np.float32),
        "net/layer1_vi/w1_vi": rng.standard_normal((2, 5)).astype(np.float64),
        "net/step": np.array(123456789012, dtype=np.int64),
        "net/count": np.arange(7, dtype=np.int32),
    }
    index, data = make_bundle(tensors)
    out = read_tensor_bundle(index, data)
    assert list(out) == sorted(tensors)  # stored (sorted) order
    for name, arr in tensors.items():
        assert out[name].dtype == arr.dtype and out[name].shape == arr.shape
        np.testing.assert_array_equal(out[name], arr)
    assert out["net/step"].shape == () and int(out["net/step"]) == 123456789012
    only = read_tensor_bundle(index, data, names=["net/count"])
    assert list(only) == ["net/count"]
    with pytest.raises(CheckpointError, match="not in the bundle: net/nope"):
        read_tensor_bundle(index, data, names=["net/nope"])
    with pytest.raises(CheckpointError, match=r"^my-source: tensor\(s\) not in the bundle"):
        read_tensor_bundle(index, data, names=["net/nope"], label="my-source")


def test_snappy_compressed_block_is_refused_clearly(rng):
    tensors = {f"v/x{i}": rng.standard_normal(4).astype(np.float32) for i in range(12)}
    index, data = make_bundle(tensors, ctype=1)  # a valid snappy block, valid checksum
    assert index != make_bundle(tensors)[0]
    with pytest.raises(CheckpointError, match=r"data block 0 uses compression type 1 \(snappy\), which this "
                                              r"reader cannot decode \(supported: 0, none"):
        read_tensor_bundle(index, data)


def test_unknown_compression_is_refused_clearly():
    data = np.zeros(3, np.float32).tobytes()
    # rebuild the data block's trailer with type 2 (zstd in newer LevelDB) and a valid CRC
    entries = [(b"", b"\x08\x01"), (b"a", _entry(np.zeros(3, np.float32), 0))]
    block = _block(entries)
    table = bytearray(_table(entries))
    table[len(block)] = 2
    table[len(block) + 1:len(block) + 5] = masked_crc32c(block + b"\x02").to_bytes(4, "little")
    with pytest.raises(CheckpointError, match="compression type 2, which this reader cannot decode"):
        read_tensor_bundle(bytes(table), data)


def test_corrupt_index_and_data_name_the_file(tmp_path):
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    index, data = make_bundle({"layer/w": arr})
    ip, dp = tmp_path / "m-1.index", tmp_path / "m-1.data-00000-of-00001"
    ip.write_bytes(index)
    dp.write_bytes(data)
    np.testing.assert_array_equal(read_tensor_bundle(ip, dp)["layer/w"], arr)

    ip.write_bytes(index[:-1])  # truncated: footer magic gone
    with pytest.raises(CheckpointError, match=r"m-1\.index: not an SSTable"):
        read_tensor_bundle(ip, dp)
    ip.write_bytes(b"garbage" * 10)
    with pytest.raises(CheckpointError, match=r"m-1\.index: not an SSTable"):
        read_tensor_bundle(ip, dp)
    flipped = bytearray(index)
    flipped[5] ^= 0x40  # inside the data block
    ip.write_bytes(bytes(flipped))
    with pytest.raises(CheckpointError, match="data block 0 checksum mismatch"):
        read_tensor_bundle(ip, dp)

    ip.write_bytes(index)
    bad = bytearray(data)
    bad[7] ^= 1
    dp.write_bytes(bytes(bad))
    with pytest.raises(CheckpointError, match="checksum mismatch for 'layer/w'"):
        read_tensor_bundle(ip, dp)
    np.testing.assert_array_equal(read_tensor_bundle(ip, dp, verify_crc=False)["layer/w"].shape, (2, 3))
    dp.write_bytes(data[:-4])
    with pytest.raises(CheckpointError, match="runs past the end of its 20-byte data file"):
        read_tensor_bundle(ip, dp)
    with pytest.raises(CheckpointError, match="cannot read the data file"):
        read_tensor_bundle(ip, tmp_path / "absent")
    with pytest.raises(TypeError, match="index must be bytes or a path"):
        read_tensor_bundle(3, dp)


def test_unsupported_dtype_is_named():
    arr = np.zeros(2, np.float32)
    entries = [(b"", b"\x08\x01"), (b"s", _entry(arr, 0, dtype=7))]  # DT_STRING
    with pytest.raises(CheckpointError, match="'s' has TensorFlow dtype 7"):
        read_tensor_bundle(_table(entries), arr.tobytes())


# ----------------------------------------------------------------------------- the release


def _read_varint(buf: bytes, pos: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = buf[pos]
        value |= (byte & 0x7F) << shift
        pos += 1
        if not byte & 0x80:
            return value, pos
        shift += 7


def _block_types(table: bytes) -> dict[str, int]:
    """Compression type byte of every block of an SSTable, read independently of the reader."""
    footer = table[-48:]
    meta_off, pos = _read_varint(footer, 0)
    meta_size, pos = _read_varint(footer, pos)
    index_off, pos = _read_varint(footer, pos)
    index_size, _ = _read_varint(footer, pos)
    types = {"metaindex": table[meta_off + meta_size], "index": table[index_off + index_size]}
    index = table[index_off:index_off + index_size]
    restarts = int.from_bytes(index[-4:], "little")
    limit, pos, n = len(index) - 4 - 4 * restarts, 0, 0
    while pos < limit:  # index entries: shared, unshared, value length, key suffix, handle
        _, pos = _read_varint(index, pos)
        unshared, pos = _read_varint(index, pos)
        vlen, pos = _read_varint(index, pos)
        handle = index[pos + unshared:pos + unshared + vlen]
        off, hp = _read_varint(handle, 0)
        size, _ = _read_varint(handle, hp)
        types[f"data block {n}"] = table[off + size]
        pos += unshared + vlen
        n += 1
    return types


def test_release_blocks_are_uncompressed():
    """The measurement behind dropping the snappy decoder: no released index uses it."""
    require("train")
    from smfuse.data.sets import data_root

    seen = {}
    with zipfile.ZipFile(data_root() / "smfuse_official" / "checkpoint.zip") as z:
        for name in z.namelist():
            if name.endswith(".index"):
                seen[name] = _block_types(z.read(name))
    assert len(seen) == 4  # epochs 614..617
    for name, types in seen.items():
        assert set(types) == {"metaindex", "index", "data block 0"}, (name, types)
        assert set(types.values()) == {0}, (name, types)  # 0 = none, 1 = snappy


def test_writer_block_types_are_read_back(rng):
    """The block-type reader of the measurement above sees a snappy block when there is one."""
    tensors = {"v/x": rng.standard_normal(4).astype(np.float32)}
    assert _block_types(make_bundle(tensors)[0])["data block 0"] == 0
    assert _block_types(make_bundle(tensors, ctype=1)[0])["data block 0"] == 1
    assert _varint(300) == b"\xac\x02" and _read_varint(b"\xac\x02", 0) == (300, 2)
