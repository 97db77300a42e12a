"""Tests of smfuse.checkpoint: the TensorBundle reader, the authors' release, our own files.

The synthetic bundles are written by a small encoder in this file (independent of the
reader: SSTable blocks with prefix-compressed keys and restart points, hand-encoded
protobuf entries, optional snappy literal blocks), so the reader is checked against
the format, not against itself.
"""

import datetime
import os
import zipfile

import numpy as np
import pytest
import torch

from datahelp import require
from smfuse.checkpoint import (
    OFFICIAL_VARIABLES,
    CheckpointError,
    _crc32c,
    _mask_crc,
    _snappy_decompress,
    _Corrupt,
    list_official_epochs,
    load_checkpoint,
    load_official,
    load_weights,
    read_checkpoint,
    read_tensor_bundle,
    save_checkpoint,
)
from smfuse.model import MaskGenerator, to_network_input


# ----------------------------------------------------------------------------- a minimal writer

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
        msg += b"\x35" + _mask_crc(_crc32c(raw)).to_bytes(4, "little")
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
        out.extend(body + bytes([t]) + _mask_crc(_crc32c(body + bytes([t]))).to_bytes(4, "little"))
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


def official_zip():
    require("train")
    from smfuse.data import data_root

    return data_root() / "smfuse_official" / "checkpoint.zip"


# ----------------------------------------------------------------------------- low level

def test_crc32c_known_vectors():
    assert _crc32c(b"123456789") == 0xE3069283  # the standard check value
    assert _crc32c(bytes(32)) == 0x8A9136AA  # RFC 3720, B.4
    assert _crc32c(b"\xff" * 32) == 0x62A8AB43
    assert _mask_crc(0) == 0xA282EAD8


def test_snappy_literals_and_overlapping_copies():
    # "abc" literal, copy(len 9, offset 3) with a 1-byte offset, copy(len 4, offset 2)
    # with a 2-byte offset, "X" literal.
    stream = bytes([17, 0x08]) + b"abc" + bytes([0x15, 3]) + bytes([0x0E, 2, 0]) + bytes([0x00]) + b"X"
    assert _snappy_decompress(stream) == b"abcabcabcabc" + b"bcbc" + b"X"
    with pytest.raises(_Corrupt, match="offset"):
        _snappy_decompress(bytes([8, 0x00]) + b"a" + bytes([0x15, 5]))  # points before the start
    with pytest.raises(_Corrupt, match="header says"):
        _snappy_decompress(bytes([9, 0x08]) + b"abc")


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


def test_snappy_compressed_block_is_read(rng):
    tensors = {f"v/x{i}": rng.standard_normal(4).astype(np.float32) for i in range(12)}
    index, data = make_bundle(tensors, ctype=1)
    assert index != make_bundle(tensors)[0]
    out = read_tensor_bundle(index, data)
    for name, arr in tensors.items():
        np.testing.assert_array_equal(out[name], arr)


def test_unknown_compression_is_refused_clearly():
    data = np.zeros(3, np.float32).tobytes()
    # rebuild the data block's trailer with type 2 (zstd in newer LevelDB) and a valid CRC
    entries = [(b"", b"\x08\x01"), (b"a", _entry(np.zeros(3, np.float32), 0))]
    block = _block(entries)
    table = bytearray(_table(entries))
    table[len(block)] = 2
    table[len(block) + 1:len(block) + 5] = _mask_crc(_crc32c(block + b"\x02")).to_bytes(4, "little")
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


# ----------------------------------------------------------------------------- official layout

def test_official_zip_mapping_slots_missing_and_shapes(tmp_path):
    torch.manual_seed(0)
    net = MaskGenerator()
    tensors = official_like(net)
    with_slots = dict(tensors)
    with_slots["fusion_model/layer1/w1/Adam"] = np.ones((3, 3, 1, 16), np.float32)  # optimiser slot
    with_slots["fusion_model/layer1/w1/Adam_1"] = np.ones((3, 3, 1, 16), np.float32)
    z = tmp_path / "checkpoint.zip"
    write_official_zip(z, {3: tensors, 12: with_slots})
    assert list_official_epochs(z) == [3, 12]
    for epoch in (None, 3, 12):
        got = load_official(z, epoch)
        for k, v in net.state_dict().items():
            torch.testing.assert_close(got.state_dict()[k], v, rtol=0, atol=0)
    # HWIO -> OIHW, no flip: w[o, i, h, w] == hwio[h, w, i, o]
    w3 = tensors["fusion_model/layer3/w3"]
    assert float(load_official(z).branch1.conv3.weight.detach()[5, 20, 0, 2]) == float(w3[0, 2, 20, 5])
    with pytest.raises(CheckpointError, match=r"no epoch 7; available: 3, 12"):
        load_official(z, 7)

    missing = {k: v for k, v in tensors.items() if not k.endswith(("/w7", "/b2_vi"))}
    write_official_zip(z, {5: missing})
    with pytest.raises(CheckpointError, match=r"checkpoint\.zip\[CGAN_84/CGAN\.model-5\]: variable\(s\) "
                                              r"missing: b2_vi, w7"):
        load_official(z)
    wrong = dict(tensors)
    wrong["fusion_model/layer5/w5"] = np.zeros((1, 1, 64, 128), np.float32)
    write_official_zip(z, {5: wrong})
    with pytest.raises(CheckpointError, match=r"layer5/w5 has shape \(1, 1, 64, 128\), expected "
                                              r"\(1, 1, 128, 64\) for dec1\.weight"):
        load_official(z)


def test_official_bad_paths(tmp_path):
    z = tmp_path / "checkpoint.zip"
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        load_official(z)
    z.write_bytes(b"\x00garbage\xff" * 100)
    with pytest.raises(CheckpointError, match=r"checkpoint\.zip: not a readable zip archive"):
        load_official(z)
    write_official_zip(z, {1: official_like(MaskGenerator())})
    raw = z.read_bytes()
    z.write_bytes(raw[: len(raw) // 2])  # truncated download
    with pytest.raises(CheckpointError, match=r"checkpoint\.zip: not a readable zip archive"):
        list_official_epochs(z)
    with zipfile.ZipFile(z, "w") as f:
        f.writestr("readme.txt", "nothing here")
    with pytest.raises(CheckpointError, match="no checkpoint PREFIX-EPOCH.index"):
        load_official(z)
    with pytest.raises(ValueError, match="epoch must be"):
        load_official(z, -1)


def test_release_lists_epochs_and_tensors():
    z = official_zip()
    assert list_official_epochs(z) == [614, 615, 616, 617]
    with zipfile.ZipFile(z) as f:
        index = f.read("CGAN_84/CGAN.model-617.index")
        data = f.read("CGAN_84/CGAN.model-617.data-00000-of-00001")
    tensors = read_tensor_bundle(index, data)  # every block and tensor CRC checked
    assert len(tensors) == 22 and all(v.dtype == np.float32 for v in tensors.values())
    assert tensors["fusion_model/layer1/w1"].shape == (3, 3, 1, 16)
    assert tensors["fusion_model/layer4_vi/w4_vi"].shape == (3, 3, 48, 16)
    assert tensors["fusion_model/layer5/w5"].shape == (1, 1, 128, 64)
    assert tensors["fusion_model/layer7/b7"].shape == (1,)
    assert sum(v.size for v in tensors.values()) == 38339 == len(data) // 4
    corrupt = bytearray(data)
    corrupt[1000] ^= 0xFF
    with pytest.raises(CheckpointError, match="checksum mismatch for 'fusion_model/layer1_vi/w1_vi'"):
        read_tensor_bundle(index, bytes(corrupt))


def test_release_epoch_617_model_and_neighbours(tmp_path):
    z = official_zip()
    net = load_official(z)
    assert sum(p.numel() for p in net.parameters()) == 38339
    assert not net.training
    n617 = load_official(z, 617)
    for k, v in net.state_dict().items():
        assert torch.equal(v, n617.state_dict()[k])
    n614 = load_official(z, 614)
    p614 = torch.cat([p.detach().flatten() for p in n614.parameters()])
    p617 = torch.cat([p.detach().flatten() for p in n617.parameters()])
    rel = float((p614 - p617).norm() / p617.norm())
    assert 0.005 < rel < 0.05, rel  # measured 0.0166: three epochs of Adam at lr 1e-4
    assert (p614 != p617).float().mean() > 0.99

    # the same files unzipped: a folder, a prefix, and the .index path
    with zipfile.ZipFile(z) as f:
        f.extractall(tmp_path)
    prefix = tmp_path / "CGAN_84" / "CGAN.model-615"
    assert list_official_epochs(tmp_path) == [614, 615, 616, 617]
    assert list_official_epochs(prefix) == [615]
    a, b, c = load_official(tmp_path, 615), load_official(prefix), load_official(f"{prefix}.index")
    ref = load_official(z, 615)
    for k, v in ref.state_dict().items():
        assert torch.equal(a.state_dict()[k], v) and torch.equal(b.state_dict()[k], v)
        assert torch.equal(c.state_dict()[k], v)
    with pytest.raises(CheckpointError, match="no epoch 617; available: 615"):
        load_official(prefix, 617)
    (tmp_path / "CGAN_84" / "CGAN.model-616.data-00000-of-00001").unlink()
    with pytest.raises(CheckpointError, match=r"CGAN\.model-616\.data-00000-of-00001 is missing"):
        load_official(tmp_path, 616)


def test_load_weights_specs(tmp_path):
    z = official_zip()
    ref614 = load_official(z, 614).state_dict()
    for spec in (f"official:{z}@614", "official@614"):
        got = load_weights(spec).state_dict()
        assert all(torch.equal(got[k], v) for k, v in ref614.items()), spec
    ref617 = load_official(z).state_dict()
    got = load_weights("official").state_dict()
    assert all(torch.equal(got[k], v) for k, v in ref617.items())
    with pytest.raises(CheckpointError, match="no epoch 999"):
        load_weights("official@999")
    with pytest.raises(CheckpointError, match="empty path"):
        load_weights("official:@3")
    with pytest.raises(CheckpointError, match="TensorFlow checkpoint; load it with 'official:"):
        load_weights(str(z))  # the authors' zip given as one of ours


@pytest.mark.slow
@pytest.mark.realdata
def test_release_epoch_617_agrees_with_mi_on_the_training_pairs():
    """Epoch 617's MF = (MG > 0.5) agrees with MI on ~95 % of pixels (worst: pair 13)."""
    from smfuse.data import load_dataset
    from smfuse.guided_block import initial_mask

    net = load_official(official_zip(), 617)
    agree = {}
    with torch.inference_mode():
        for p in load_dataset("train"):
            a, b = p.a / 255.0, p.b / 255.0
            mi = initial_mask(a, b)
            x1 = to_network_input(torch.from_numpy(a).float()[None, None])
            x2 = to_network_input(torch.from_numpy(b).float()[None, None])
            mf = (net(x1, x2)[0, 0] > 0.5).numpy()
            agree[p.name] = float((mf == mi).mean())
    mean = float(np.mean(list(agree.values())))
    worst = min(agree, key=agree.get)
    print(f"\nepoch 617 MF vs MI on {len(agree)} training pairs: mean {mean:.4f}, "
          f"min {agree[worst]:.4f} ({worst})")
    assert len(agree) == 20
    assert abs(mean - 0.950) <= 0.002, agree
    assert worst == "train-13" and 0.77 < agree[worst] < 0.79, agree
    assert sorted(agree.values())[1] > 0.9  # every other pair above 90 %


# ----------------------------------------------------------------------------- our checkpoints

def _trained_pair():
    torch.manual_seed(0)
    net = MaskGenerator()
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    x = torch.rand(2, 1, 12, 12) * 2 - 1
    net(x, x.flip(-1)).mean().backward()
    opt.step()
    return net, opt


def test_save_load_round_trip(tmp_path):
    net, opt = _trained_pair()
    meta = {"variant": "code", "lr": 1e-3, "pairs": [1, 2, 3], "nested": {"ok": True, "none": None}}
    f = save_checkpoint(tmp_path / "sub" / "net.pt", net, meta=meta, optimizer=opt, step=17)
    assert f == tmp_path / "sub" / "net.pt"
    assert os.listdir(tmp_path / "sub") == ["net.pt"]  # no temporary file left behind
    got, got_meta = load_checkpoint(f)
    assert got_meta == meta and not got.training
    for k, v in net.state_dict().items():
        assert torch.equal(got.state_dict()[k], v)
    ckpt = read_checkpoint(str(f))
    assert ckpt["step"] == 17 and ckpt["format"] == "smfuse.MaskGenerator"
    opt2 = torch.optim.Adam(got.parameters(), lr=1e-3)
    opt2.load_state_dict(ckpt["optimizer"])
    s1, s2 = opt.state_dict()["state"][0], opt2.state_dict()["state"][0]
    assert torch.equal(s1["exp_avg"], s2["exp_avg"]) and float(s2["step"]) == 1
    assert torch.equal(load_weights(str(f)).dec3.weight, net.dec3.weight)
    assert torch.equal(load_weights(f).dec3.weight, net.dec3.weight)  # a Path works too
    bare = save_checkpoint(tmp_path / "bare.pt", MaskGenerator(), meta={})
    assert read_checkpoint(bare)["optimizer"] is None and read_checkpoint(bare)["step"] is None


def test_save_is_atomic_and_checks_its_arguments(tmp_path, monkeypatch):
    net, _ = _trained_pair()
    f = save_checkpoint(tmp_path / "net.pt", net, meta={"v": 1})
    before = f.read_bytes()

    def broken_save(obj, fh, *args, **kwargs):
        fh.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(f, MaskGenerator(), meta={"v": 2})
    monkeypatch.undo()
    assert f.read_bytes() == before and os.listdir(tmp_path) == ["net.pt"]
    assert load_checkpoint(f)[1] == {"v": 1}

    with pytest.raises(TypeError, match=r"meta\['when'\] is a datetime"):
        save_checkpoint(f, net, meta={"when": datetime.datetime.now()})
    with pytest.raises(TypeError, match="meta must be a dict"):
        save_checkpoint(f, net, meta=None)
    with pytest.raises(TypeError, match="model must be a MaskGenerator"):
        save_checkpoint(f, torch.nn.Linear(2, 2), meta={})
    with pytest.raises(ValueError, match="step must be >= 0"):
        save_checkpoint(f, net, meta={}, step=-1)
    assert f.read_bytes() == before


def test_load_checkpoint_errors_are_one_line_value_errors(tmp_path):
    good = save_checkpoint(tmp_path / "good.pt", MaskGenerator(), meta={})
    raw = good.read_bytes()
    cases = {
        "missing.pt": (None, "no such checkpoint file"),
        "truncated.pt": (raw[: len(raw) // 2], "not a readable torch checkpoint"),
        "garbage.pt": (b"\x89garbage" * 50, "not a readable torch checkpoint"),
        "empty.pt": (b"", "not a readable torch checkpoint"),
    }
    for name, (content, message) in cases.items():
        if content is not None:
            (tmp_path / name).write_bytes(content)
        with pytest.raises(ValueError, match=message) as err:
            load_checkpoint(tmp_path / name)
        text = str(err.value)
        assert name in text and "\n" not in text, text
        assert err.value.__cause__ is None  # no chained zipfile/pickle traceback
        assert err.value.__context__ is None or err.value.__suppress_context__

    torch.save({"weights": 1}, tmp_path / "foreign.pt")
    with pytest.raises(CheckpointError, match=r"foreign\.pt: not an smfuse mask-generator checkpoint"):
        load_checkpoint(tmp_path / "foreign.pt")
    payload = torch.load(good, weights_only=True)
    payload["state_dict"]["dec1.weight"] = torch.zeros(64, 100, 1, 1)
    torch.save(payload, tmp_path / "shape.pt")
    with pytest.raises(CheckpointError, match=r"shape\.pt: dec1\.weight has shape \(64, 100, 1, 1\), "
                                              r"expected \(64, 128, 1, 1\)"):
        load_checkpoint(tmp_path / "shape.pt")
    del payload["state_dict"]["dec3.bias"]
    torch.save(payload, tmp_path / "partial.pt")
    with pytest.raises(CheckpointError, match=r"partial\.pt: state_dict does not fit MaskGenerator "
                                              r"\(missing: dec3\.bias"):
        load_checkpoint(tmp_path / "partial.pt")
