"""The command line: outputs, and one clean line of error for each kind of bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from smfuse.checkpoint import save_checkpoint
from smfuse.cli import main
from smfuse.data import synthetic_pair
from smfuse.guided_block import initial_mask
from smfuse.io import read_image, to_gray, write_image
from smfuse.model import MaskGenerator


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    p = synthetic_pair(1, size=64)
    write_image(d / "a.png", p.a)
    write_image(d / "b.png", p.b)
    write_image(d / "grey.png", p.a[..., 0])
    write_image(d / "small.png", p.a[:32])
    torch.manual_seed(0)
    save_checkpoint(d / "w.pt", MaskGenerator(), meta={"note": "test"})
    (d / "corrupt.pt").write_bytes(b"\x00garbage")
    return d


def _err(capsys, argv):
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("smfuse: error:"), err
    assert "Traceback" not in err
    return lines[0]


def test_fuse_writes_fused_and_mask(files, capsys):
    out, mask = files / "f.png", files / "m.png"
    assert main(["fuse", str(files / "a.png"), str(files / "b.png"), "-o", str(out), "--mask-out", str(mask),
                 "--weights", str(files / "w.pt")]) == 0
    f, m, a, b = read_image(out), read_image(mask), read_image(files / "a.png"), read_image(files / "b.png")
    assert f.shape == a.shape and f.dtype == np.uint8
    assert set(np.unique(m)) <= {0, 255}
    sel = m == 255
    np.testing.assert_array_equal(f[sel], b[sel])
    np.testing.assert_array_equal(f[~sel], a[~sel])


def test_initial_mask(files):
    out = files / "initial_mask.png"
    assert main(["initial-mask", str(files / "a.png"), str(files / "b.png"), "-o", str(out)]) == 0
    written = read_image(out)
    p = synthetic_pair(1, size=64)
    assert set(np.unique(written)) <= {0, 255}
    np.testing.assert_array_equal(written == 255, initial_mask(to_gray(p.a), to_gray(p.b)))
    assert ((written == 255) == p.mask).mean() > 0.8  # a soft-edged stripe at 64 px: measured 0.85


@pytest.mark.parametrize("case,pattern", [
    ("size", "differ in size"),
    ("colour_grey", "is colour and source"),
    ("missing", "not found"),
    ("unreadable", "cannot read image"),
    ("alpha", "alpha"),
    ("nan", "NaN"),
    ("missing_ckpt", "not found|does not exist|no such"),
    ("corrupt_ckpt", "corrupt|not a|cannot"),
    ("bad_suffix", "unknown image format"),
])
def test_fuse_bad_input(files, tmp_path, capsys, case, pattern):
    import tifffile
    from PIL import Image

    a, b, w = files / "a.png", files / "b.png", files / "w.pt"
    if case == "size":
        b = files / "small.png"
    elif case == "colour_grey":
        b = files / "grey.png"
    elif case == "missing":
        b = tmp_path / "nope.png"
    elif case == "unreadable":
        b = tmp_path / "bad.png"
        b.write_bytes(b"PNG? no")
    elif case == "alpha":
        rgba = np.zeros((64, 64, 4), np.uint8)
        rgba[..., 3] = 7
        b = tmp_path / "rgba.png"
        Image.fromarray(rgba).save(b)
    elif case == "nan":
        x = np.zeros((64, 64), np.float32)
        x[1, 1] = np.nan
        a, b = tmp_path / "n1.tif", tmp_path / "n2.tif"
        tifffile.imwrite(a, x)
        tifffile.imwrite(b, np.zeros((64, 64), np.float32))
    elif case == "missing_ckpt":
        w = tmp_path / "none.pt"
    elif case == "corrupt_ckpt":
        w = files / "corrupt.pt"
    out = tmp_path / ("out.xyz" if case == "bad_suffix" else "out.png")
    mask = tmp_path / "mask.png"
    line = _err(capsys, ["fuse", str(a), str(b), "-o", str(out), "--mask-out", str(mask), "--weights", str(w)])
    import re

    assert re.search(pattern, line, re.I), line
    assert not out.exists() and not mask.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".tmp")] == []


def test_metrics_json(files, capsys):
    assert main(["metrics", str(files / "a.png"), str(files / "b.png"), str(files / "a.png"), "--json"]) == 0
    vals = json.loads(capsys.readouterr().out)
    assert list(vals) == ["qmi", "qabf", "ssim", "ssim_mean", "qy", "qcb", "qncie", "mutual_info", "entropy", "sf", "ag"]
    assert 0 < vals["qabf"] <= 1 and vals["ssim"] == pytest.approx(2 * vals["ssim_mean"])


def test_evaluate_needs_one_source(capsys):
    _err(capsys, ["evaluate", "--dataset", "synthetic"])


def test_evaluate_unknown_or_unavailable_method(capsys, monkeypatch, tmp_path):
    line = _err(capsys, ["evaluate", "--dataset", "synthetic", "--method", "mi"])
    assert "unknown fusion method 'mi'; choose one of average," in line and "initial_mask" in line
    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path))  # no authors' checkpoint there
    out = tmp_path / "t.csv"
    line = _err(capsys, ["evaluate", "--dataset", "synthetic", "--method", "smfuse_authors", "-o", str(out)])
    assert "method 'smfuse_authors' cannot run here" in line and not out.exists()


def test_train_bad_option(capsys, tmp_path):
    line = _err(capsys, ["train", "--config", "quick", "--out", str(tmp_path / "r"), "--set", "nonsense=1"])
    assert "unknown training option" in line


def test_console_script_exit_code(files, tmp_path):
    r = subprocess.run([sys.executable, "-m", "smfuse.cli", "fuse", str(files / "a.png"), str(files / "small.png"),
                        "-o", str(tmp_path / "x.png"), "--weights", str(files / "w.pt")], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "differ in size" in r.stderr
    assert not (tmp_path / "x.png").exists()


def test_evaluate_method_writes_a_table(tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "avg.csv"
    assert main(["evaluate", "--dataset", "synthetic", "--method", "average", "--limit", "2", "-o", str(out),
                 "--quiet"]) == 0
    table = pd.read_csv(out, index_col=0)
    assert len(table) == 3 and table.index[-1] == "mean"
    assert table.loc["mean", "qabf"] == pytest.approx(table.qabf.iloc[:2].mean())
    assert "qabf" in capsys.readouterr().out


@pytest.fixture
def own_pairs(tmp_path):
    """Someone else's pairs, laid out like the MFFW release, with the truth of the first."""
    folder = tmp_path / "mffw"
    folder.mkdir()
    for i in range(2):
        p = synthetic_pair(i, size=72)
        write_image(folder / f"mffw_{i + 1:02d}_A.png", p.a)
        write_image(folder / f"mffw_{i + 1:02d}_B.png", p.b)
    return folder


def test_evaluate_and_train_on_a_folder_of_pairs(own_pairs, tmp_path, capsys):
    import pandas as pd

    out = tmp_path / "avg.csv"
    assert main(["evaluate", "--dataset", str(own_pairs), "--method", "average", "-o", str(out), "--quiet"]) == 0
    table = pd.read_csv(out, index_col="image")
    assert list(table.index) == ["mffw_01", "mffw_02", "mean"]
    assert table.loc["mean", "qabf"] == pytest.approx(table.loc[["mffw_01", "mffw_02"], "qabf"].mean())
    run = tmp_path / "run"
    assert main(["train", "--config", "quick", "--out", str(run), "--quiet", "--set", f"dataset={own_pairs}",
                 "--set", "steps=2", "--set", "batch_size=2", "--set", "patch_size=32", "--set", "eval_every=0",
                 "--set", "checkpoint_every=0"]) == 0
    assert (run / "final.pt").is_file() and "trained 2 steps" in capsys.readouterr().out
    (own_pairs / "mffw_02_B.png").unlink()
    assert main(["evaluate", "--dataset", str(own_pairs), "--method", "average", "--quiet"]) == 2
    assert "without their partner source: mffw_02_A.png" in capsys.readouterr().err
