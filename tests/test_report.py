"""Tests of smfuse.reproduce.report: output folders, claims, and the small measurements the notebooks show."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from smfuse.reproduce import report
from smfuse.method.network import RECEPTIVE_FIELD, MaskGenerator


def test_resolve_out_dir_default_is_under_results_root(tmp_path, monkeypatch):
    monkeypatch.setenv(report.RESULTS_ENV, str(tmp_path))
    monkeypatch.chdir(tmp_path.parent)  # the cwd must not matter
    d = report.resolve_out_dir("01-example")
    assert d == tmp_path / "01-example" and d.is_dir()


def test_resolve_out_dir_without_env_uses_an_ignored_folder(monkeypatch):
    # A notebook run on its own must not write into the committed results/.
    monkeypatch.delenv(report.RESULTS_ENV, raising=False)
    assert report.results_root() == report.REPO_ROOT / "runs" / "notebooks"
    import subprocess

    probe = report.relpath(report.results_root() / "01-example" / "x.csv")
    ignored = subprocess.run(["git", "check-ignore", "-q", probe], cwd=report.REPO_ROOT)
    if ignored.returncode == 128:
        pytest.skip("not a git checkout")
    assert ignored.returncode == 0, f"{probe} must be git-ignored"


def test_resolve_out_dir_explicit(tmp_path):
    d = report.resolve_out_dir("01-example", tmp_path / "x" / "y")
    assert d == tmp_path / "x" / "y" and d.is_dir()


@pytest.mark.parametrize("bad", ["", "a/b", "..\\x"])
def test_resolve_out_dir_rejects_paths_as_names(bad, tmp_path):
    with pytest.raises(ValueError, match="notebook name"):
        report.resolve_out_dir(bad, tmp_path)


def test_claims_written_at_once_and_reset_on_rerun(tmp_path):
    from smfuse.reproduce.claims import decide, not_measured

    rep = report.Report("00-test", tmp_path)
    v = decide([0.19, 0.2, 0.21], direction="greater", rule="mean(x) > 0")
    rep.claim("first", verdict=v, ours=0.123456, authors=None, published="1.0 (paper)", file="t.csv")
    rows = json.loads((tmp_path / "claims.json").read_text())
    detail = rows[0].pop("detail")
    assert rows == [{"claim": "first", "ours": "0.1235", "authors": "n/a", "published": "1.0 (paper)",
                     "file": "t.csv", "notebook": "00-test", "verdict": v.text(), "rule": "mean(x) > 0",
                     "id": "", "subject": "", "section": "beyond"}]
    assert detail["verdict"] == "supported" and detail["estimate"] == pytest.approx(0.2)
    assert rows[0]["verdict"].startswith("supported (+0.2000 [")
    assert pd.read_csv(tmp_path / "claims.csv").shape == (1, 12)
    rep.claim("second", verdict=not_measured("no data: fetch it"), ours=38339)
    assert [r["ours"] for r in report.load_claims(tmp_path)] == ["0.1235", "38,339"]
    report.Report("00-test", tmp_path)  # a re-run starts afresh
    assert report.load_claims(tmp_path) == []


def test_claim_is_joined_to_the_register_by_id(tmp_path):
    from smfuse.reproduce.claims import not_measured

    rep = report.Report("00-test", tmp_path)
    rep.claim("the learned mask beats MI", verdict=not_measured("no data: fetch it"), id="C6", subject="authors")
    rep.claim("38,339 parameters", verdict=not_measured("no data: fetch it"), id="F1")
    rep.claim("arm a converged", verdict=not_measured("no runs"), section="appendix")
    assert [(r["id"], r["section"]) for r in report.load_claims(tmp_path)] == [("C6", "paper"), ("F1", "fact"),
                                                                               ("", "appendix")]
    with pytest.raises(ValueError, match="no claim 'C99' in the register"):
        rep.claim("unknown", verdict=not_measured("x"), id="C99")
    with pytest.raises(ValueError, match="section must be one of"):
        rep.claim("odd", verdict=not_measured("x"), section="elsewhere")


def test_claim_needs_text_and_a_computed_verdict(tmp_path):
    from smfuse.reproduce.claims import not_measured

    with pytest.raises(ValueError, match="non-empty"):
        report.Report("00-test", tmp_path).claim("", verdict=not_measured("x"))
    with pytest.raises(TypeError, match="Verdict from the claims rule"):
        report.Report("00-test", tmp_path).claim("written in", verdict="supported")


def test_figure_and_table(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    rep = report.Report("00-test", tmp_path)
    fig = report.image_grid([np.zeros((4, 4)), np.ones((4, 4, 3))], ["a", "b"])
    assert rep.figure(fig, "grid") == "grid.png" and (tmp_path / "grid.png").stat().st_size > 0
    assert rep.table(pd.DataFrame({"x": [1.5]}), "t", index=False) == "t.csv"
    assert pd.read_csv(tmp_path / "t.csv").x.tolist() == [1.5]
    with pytest.raises(ValueError, match="plain file name"):
        rep.table(pd.DataFrame(), "../escape")


@pytest.mark.parametrize("value, text", [(None, "n/a"), (float("nan"), "n/a"), (0.5, "0.5000"),
                                         (np.float32(2), "2.0000"), (12345, "12,345"), (True, "True"),
                                         ("text", "text")])
def test_fmt(value, text):
    assert report.fmt(value) == text


def test_relpath_hides_machine_paths(tmp_path):
    assert report.relpath(report.REPO_ROOT / "results" / "x.csv") == "results/x.csv"
    assert report.relpath(tmp_path / "y.csv") == "y.csv"


def test_boundary_window_finds_the_edge():
    m = np.zeros((64, 64), bool)
    m[:, 40:] = True  # vertical edge between columns 39 and 40
    y, x = report.boundary_window(m, 16)
    assert x <= 39 < x + 16 and y == 0
    with pytest.raises(ValueError, match="size"):
        report.boundary_window(m, 65)


def test_count_islands():
    m = np.zeros((20, 20), bool)
    m[2:4, 2:4] = True  # 4 px island
    m[10:18, 10:18] = True  # 64 px island
    assert report.count_islands(m) == 3  # two True regions + the background
    assert report.count_islands(m, max_area=10) == 1


def test_receptive_field_of_the_mask_generator():
    torch.manual_seed(0)
    assert report.receptive_field(MaskGenerator()) == (RECEPTIVE_FIELD, RECEPTIVE_FIELD)
    with pytest.raises(ValueError, match="odd"):
        report.receptive_field(MaskGenerator(), size=32)


def test_read_markdown_table(tmp_path):
    p = tmp_path / "t.md"
    p.write_text("intro\n\n| method | QMI | QG |\n|---|---|---|\n| cnn | 1.1512 | 0.7615 |\n| gff | 1.0980 | 0.7598 |\n\nend\n")
    df = report.read_markdown_table(p)
    assert df.method.tolist() == ["cnn", "gff"] and df.QMI.dtype.kind == "f"
    p.write_text("no table here\n")
    with pytest.raises(ValueError, match="no Markdown pipe table"):
        report.read_markdown_table(p)


def test_load_models_without_data(monkeypatch, tmp_path):
    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path))  # an empty data folder: no authors' checkpoint
    assert report.authors_checkpoint() is None
    assert report.load_models()["smfuse_authors"] is None


def test_load_models_from_a_weights_folder(monkeypatch, tmp_path):
    from smfuse.runtime.checkpoint import save_checkpoint

    torch.manual_seed(0)
    net = MaskGenerator()
    save_checkpoint(tmp_path / "smfuse_code.pt", net, meta={"note": "test"})
    monkeypatch.setenv(report.WEIGHTS_ENV, str(tmp_path))
    models = report.load_models()
    assert models["smfuse_paper"] is None
    assert torch.equal(models["smfuse_code"].dec3.weight, net.dec3.weight)

def test_check_verdicts(tmp_path):
    from smfuse.reproduce.claims import decide, not_measured

    rep = report.Report("00-test", tmp_path)
    with pytest.raises(AssertionError, match="no claims recorded"):
        rep.check_verdicts()
    rep.claim("measured", verdict=decide([1.0, 2.0], direction="greater", rule="x > 0"))
    rep.claim("absent", verdict=not_measured("no data"))
    rep.check_verdicts()
    rep.claim("no rule", verdict=decide([1.0, 2.0], direction="greater"))
    with pytest.raises(AssertionError, match="does not state its rule"):
        rep.check_verdicts()
