"""Verification of a run against the committed results (smfuse.reproduce.verify), and the run's rules around it:
results/ untouched, --out inside results/ refused, --refresh-results only from a complete run, a quiet kernel.

The comparison tests use small hand-made results folders; one test starts a kernel (a few seconds)."""

import csv
import hashlib
import json
import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from smfuse.reproduce import run as reproduce
from smfuse.reproduce import verify as V
from smfuse.reproduce.verify import FLOAT64, TIMING, Rule, Tolerance

NB = "01-demo"

# a deterministic notebook (float64), with a trained and a timing column
RULES = (Rule("*", "claims.json", "n_*", V.EXACT),
         Rule("*", "table.csv", "seconds", TIMING),
         Rule("*", "table.csv", "loss", Tolerance("trained", rtol=0.10)),
         Rule("*", "*", "*", FLOAT64))

TABLE = [["pair", "accuracy", "loss", "seconds"],
         ["p1", "0.9911", "2.0", "10.0"],
         ["p2", "0.8146", "3.0", "12.0"]]


def _claim(text, verdict="supported", estimate=0.1765, low=0.1499, high=0.2036, n_pairs=24, detail=True,
           file="table.csv"):
    if verdict == "not measured":
        vtext = "not measured (the authors' saved masks are not in the data folder: smfuse data fetch authors)"
    else:
        vtext = f"{verdict} ({estimate:+.4f} [{low:+.4f}, {high:+.4f}]; {n_pairs} pairs)"
    c = {"claim": text, "ours": "x", "authors": "n/a", "published": "n/a", "file": file, "notebook": NB,
         "verdict": vtext, "rule": "mean > 0"}
    if detail:
        c["detail"] = ({"verdict": verdict, "estimate": None, "low": None, "high": None, "n_pairs": 0, "n_seeds": 0}
                       if verdict == "not measured" else
                       {"verdict": verdict, "estimate": estimate, "low": low, "high": high, "n_pairs": n_pairs,
                        "n_seeds": 0})
    return c


def _folder(root, claims, table=TABLE, timings=(("01-demo", "ok", "5.0"),)):
    d = root / NB
    d.mkdir(parents=True)
    (d / "claims.json").write_text(json.dumps(claims, indent=1))
    if table is not None:
        with open(d / "table.csv", "w", newline="") as f:
            csv.writer(f).writerows(table)
    with open(root / "timings.csv", "w", newline="") as f:
        csv.writer(f).writerows([("notebook", "status", "seconds"), *timings])
    return root


@pytest.fixture
def committed(tmp_path):
    return _folder(tmp_path / "results",
                   [_claim("MI beats S2 > S1 on 24 pairs"), _claim("r=5 is as good", detail=False)])


@pytest.fixture
def no_data(tmp_path, monkeypatch):
    empty = tmp_path / "data"
    empty.mkdir()
    monkeypatch.setenv("SMFUSE_DATA", str(empty))
    return empty


def _check(run, committed):
    return V.verify(run, committed, rules=RULES)


def _rows(run):
    with open(run / V.REPORT_CSV, newline="") as f:
        return list(csv.DictReader(f))


def test_an_identical_run_reproduces_and_says_so_in_three_files(tmp_path, committed):
    run = tmp_path / "run"
    shutil.copytree(committed, run)
    (run / "timings.csv").write_text("notebook,status,seconds\n01-demo,ok,50.0\n")  # wall time is not compared
    v = _check(run, committed)
    assert v.status == V.REPRODUCED == 0
    assert [c.status for c in v.claims] == ["reproduced", "reproduced"]
    assert [(t.file, t.status, t.numbers.compared, t.numbers.timing) for t in v.tables] == [
        ("table.csv", "reproduced", 6, 2)]
    text = (run / "REPRODUCTION.md").read_text()
    assert text.startswith("# Reproduction report: reproduced") and "**REPRODUCED**, exit status 0" in text
    assert "| 01-demo | 5.0 | 50.0 |" in text
    assert [r["status"] for r in _rows(run)] == ["reproduced"] * 3
    doc = json.loads((run / V.REPORT_JSON).read_text())
    assert doc["status"] == 0 and doc["counts"]["reproduced"] == 2 and doc["fetch"] is None


def test_another_verdict_differs(tmp_path, committed):
    run = _folder(tmp_path / "run", [_claim("MI beats S2 > S1 on 24 pairs", verdict="inconclusive"),
                                     _claim("r=5 is as good", detail=False)])
    v = _check(run, committed)
    assert v.status == V.DIFFERS == 1
    first = v.claims[0]
    assert (first.status, first.same_verdict) == ("differs", False)
    assert first.reason.startswith("verdict supported -> inconclusive")
    assert v.claims[1].status == "reproduced"
    assert "(verdict supported -> inconclusive)" in (run / "REPRODUCTION.md").read_text()


def test_each_number_is_held_to_its_own_tolerance(tmp_path, committed):
    table = [r[:] for r in TABLE]
    table[1][1] = repr(0.9911 + 4e-13)  # float64 within 1e-12: reproduced
    table[1][2] = "2.19"                # trained, within 10 %: reproduced
    table[2][3] = "99.0"                # a timing: reported, never compared
    run = _folder(tmp_path / "run", [_claim("MI beats S2 > S1 on 24 pairs"), _claim("r=5 is as good", detail=False)],
                  table=table)
    v = _check(run, committed)
    assert v.status == 0, v.tables[0].numbers.examples
    assert "this run / committed: median" in v.tables[0].numbers.timing_text()
    table[2][1] = repr(0.8146 + 3e-12)  # float64 beyond 1e-12
    table[1][2] = "2.21"                # trained, beyond 10 %
    shutil.rmtree(run)
    run = _folder(tmp_path / "run", [_claim("MI beats S2 > S1 on 24 pairs"), _claim("r=5 is as good", detail=False)],
                  table=table)
    v = _check(run, committed)
    assert v.status == 1
    t = v.tables[0]
    assert (t.status, t.numbers.differ, t.numbers.compared) == ("differs", 2, 6)
    assert any("p2, accuracy" in e and "1e-12" in e for e in t.numbers.examples)
    assert any("p1, loss: 2 -> 2.21" in e for e in t.numbers.examples)
    # the claims whose evidence is this table differ with it
    assert [c.status for c in v.claims] == ["differs", "differs"]


def test_claim_numbers_full_precision_or_as_printed(tmp_path, committed):
    # with detail on both sides: the estimate at full precision (1e-12 for float64)
    run = _folder(tmp_path / "run", [_claim("MI beats S2 > S1 on 24 pairs", estimate=0.1765 + 1e-9),
                                     _claim("r=5 is as good", detail=False, high=0.2037)])
    v = _check(run, committed)
    a, b = v.claims
    assert a.status == "differs" and "claim's estimate" in a.numbers.examples[0]
    # read back from the verdict text (no detail): a deterministic number must print the same digits
    assert b.status == "differs" and "identical to 4 decimals, as printed" in b.numbers.examples[0]
    # the same claim under a trained tolerance may move by its tolerance plus one printed unit
    trained = (Rule("*", "claims.json", "n_*", V.EXACT), Rule("*", "claims.json", "*", Tolerance("t", atol=0.001)),
               Rule("*", "*", "*", FLOAT64))
    assert V.verify(run, committed, rules=trained, write=False).claims[1].status == "reproduced"


def test_a_claim_not_measured_could_not_be_checked_and_the_report_says_what_to_fetch(tmp_path, committed, no_data):
    run = _folder(tmp_path / "run", [_claim("MI beats S2 > S1 on 24 pairs", verdict="not measured", file=""),
                                     _claim("r=5 is as good", detail=False)], table=None)
    v = _check(run, committed)
    assert v.status == V.INCOMPLETE == 3
    assert [c.status for c in v.claims] == ["could not be checked", "could not be checked"]
    assert v.claims[0].run_verdict.startswith("not measured")
    assert "table.csv (absent from this run)" in v.claims[1].reason  # its evidence table was not written
    assert v.tables[0].status == "could not be checked" and v.tables[0].numbers.missing == 6
    from smfuse.data.fetch import SETS

    assert v.fetch == "smfuse data fetch " + " ".join(SETS)  # every set is missing from the empty data folder
    text = (run / "REPRODUCTION.md").read_text()
    assert text.startswith("# Reproduction report: incomplete")
    assert f"Fetch what is missing with `{v.fetch}`" in text
    assert json.loads((run / V.REPORT_JSON).read_text())["fetch"] == v.fetch
    # not measured in the committed results either: still nothing this run could check
    old = _folder(tmp_path / "old", [_claim("MI beats S2 > S1 on 24 pairs", verdict="not measured", file="")],
                  table=None)
    again = V.verify(run, old, rules=RULES, write=False)
    assert (again.claims[0].same_verdict, again.claims[0].status) == (True, "could not be checked")


def test_a_difference_outweighs_what_is_missing(tmp_path, committed, no_data):
    run = _folder(tmp_path / "run", [_claim("MI beats S2 > S1 on 24 pairs", verdict="not measured"),
                                     _claim("r=5 is as good", verdict="refuted", detail=False)])
    assert _check(run, committed).status == V.DIFFERS


def test_rows_are_matched_by_their_names_and_rows_new_or_gone_are_reported(tmp_path, committed, no_data):
    claims = [_claim("MI beats S2 > S1 on 24 pairs"), _claim("r=5 is as good", detail=False)]
    run = _folder(tmp_path / "run", claims, table=[TABLE[0], TABLE[2], TABLE[1]])  # reordered
    assert _check(run, committed).status == 0
    shutil.rmtree(run)
    run = _folder(tmp_path / "run", claims, table=TABLE[:2])  # p2 gone
    t = _check(run, committed).tables[0]
    assert (t.status, t.numbers.missing) == ("could not be checked", 3)
    shutil.rmtree(run)
    run = _folder(tmp_path / "run", claims, table=TABLE + [["p3", "0.5", "1.0", "1.0"]])  # p3 new
    t = _check(run, committed).tables[0]
    assert t.status == "differs" and "table.csv: p3: new in this run" in t.numbers.examples[0]


def test_a_claim_whose_numbers_moved_is_still_found(tmp_path, committed):
    # the numbers inside a claim's text change from run to run: the claim is matched with them masked
    c = _claim("MI beats S2 > S1 on 24 pairs")
    c2 = dict(c, claim="MI beats S2 > S1 on 23 pairs")
    run = _folder(tmp_path / "run", [c2, _claim("r=5 is as good", detail=False)])
    assert _check(run, committed).status == 0


def test_a_failed_notebook_could_not_be_checked(tmp_path, committed):
    run = tmp_path / "run"
    run.mkdir()
    v = V.verify(run, committed, notebooks=[NB], failed={NB: "failed: cell 3: AssertionError"}, rules=RULES)
    assert v.status == V.INCOMPLETE
    assert {c.status for c in v.claims} == {"could not be checked"}
    assert v.claims[0].reason == "failed: cell 3: AssertionError"
    assert "01-demo (failed: cell 3: AssertionError)" in (run / "REPRODUCTION.md").read_text()


def test_the_tolerance_table():
    tol = V.tolerance_for
    assert tol("04-training", "log.csv", "seconds") is TIMING           # before the trained losses
    assert tol("04-training", "log.csv", "holdout_agreement") is V.TRAINED_AGREEMENT
    assert tol("04-training", "log.csv", "loss") is V.TRAINED_LOSS
    assert tol("04-training", "time_to_quality.csv", "seconds") is V.EXACT  # read from the study's logs
    assert tol("02-guided-block", "sweep_r_eps.csv", "accuracy") is FLOAT64
    assert tol("05-evaluation", "table_lytro.csv", "qabf") is V.FIXED_WEIGHTS
    assert tol("05-evaluation", "claims.json", "n_pairs") is V.EXACT
    assert all(r.tolerance.reason for r in V.TOLERANCES)
    assert (FLOAT64.allowed(50.0), TIMING.compared) == (pytest.approx(5.1e-11), False)
    assert V.main(["/no/such/run"]) == 2


# ----------------------------------------------------------------------------- the run around it


def _tree(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


BODY = """
from smfuse.reproduce import report
from smfuse.reproduce.claims import decide
rep = report.Report("01-demo", out_dir)
rep.claim("ours beats the baseline", verdict=decide([0.01, 0.012, 0.008, 0.011], direction="greater", rule="d > 0"),
          ours=0.5, file="")
"""


def _commit(results, name):
    """The committed result of a notebook made of BODY: the same code, run here."""
    code = BODY.replace('"01-demo", out_dir)', f"{name!r}, {str(results / name)!r})")
    exec(compile(code, "committed", "exec"), {})
    (results / name / f"{name}.ipynb").write_text("{}")


@pytest.fixture
def checkout(tmp_path, monkeypatch):
    """A checkout's layout: notebooks/01-demo.ipynb, results/ (with what a run does not write), runs/."""
    nbdir, results, runs = tmp_path / "notebooks", tmp_path / "results", tmp_path / "runs"
    nbdir.mkdir()
    params = new_code_cell('profile = "quick"\nout_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell(BODY)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nbdir / "01-demo.ipynb")
    (results / "study").mkdir(parents=True)
    (results / "study" / "log.csv").write_text("step\n1\n")
    (results / "benchmarks.csv").write_text("what,value\nx,1\n")
    monkeypatch.setattr(reproduce, "NOTEBOOKS_DIR", nbdir)
    monkeypatch.setattr(reproduce, "RESULTS_DIR", results)
    monkeypatch.setattr(reproduce, "RUNS_DIR", runs)
    return nbdir, results, runs


@pytest.mark.slow
def test_a_full_run_writes_a_fresh_folder_verifies_it_and_leaves_results_alone(checkout, capfd):
    nbdir, results, runs = checkout
    _commit(results, "01-demo")
    before = _tree(results)
    lines = []
    status = reproduce.run(profile="full", notebooks=nbdir, against=results, log=lines.append)
    assert status == 0, "\n".join(lines)
    assert _tree(results) == before  # not a byte changed
    (out,) = runs.iterdir()
    assert out.name.startswith("full-")
    report = (out / "REPRODUCTION.md").read_text()
    assert "**REPRODUCED**, exit status 0" in report and "| 01 | ours beats the baseline |" in report
    assert lines[-2].startswith("reproduction: REPRODUCED (exit 0): 1 claims, 1 reproduced")
    assert lines[-1].startswith("reproduction report: ") and lines[-1].endswith("REPRODUCTION.md")
    # the kernel did not warn about its transport on stderr
    assert "without encryption" not in capfd.readouterr().err
    # a refresh from this complete run replaces the notebooks' results and keeps the rest
    (results / "01-demo" / "stale.png").write_bytes(b"old")
    reproduce.refresh_results(out, results, notebooks=nbdir, log=lines.append)
    assert not (results / "01-demo" / "stale.png").exists()
    assert (results / "01-demo" / "01-demo.ipynb").read_bytes() == (out / "01-demo" / "01-demo.ipynb").read_bytes()
    assert (results / "study" / "log.csv").is_file() and (results / "benchmarks.csv").is_file()
    assert not (results / "REPRODUCTION.md").exists() and (results / "SUMMARY.md").is_file()
    assert sorted(p.name for p in results.parent.iterdir()) == ["notebooks", "results", "runs"]  # nothing left beside


def test_out_inside_results_or_notebooks_is_refused_before_anything_runs(checkout, capsys):
    nbdir, results, runs = checkout
    before = _tree(results)
    for where in (results / "mine", nbdir / "out"):
        assert reproduce.main(["--profile", "full", "--no-fetch", "--out", str(where)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "lies inside the committed" in err and "--refresh-results" in err
        assert not where.exists()
    assert _tree(results) == before and not runs.exists()


def test_refresh_is_refused_in_one_line_before_results_are_touched(checkout, tmp_path, capsys):
    nbdir, results, runs = checkout
    busy = runs / "busy"
    busy.mkdir(parents=True)
    (busy / "x").write_text("mine")
    for args, why in ((["-p", "seed=1"], "takes no -p"), (["--only", "01", "--out", str(busy)], "is not empty")):
        assert reproduce.main(["--profile", "full", "--refresh-results", *args]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and why in err
    assert reproduce.main(["--refresh-results"]) == 2 and "needs --profile full" in capsys.readouterr().err
    # from an incomplete run: a claim not measured
    before = _tree(results)
    run = tmp_path / "run"
    (run / "01-demo").mkdir(parents=True)
    (run / "01-demo" / "01-demo.ipynb").write_text("{}")
    (run / "01-demo" / "claims.json").write_text(json.dumps([_claim("x", verdict="not measured")]))
    with pytest.raises(reproduce.RefreshRefused, match=r"^--refresh-results refused, results/ left as committed: "
                                                       r"1 claims were not measured in this run") as exc:
        reproduce.refresh_results(run, results, notebooks=nbdir)
    assert "\n" not in str(exc.value)
    # ... or a notebook without results (failed, or not run)
    shutil.rmtree(run / "01-demo")
    with pytest.raises(reproduce.RefreshRefused, match="notebooks 01-demo have no finished results"):
        reproduce.refresh_results(run, results, notebooks=nbdir)
    assert _tree(results) == before
    assert sorted(p.name for p in results.parent.iterdir()) == ["notebooks", "results", "run", "runs"]


@pytest.mark.slow
def test_refresh_with_only_keeps_the_other_notebooks_committed_results(checkout):
    nbdir, results, runs = checkout
    params = new_code_cell('profile = "quick"\nout_dir = None')
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[params, new_code_cell("raise SystemExit('02 must not run')")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, nbdir / "02-kept.ipynb")
    for name in ("01-demo", "02-kept"):
        _commit(results, name)
    (results / "SUMMARY.md").write_text("Profile **full**; the committed run.\n")
    (results / "timings.csv").write_text("notebook,status,seconds\n01-demo,ok,1.0\n02-kept,ok,2.0\n")
    (results / "01-demo" / "stale.png").write_bytes(b"old")
    kept = _tree(results / "02-kept")
    assert reproduce.main(["--profile", "full", "--no-fetch", "--only", "01", "--refresh-results"]) == 0
    assert _tree(results / "02-kept") == kept
    assert not (results / "01-demo" / "stale.png").exists()  # 01 comes from the run
    (run,) = runs.iterdir()
    assert json.loads((run / V.REPORT_JSON).read_text())["notebooks"] == ["01-demo"]  # only what ran is verified
    timings = (results / "timings.csv").read_text()
    assert "01-demo,ok," in timings and "02-kept,ok,2.0" in timings
    assert (results / "study" / "log.csv").is_file()
