"""Tests of smfuse.reproduce.run on tiny temporary notebooks (each starts a kernel: a few seconds)."""

import json
import re

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from smfuse.reproduce import run as reproduce


def _notebook(folder, name, body):
    params = new_code_cell('profile = "quick"\nout_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[new_markdown_cell(f"# {name}"), params, new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / f"{name}.ipynb")


WRITE_CLAIM = """
from smfuse.reproduce import report
rep = report.Report(NAME, out_dir)
from smfuse.reproduce.claims import decide
rep.claim("a claim | with a pipe", verdict=decide([1.0, 2.0, 1.5, 1.2, 1.8], direction="less", rule="x < 0"), ours=1.5,
          published="2 (paper)", file="x.csv")
print("profile is", profile)
"""


@pytest.fixture
def nbdir(tmp_path):
    d = tmp_path / "notebooks"
    d.mkdir()
    return d


def test_select_notebooks(nbdir):
    for n in ("01-alpha", "02-beta", "10-gamma"):
        _notebook(nbdir, n, "pass")
    nbs = reproduce.list_notebooks(nbdir)
    assert [p.stem for p in nbs] == ["01-alpha", "02-beta", "10-gamma"]
    assert [p.stem for p in reproduce.select_notebooks(nbs, None)] == ["01-alpha", "02-beta", "10-gamma"]
    assert [p.stem for p in reproduce.select_notebooks(nbs, ["10", "beta"])] == ["02-beta", "10-gamma"]
    assert [p.stem for p in reproduce.select_notebooks(nbs, "1,01-alpha")] == ["01-alpha"]
    with pytest.raises(ValueError, match="matches no notebook.*01-alpha"):
        reproduce.select_notebooks(nbs, ["zeta"])


@pytest.mark.slow
def test_failing_notebook_stops_the_run_with_its_name(nbdir, tmp_path):
    _notebook(nbdir, "01-good", WRITE_CLAIM.replace("NAME", '"01-good"'))
    _notebook(nbdir, "02-bad", "x = 1\nassert x == 2, 'the numbers are off'")
    _notebook(nbdir, "03-later", "raise SystemExit('must not run')")
    out = tmp_path / "results"
    lines = []
    status = reproduce.run(out=out, notebooks=nbdir, log=lines.append)
    assert status == 1
    text = "\n".join(lines)
    assert "02-bad: FAILED" in text and "AssertionError: the numbers are off" in text
    assert "03-later" not in "".join(line for line in lines if "..." in line and "03" in line)
    # the failed notebook cannot pass for a result; the later one never ran
    assert not (out / "02-bad" / "02-bad.ipynb").exists()
    assert (out / "02-bad" / "02-bad.FAILED.ipynb").is_file()
    assert not (out / "03-later").exists()
    summary = (out / "SUMMARY.md").read_text()
    assert "FAILED at 02-bad" in summary and "AssertionError" in summary
    assert "| 03-later | not run |" in summary
    # the good notebook's claim made it (no register id: beyond the paper), pipes escaped, with its verdict
    beyond = summary[summary.index("## Beyond the paper"):summary.index("## Statistical policy")]
    assert "a claim \\| with a pipe" in beyond and "| refuted (+1.5000 [" in beyond
    # the answer opens the report, then the paper's claims from the register, none measured by this run
    assert summary.index("## The answer") < summary.index("## The paper's claims") < summary.index("## Beyond")
    assert "| C6 | " in summary and "not measured (no row in this run)" in summary


@pytest.mark.slow
def test_successful_run_strips_timestamps_and_paths(nbdir, tmp_path):
    _notebook(nbdir, "01-good", WRITE_CLAIM.replace("NAME", '"01-good"'))
    out = tmp_path / "results"
    assert reproduce.run(profile="full", out=out, notebooks=nbdir, log=lambda s: None) == 0
    executed = out / "01-good" / "01-good.ipynb"
    nb = nbformat.read(executed, as_version=4)
    pm = nb.metadata["papermill"]
    assert pm["parameters"]["profile"] == "full"
    for key in ("start_time", "end_time", "duration", "input_path", "output_path"):
        assert key not in pm
    for cell in nb.cells:
        assert "execution" not in cell.metadata
        assert not {"start_time", "end_time", "duration"} & set(cell.metadata.get("papermill", {}))
    raw = executed.read_text()
    assert str(tmp_path) not in raw, "no absolute path may be written into the executed notebook"
    assert "profile is full" in raw
    assert json.loads((out / "01-good" / "claims.json").read_text())[0]["ours"] == "1.5000"
    summary = (out / "SUMMARY.md").read_text()
    assert "All 1 notebooks ran." in summary and "| 01-good | ok |" in summary
    assert (out / "timings.csv").read_text().startswith("notebook,status,seconds")


def test_bad_profile_and_empty_folder(nbdir):
    with pytest.raises(ValueError, match="profile"):
        reproduce.run(profile="medium", notebooks=nbdir)
    with pytest.raises(ValueError, match="no notebooks"):
        reproduce.run(notebooks=nbdir)


def test_main_reports_errors_in_one_line(capsys):
    assert reproduce.main(["--only", "no-such-notebook"]) == 2
    assert "matches no notebook" in capsys.readouterr().err


def test_default_out_never_the_committed_results(tmp_path, monkeypatch):
    full = reproduce.default_out("full")
    assert full.parent == reproduce.REPO_ROOT / "runs" and re.fullmatch(r"full-\d{8}-\d{6}", full.name)
    monkeypatch.setattr(reproduce, "RUNS_DIR", tmp_path)
    monkeypatch.setattr(reproduce.time, "strftime", lambda fmt: "20260101-120000")
    first = reproduce.default_out("full")
    first.mkdir()
    # a second run started in the same second gets its own folder
    assert reproduce.default_out("full") == tmp_path / "full-20260101-120000-2"
    assert reproduce.default_out("quick") == tmp_path / "results-quick"
    assert reproduce.default_out("full", {"dataset": "/x/my pairs"}) == tmp_path / "results-full-dataset=my_pairs"


def test_parse_assignments(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "pairs").mkdir()
    got = reproduce.parse_assignments(["seed=2", "methods=dwt,gff", "dataset=pairs", "weights=none"])
    assert got == {"seed": 2, "methods": "dwt,gff", "dataset": str(tmp_path / "pairs"), "weights": None}
    assert reproduce.parse_assignments(["seed=0,1"], many=True) == {"seed": [0, 1]}
    with pytest.raises(ValueError, match="expects KEY=VALUE"):
        reproduce.parse_assignments(["seed"])


PARAMS = """
from smfuse.reproduce import report
from smfuse.reproduce.claims import exact_check
rep = report.Report(NAME, out_dir)
rep.claim(f"seed is {seed}", verdict=exact_check(seed, 0, direction="greater", rule="seed > 0"), ours=seed, file="")
"""


@pytest.mark.slow
def test_parameters_pass_through_and_a_grid_collects_every_claim(nbdir, tmp_path):
    params = new_code_cell('profile = "quick"\nout_dir = None\nseed = 0  # the seed')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(PARAMS.replace("NAME", '"01-seeded"'))])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nbdir / "01-seeded.ipynb")
    with pytest.raises(ValueError, match="no selected notebook has a parameter 'dataset'; they take: seed"):
        reproduce.run(notebooks=nbdir, out=tmp_path / "r", parameters={"dataset": "x"})
    out = tmp_path / "grid"
    assert reproduce.run_grid({"seed": [3, 7]}, out=out, notebooks=nbdir, log=lambda s: None) == 0
    import csv

    rows = list(csv.DictReader(open(out / "claims_grid.csv")))
    assert [(r["param_seed"], r["claim"], r["ours"]) for r in rows] == [("3", "seed is 3", "3"), ("7", "seed is 7", "7")]
    assert all(r["verdict"].startswith("supported") and r["rule"] == "seed > 0" for r in rows)
    assert (out / "01-seed=3" / "01-seeded" / "01-seeded.ipynb").is_file()


@pytest.mark.slow
def test_a_real_notebook_refuses_a_bad_profile_in_its_first_cell(tmp_path):
    path = reproduce.NOTEBOOKS_DIR / "01-repeated-blur.ipynb"
    assert set(reproduce.notebook_parameters(path)) == {"profile", "out_dir"}
    # cell 0 markdown, 1 parameters, 2 papermill's injected parameters, 3 the check
    with pytest.raises(reproduce.NotebookFailed, match=r"cell 3 .*ValueError: parameter profile must be one of "
                                                       r"'quick', 'full', got 'medium'"):
        reproduce.run_notebook(path, tmp_path / "o", profile="medium")


@pytest.mark.slow
def test_rerunning_one_notebook_keeps_the_others_results_in_the_summary(nbdir, tmp_path):
    for n in ("01-a", "02-b"):
        _notebook(nbdir, n, WRITE_CLAIM.replace("NAME", f'"{n}"').replace("a claim", f"claim of {n}"))
    out = tmp_path / "results"
    assert reproduce.run(profile="full", out=out, notebooks=nbdir, log=lambda s: None) == 0
    first = (out / "01-a" / "01-a.ipynb").read_bytes()
    assert reproduce.run(profile="full", out=out, only=["02"], notebooks=nbdir, log=lambda s: None) == 0
    summary = (out / "SUMMARY.md").read_text()
    assert "All 2 notebooks' results are here: 02-b ran now; the others are kept" in summary
    assert "claim of 01-a" in summary and "claim of 02-b" in summary
    assert "| 01-a | ok (earlier run) |" in summary and "| 02-b | ok |" in summary
    assert (out / "01-a" / "01-a.ipynb").read_bytes() == first  # untouched
    # another profile's folder is not merged: the summary names only what ran
    assert reproduce.run(profile="quick", out=out, only=["02"], notebooks=nbdir, log=lambda s: None) == 0
    summary = (out / "SUMMARY.md").read_text()
    assert "Only the selected notebooks ran (02-b)" in summary and "claim of 01-a" not in summary


def test_papermill_reads_every_parameter_each_notebook_declares(caplog):
    """papermill skips a parameters line with a second '=' (say in its comment) with only a warning, and
    ``smfuse reproduce -p`` then refuses that parameter as declared by no notebook."""
    import ast
    import logging

    from smfuse.reproduce.report import REPO_ROOT

    for path in reproduce.list_notebooks(REPO_ROOT / "notebooks"):
        cell = next(c for c in nbformat.read(path, as_version=4).cells if "parameters" in c.metadata.get("tags", []))
        assigned = [t.id for node in ast.parse(cell.source).body if isinstance(node, ast.Assign) for t in node.targets]
        with caplog.at_level(logging.WARNING, logger="papermill"):
            caplog.clear()
            read = reproduce.notebook_parameters(path)
        assert list(read) == assigned, path.name
        assert not [r for r in caplog.records if "Unable to parse" in r.getMessage()], path.name
