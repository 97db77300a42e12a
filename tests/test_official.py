"""Tests of smfuse.runtime.official: the authors' variables mapped onto MaskGenerator; their release.

The synthetic zips come from the independent writer in ``bundlewriter.py``; the release
tests need the real data folder (skipped with a reason when absent).
"""

import zipfile

import numpy as np
import pytest
import torch

from bundlewriter import official_like, write_official_zip
from datahelp import require
from smfuse.method.network import MaskGenerator, to_network_input
from smfuse.runtime.official import (
    CheckpointError,
    is_official_zip,
    list_official_epochs,
    load_official,
)
from smfuse.runtime.tensorbundle import read_tensor_bundle


def official_zip():
    require("train")
    from smfuse.data.sets import data_root

    return data_root() / "smfuse_official" / "checkpoint.zip"


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


@pytest.mark.slow
@pytest.mark.realdata
def test_release_epoch_617_agrees_with_mi_on_the_training_pairs():
    """Epoch 617's MF = (MG > 0.5) agrees with MI on ~95 % of pixels (worst: pair 13)."""
    from smfuse.data.sets import load_dataset
    from smfuse.method.guided_block import initial_mask

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




def test_is_official_zip(tmp_path):
    z = tmp_path / "checkpoint.zip"
    write_official_zip(z, {1: official_like(MaskGenerator())})
    assert is_official_zip(z.read_bytes())
    with zipfile.ZipFile(tmp_path / "other.zip", "w") as f:
        f.writestr("readme.txt", "nothing here")
    assert not is_official_zip((tmp_path / "other.zip").read_bytes())
    assert not is_official_zip(b"PK\x03\x04 but not a zip")
