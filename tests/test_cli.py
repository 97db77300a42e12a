"""The command line: outputs, and one clean line of error for each kind of bad input."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from smfuse.runtime.checkpoint import save_checkpoint
from smfuse.cli import main
from smfuse.data.sets import synthetic_pair
from smfuse.method.guided_block import initial_mask
from smfuse.io import read_image, to_grey, write_image
from smfuse.method.network import MaskGenerator


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
    np.testing.assert_array_equal(written == 255, initial_mask(to_grey(p.a), to_grey(p.b)))
    assert ((written == 255) == p.mask).mean() > 0.8  # a soft-edged stripe at 64 px: measured 0.85


@pytest.mark.parametrize("case,pattern", [
    ("size", "differ in size"),
    ("colour_grey", "the first source .* is colour and the second source .* is grey; convert both"),
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
    with pytest.raises(SystemExit) as exc:  # "mi" no longer names a method (three things shared it)
        main(["evaluate", "--dataset", "synthetic", "--method", "mi"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert "invalid choice: 'mi' (choose from 'average'," in err and "'initial_mask'" in err
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
    assert "1 without their partner source (mffw_02_A.png:" in capsys.readouterr().err
# ----------------------------------------------------------------------------- outputs never destroy inputs

def _snapshot(*paths):
    return {p: p.read_bytes() for p in paths}


@pytest.mark.parametrize("case,pattern", [
    ("o_is_a", r"-o \S+a.png is the first source"),
    ("o_symlink_to_a", r"-o \S+link.png is the first source"),
    ("o_hardlink_to_b", r"-o \S+hard.png is the second source"),
    ("mask_is_b", r"--mask-out \S+b.png is the second source"),
    ("o_equals_mask", r"-o and --mask-out are the same file"),
    ("initial_mask_o_is_b", r"-o \S+b.png is the second source"),
])
def test_an_output_naming_a_source_is_refused_before_any_work(files, tmp_path, capsys, case, pattern):
    import os
    import re
    import shutil

    a, b = tmp_path / "a.png", tmp_path / "b.png"
    shutil.copy(files / "a.png", a)
    shutil.copy(files / "b.png", b)
    os.symlink(a, tmp_path / "link.png")
    os.link(b, tmp_path / "hard.png")
    before = _snapshot(a, b)
    out, mask = tmp_path / "f.png", tmp_path / "m.png"
    cmd = "fuse"
    if case == "o_is_a":
        out = a
    elif case == "o_symlink_to_a":
        out = tmp_path / "link.png"
    elif case == "o_hardlink_to_b":
        out = tmp_path / "hard.png"
    elif case == "mask_is_b":
        mask = b
    elif case == "o_equals_mask":
        mask = out
    argv = [cmd, str(a), str(b), "-o", str(out), "--mask-out", str(mask), "--weights", str(files / "w.pt")]
    if case == "initial_mask_o_is_b":
        argv = ["initial-mask", str(a), str(b), "-o", str(b)]
    line = _err(capsys, argv)
    assert re.search(pattern, line), line
    assert _snapshot(a, b) == before, "a source changed"
    assert os.path.islink(tmp_path / "link.png") and os.path.samefile(tmp_path / "hard.png", b)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png", "b.png", "hard.png", "link.png"]


def test_float_sources_refused_without_their_range_then_fused_as_their_8_bit_originals(files, tmp_path, capsys):
    import tifffile

    a8, b8 = read_image(files / "a.png")[..., 1], read_image(files / "b.png")[..., 1]
    write_image(tmp_path / "a.png", a8)
    write_image(tmp_path / "b.png", b8)
    for n, x in (("a", a8), ("b", b8)):
        tifffile.imwrite(tmp_path / f"{n}255.tif", x.astype(np.float32))  # a float TIFF on 0..255
        tifffile.imwrite(tmp_path / f"{n}1.tif", (x / 255.0).astype(np.float32))
    before = _snapshot(*tmp_path.iterdir())
    w = ["--weights", str(files / "w.pt")]
    line = _err(capsys, ["fuse", str(tmp_path / "a255.tif"), str(tmp_path / "b255.tif"), "-o", str(tmp_path / "f.tif")] + w)
    assert line.endswith("is a float image with values in [0, 255], outside [0, 1]; pass --data-range 255 if 255 "
                         "is white, or divide it by 255 first") or "outside [0, 1]; pass --data-range 255" in line, line
    line = _err(capsys, ["fuse", str(tmp_path / "a1.tif"), str(tmp_path / "b1.tif"), "-o", str(tmp_path / "f.png")] + w)
    assert "float32 TIFF: use a .tif output" in line
    assert _snapshot(*tmp_path.iterdir()) == before  # nothing written, nothing changed

    assert main(["fuse", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(tmp_path / "f8.png"),
                 "--mask-out", str(tmp_path / "m8.png")] + w) == 0
    assert main(["fuse", str(tmp_path / "a255.tif"), str(tmp_path / "b255.tif"), "-o", str(tmp_path / "f255.tif"),
                 "--mask-out", str(tmp_path / "m255.png"), "--data-range", "255"] + w) == 0
    assert main(["fuse", str(tmp_path / "a1.tif"), str(tmp_path / "b1.tif"), "-o", str(tmp_path / "f1.tif"),
                 "--mask-out", str(tmp_path / "m1.png")] + w) == 0
    m8 = read_image(tmp_path / "m8.png")
    np.testing.assert_array_equal(read_image(tmp_path / "m255.png"), m8)
    assert (read_image(tmp_path / "m1.png") == m8).mean() > 0.999  # float32 of x / 255 rounds a little
    f255 = read_image(tmp_path / "f255.tif")
    assert f255.dtype == np.float32  # the source values, unchanged
    np.testing.assert_array_equal(f255, read_image(tmp_path / "f8.png").astype(np.float32))


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o027, 0o640)])
def test_outputs_follow_the_umask(files, tmp_path, umask, mode):
    import os
    import stat

    old = os.umask(umask)
    try:
        assert main(["fuse", str(files / "a.png"), str(files / "b.png"), "-o", str(tmp_path / "f.png"),
                     "--mask-out", str(tmp_path / "m.png"), "--weights", str(files / "w.pt")]) == 0
        save_checkpoint(tmp_path / "c.pt", MaskGenerator(), meta={})
    finally:
        os.umask(old)
    for name in ("f.png", "m.png", "c.pt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name


def test_an_unwritable_folder_is_named_not_the_temporary_file(files, tmp_path, capsys, monkeypatch):
    import os
    import tempfile

    argv = ["fuse", str(files / "a.png"), str(files / "b.png"), "-o", str(tmp_path / "f.png"),
            "--weights", str(files / "w.pt")]

    def denied(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / ".tmp-f.png.x1y2.png"))

    monkeypatch.setattr(tempfile, "mkstemp", denied)  # as in a read-only folder (root ignores modes)
    line = _err(capsys, argv)
    assert line == (f"smfuse: error: cannot write {tmp_path / 'f.png'}: folder {tmp_path} is not writable or "
                    "does not exist (Permission denied); choose another output path")
    monkeypatch.undo()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, m: False if str(p) == str(tmp_path) else real_access(p, m))
    line = _err(capsys, argv)  # refused before any work where the folder's mode says so
    assert line == f"smfuse: error: -o {tmp_path / 'f.png'}: folder {tmp_path} is not writable; choose another output folder"
    assert list(tmp_path.iterdir()) == []


# ----------------------------------------------------------------------------- options, help, version

def test_version_and_python_m_smfuse():
    import smfuse

    r = subprocess.run([sys.executable, "-m", "smfuse", "--version"], capture_output=True, text=True)
    assert r.returncode == 0 and r.stdout.strip() == f"smfuse {smfuse.__version__}"
    r = subprocess.run([sys.executable, "-m", "smfuse", "reproduce", "--profile", "medium"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "Traceback" not in r.stderr
    assert r.stderr.startswith("smfuse: error: argument --profile: invalid choice: 'medium'"), r.stderr


def test_every_positional_argument_is_described():
    import argparse

    from smfuse.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    seen = 0
    for name, parser in sub.choices.items():
        for action in parser._actions:
            if not action.option_strings:
                assert action.help and len(action.help) > 10, (name, action.dest)
                seen += 1
    assert seen == 8  # fuse a b, initial-mask a b, metrics a b fused, data ACTION


def test_evaluate_lists_its_methods_and_data_sets(capsys):
    from smfuse.evaluation.methods import method_names
    from smfuse.data.sets import DATASETS

    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    for name in list(method_names()) + list(DATASETS):
        assert name in text, name
    with pytest.raises(SystemExit) as exc:
        main(["evaluate", "--method", "avrage"])
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("\n") == 1
    assert err.startswith("smfuse: error: argument --method: invalid choice: 'avrage' (choose from 'average', 'dwt'")


@pytest.mark.parametrize("argv,message", [
    (["reproduce", "--profile", "medium"], "argument --profile: invalid choice: 'medium' (choose from 'quick', 'full')"),
    (["fuse", "a.png", "b.png", "-o", "f.png", "--data-range", "0"],
     "argument --data-range: expected a positive number (the white level, e.g. 255), got '0'"),
])
def test_option_typos_are_one_line_errors(capsys, argv, message):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err == f"smfuse: error: {message} (see 'smfuse {argv[0]} --help')\n"


def test_metrics_names_the_fused_image(files, tmp_path, capsys):
    import tifffile

    line = _err(capsys, ["metrics", str(files / "a.png"), str(files / "b.png"), str(files / "small.png")])
    assert line == (f"smfuse: error: the fused image {files / 'small.png'} is (32, 64, 3) but the sources are "
                    "(64, 64, 3); give the fused image of these sources")
    f, g = tmp_path / "f.tif", files / "grey.png"
    tifffile.imwrite(f, read_image(g).astype(np.float32))
    line = _err(capsys, ["metrics", str(g), str(g), str(f)])
    assert line.startswith(f"smfuse: error: the fused image {f} is a float image") and "--data-range 255" in line
    assert main(["metrics", str(g), str(g), str(f), "--data-range", "255", "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert main(["metrics", str(g), str(g), str(g), "--json"]) == 0
    assert got == json.loads(capsys.readouterr().out)  # the same image as float on 0..255


def test_fuse_shows_progress_over_tiles_unless_quiet(files, tmp_path):
    import os

    big, big_b = tmp_path / "big.png", tmp_path / "big_b.png"
    write_image(big, np.tile(read_image(files / "a.png"), (3, 3, 1)))  # 192 x 192: 9 tiles of 64
    write_image(big_b, np.tile(read_image(files / "b.png"), (3, 3, 1)))
    env = {k: v for k, v in os.environ.items() if k != "TQDM_DISABLE"}
    base = [sys.executable, "-m", "smfuse", "fuse", str(big), str(big_b), "--tile", "64", "--weights",
            str(files / "w.pt")]
    loud = subprocess.run(base + ["-o", str(tmp_path / "f1.png")], capture_output=True, text=True, env=env)
    quiet = subprocess.run(base + ["-o", str(tmp_path / "f2.png"), "--quiet"], capture_output=True, text=True, env=env)
    assert loud.returncode == 0 and quiet.returncode == 0
    assert "fusing:" in loud.stderr and "/9 [" in loud.stderr and "tile/s" in loud.stderr
    assert quiet.stderr == ""
    np.testing.assert_array_equal(read_image(tmp_path / "f1.png"), read_image(tmp_path / "f2.png"))


# ----------------------------------------------------------------------------- photos as cameras write them

def test_a_pair_with_one_source_stored_sideways_fuses_upright(files, tmp_path, capsys):
    from PIL import Image

    a, b = read_image(files / "a.png"), read_image(files / "b.png")
    a, b = a[:, :48], b[:, :48]  # 64 x 48: a turn shows in the shape
    ex = Image.Exif()
    ex[0x0112] = 6  # stored turned 90 degrees anticlockwise; the tag turns it back
    Image.fromarray(a).rotate(90, expand=True).save(tmp_path / "a.png", exif=ex)
    write_image(tmp_path / "b.png", b)
    out = tmp_path / "f.jpg"
    assert main(["fuse", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(out), "--mask-out",
                 str(tmp_path / "m.png"), "--weights", str(files / "w.pt"), "--quiet"]) == 0
    with Image.open(out) as im:
        assert im.size == (48, 64) and 0x0112 not in im.getexif()  # upright, and no tag to turn it again
    m = read_image(tmp_path / "m.png") == 255
    from smfuse.runtime.inference import fuse

    np.testing.assert_array_equal(m, fuse(a, b, str(files / "w.pt")).mask)


def test_a_grey_alpha_pair_fuses_to_a_grey_image(files, tmp_path):
    from PIL import Image

    for s in "ab":
        g = read_image(files / "grey.png") if s == "a" else to_grey(read_image(files / "b.png"))
        g = g if g.dtype == np.uint8 else np.round(g * 255).astype(np.uint8)
        Image.fromarray(np.dstack([g, np.full_like(g, 255)]), "LA").save(tmp_path / f"{s}.png")
    out = tmp_path / "f.png"
    assert main(["fuse", str(tmp_path / "a.png"), str(tmp_path / "b.png"), "-o", str(out), "--weights",
                 str(files / "w.pt"), "--quiet"]) == 0
    with Image.open(out) as im:
        assert im.mode == "L"
    assert read_image(out).shape == (64, 64)


@pytest.mark.parametrize("command", ["fuse", "initial-mask"])
@pytest.mark.parametrize("second,how", [("a.png", "one file \\(the same path\\)"),
                                        ("soft.png", "one file \\(links to one file\\)"),
                                        ("hard.png", "one file \\(links to one file\\)"),
                                        ("copy.png", "copies of one image \\(identical bytes\\)")])
def test_one_image_as_both_sources_is_refused_in_one_line(files, tmp_path, capsys, command, second, how):
    import os
    import re

    src = tmp_path / "a.png"
    src.write_bytes((files / "a.png").read_bytes())
    os.symlink(src, tmp_path / "soft.png")
    os.link(src, tmp_path / "hard.png")
    (tmp_path / "copy.png").write_bytes(src.read_bytes())
    argv = [command, str(src), str(tmp_path / second), "-o", str(tmp_path / "out.png")]
    line = _err(capsys, argv + (["--weights", str(files / "w.pt")] if command == "fuse" else []))
    assert re.fullmatch(rf"smfuse: error: the first source \S+a.png and the second source \S+{second} are {how}; "
                        "give two images of one scene focused at different depths", line), line
    assert not (tmp_path / "out.png").exists()


def test_the_initial_mask_of_a_colour_or_16_bit_pair_is_the_one_fusion_would_use(files, tmp_path):
    from smfuse.io import grey_unit

    a, b = read_image(files / "a.png"), read_image(files / "b.png")
    want = initial_mask(grey_unit(a), grey_unit(b))
    assert main(["initial-mask", str(files / "a.png"), str(files / "b.png"), "-o", str(tmp_path / "m8.png")]) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "m8.png") == 255, want)
    a16, b16 = a.astype(np.uint16) * 257, b.astype(np.uint16) * 257
    write_image(tmp_path / "a16.tif", a16)
    write_image(tmp_path / "b16.tif", b16)
    assert main(["initial-mask", str(tmp_path / "a16.tif"), str(tmp_path / "b16.tif"), "-o",
                 str(tmp_path / "m16.png")]) == 0
    np.testing.assert_array_equal(read_image(tmp_path / "m16.png") == 255, initial_mask(grey_unit(a16), grey_unit(b16)))


# ----------------------------------------------------------------------------- folders named by option

@pytest.mark.parametrize("argv,option", [
    (["train", "--config", "quick", "--out", "{f}"], "--out"),
    (["train", "--config", "quick", "--out", "{f}/run"], "--out"),
    (["reproduce", "--out", "{f}"], "--out"),
    (["site", "-o", "{f}"], "-o"),
    (["course", "-o", "{f}"], "-o"),
    (["study", "--work", "{f}"], "--work"),
])
def test_an_output_folder_that_is_a_file_is_refused_by_name(tmp_path, capsys, argv, option):
    f = tmp_path / "afile"
    f.write_text("x")
    line = _err(capsys, [a.format(f=f) for a in argv])
    path = argv[argv.index(option) + 1].format(f=f)
    where = "is a file" if path == str(f) else f"lies under {f}, which is a file"
    assert line.startswith(f"smfuse: error: {option} {path} {where}; give a folder "), line
    assert "Errno" not in line and f.read_text() == "x"


def test_train_help_lists_every_configuration(capsys):
    from smfuse.runtime.train import CONFIGS

    with pytest.raises(SystemExit) as exc:
        main(["train", "--help"])
    assert exc.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert f"a configuration of smfuse.runtime.train.CONFIGS: {', '.join(CONFIGS)} (default full;" in text
    assert "plus" in CONFIGS


def test_an_os_error_is_one_line_without_its_errno():
    from smfuse.cli import _message

    assert _message(FileExistsError(17, "File exists", "/x/run")) == "/x/run: File exists"
    assert _message(OSError(18, "Invalid cross-device link", "/a", None, "/b")) == \
        "/a: Invalid cross-device link (and /b)"
    assert _message(ValueError("two\nlines")) == "two lines"
