"""The course: exercise cells in every numbered notebook, the check helper, student copies (executed)."""

import re
from pathlib import Path

import nbformat
import numpy as np
import pytest

from smfuse.cli import main
from smfuse.reproduce.course import CHECK, EXERCISE, SOLUTION, cell_tags, check, is_appendix, student_copy, write_course

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PATHS = [p for p in sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb")) if not is_appendix(p)]  # the chapters


def _read(path):
    return nbformat.read(path, as_version=4)


def _defined(src):
    return re.findall(r"^def (\w+)\(", src, re.M)


# ----------------------------------------------------------------------------- check()

def test_check_prints_when_right(capsys):
    check("9.9", np.array([1.0, 2.0]), [1.0, 2.0 + 1e-12], what="demo")
    assert capsys.readouterr().out == "Exercise 9.9 (demo) - correct: matches the package.\n"


def test_check_says_what_differs():
    with pytest.raises(AssertionError, match=r"Exercise 1\.1: largest difference 0\.5 at index \(1,\)"):
        check("1.1", [1.0, 2.5, 3.0], [1.0, 2.0, 3.0])
    with pytest.raises(AssertionError, match=r"shape \(2,\), expected \(3,\)"):
        check("1.1", [1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(AssertionError, match="1 of 3 values differ"):
        check("2.3", np.array([True, False, True]), np.array([True, True, True]))


def test_check_accepts_tensors(capsys):
    import torch

    check("3.3", torch.tensor([0.0, 0.5, 1.0]), np.array([0.0, 0.5, 1.0]))
    assert "correct" in capsys.readouterr().out


# ----------------------------------------------------------------------------- the notebooks' exercises

@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
def test_notebook_exercises_are_well_formed(path):
    cells = _read(path).cells
    start = next(i for i, c in enumerate(cells) if c.cell_type == "markdown" and c.source.startswith("## Exercises"))
    ex = [i for i, c in enumerate(cells) if EXERCISE in cell_tags(c)]
    assert 2 <= len(ex) <= 3
    assert all(i > start for i in ex), "exercises come after the notebook's own content"
    for i in ex:
        stub, sol, chk = cells[i], cells[i + 1], cells[i + 2]
        assert cell_tags(sol) == [SOLUTION] and cell_tags(chk) == [CHECK], f"cell {i}: stub, solution, check"
        assert "raise NotImplementedError" in stub.source and "NotImplementedError" not in sol.source
        assert _defined(stub.source) == _defined(sol.source) and len(_defined(stub.source)) == 1
        assert _defined(stub.source)[0] in chk.source and "course.check(" in chk.source
        assert stub.outputs == [] and sol.outputs == [] and chk.outputs == []
    course_cells = {i + k for i in ex for k in range(3)}
    assert not any({EXERCISE, SOLUTION, CHECK} & set(cell_tags(c))
                   for j, c in enumerate(cells) if j not in course_cells)


def test_widgets_in_01_and_02():
    for name, draw in (("01-repeated-blur", "draw_blur("), ("02-guided-block", "draw_guided(")):
        srcs = [c.source for c in _read(NOTEBOOKS / f"{name}.ipynb").cells if c.cell_type == "code"]
        assert any("import ipywidgets" in s and "live(" in s and draw in s for s in srcs), name


# ----------------------------------------------------------------------------- student copies

def test_student_copy_removes_solutions_only():
    nb = _read(PATHS[0])
    before = nbformat.writes(nb)
    st = student_copy(nb)
    assert nbformat.writes(nb) == before, "the full notebook is not modified"
    n_sol = sum(SOLUTION in cell_tags(c) for c in nb.cells)
    assert len(st.cells) == len(nb.cells) - n_sol
    assert [c.source for c in st.cells] == [c.source for c in nb.cells if SOLUTION not in cell_tags(c)]
    kept = [c for c in st.cells if c.cell_type == "code" and not cell_tags(c)]
    assert any(c.outputs for c in kept), "the notebook's own outputs stay"


def test_write_course(tmp_path, capsys):
    out = tmp_path / "course"
    assert main(["course", "-o", str(out)]) == 0
    msg = capsys.readouterr().out
    n_ex = sum(EXERCISE in cell_tags(c) for p in PATHS for c in _read(p).cells)
    assert msg.startswith(f"course: {len(PATHS)} student notebooks, {n_ex} exercises, {n_ex} solution cells removed")
    assert sorted(p.name for p in out.iterdir()) == sorted([p.name for p in PATHS] + ["README.md"])
    for p in PATHS:
        st = _read(out / p.name)
        assert not any(SOLUTION in cell_tags(c) for c in st.cells)
        assert sum(EXERCISE in cell_tags(c) for c in st.cells) == sum(EXERCISE in cell_tags(c) for c in _read(p).cells)


def test_write_course_refusals(tmp_path, capsys):
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "01-repeated-blur.ipynb").write_text("my work")
    with pytest.raises(ValueError, match="not empty"):
        write_course(busy)
    assert (busy / "01-repeated-blur.ipynb").read_text() == "my work"
    with pytest.raises(ValueError, match="notebooks folder itself"):
        write_course(NOTEBOOKS)
    with pytest.raises(ValueError, match="no notebooks"):
        write_course(tmp_path / "o", notebooks_dir=tmp_path / "empty")
    bare = tmp_path / "bare"
    bare.mkdir()
    nbformat.write(nbformat.v4.new_notebook(), bare / "01-x.ipynb")
    with pytest.raises(ValueError, match="no cell tagged 'exercise'"):
        write_course(tmp_path / "o", notebooks_dir=bare)
    assert not (tmp_path / "o").exists()
    assert main(["course", "-o", str(busy)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("smfuse: error: output") and "not empty" in err[0]


# ----------------------------------------------------------------------------- executed

def _exercise_sections(nbs):
    """One notebook of the exercise sections of ``nbs`` (each imports what it needs)."""
    out = nbformat.v4.new_notebook()
    out.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    for nb in nbs:
        start = next(i for i, c in enumerate(nb.cells)
                     if c.cell_type == "markdown" and c.source.startswith("## Exercises"))
        out.cells.extend(nb.cells[start:])
    return out


def _run(nb, cwd):
    from nbclient import NotebookClient

    NotebookClient(nb, kernel_name="python3", allow_errors=True, timeout=300,
                   resources={"metadata": {"path": str(cwd)}}).execute()
    return {i: o for i, c in enumerate(nb.cells) if c.cell_type == "code"
            for o in c.get("outputs", []) if o.output_type == "error"}


def _text(cell):
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.output_type == "stream")


@pytest.mark.slow
def test_exercises_run(tmp_path, monkeypatch):
    """Every check passes in the full notebooks; in the student copies only the check cells fail."""
    monkeypatch.setenv("SMFUSE_RESULTS", str(tmp_path / "results"))  # the kernel inherits it
    full = _exercise_sections([_read(p) for p in PATHS])
    errors = _run(full, tmp_path)
    assert not errors, {i: (e.ename, e.evalue) for i, e in errors.items()}
    for c in full.cells:
        if CHECK in cell_tags(c):
            assert "- correct" in _text(c), c.source

    student = _exercise_sections([student_copy(_read(p)) for p in PATHS])
    errors = _run(student, tmp_path)
    checks = {i for i, c in enumerate(student.cells) if CHECK in cell_tags(c)}
    assert set(errors) == checks
    assert {e.ename for e in errors.values()} == {"NotImplementedError"}
    assert all(re.match(r"Exercise \d\.\d: write \w+", e.evalue) for e in errors.values())


@pytest.mark.slow
def test_student_copy_of_01_runs_whole(tmp_path, monkeypatch):
    """A whole student notebook, as a learner gets it: it runs, and only its check cells fail."""
    monkeypatch.setenv("SMFUSE_RESULTS", str(tmp_path / "results"))  # never into the committed results/
    course = write_course(tmp_path / "course")
    nb = _read(course.out_dir / "01-repeated-blur.ipynb")
    errors = _run(nb, course.out_dir)
    checks = {i for i, c in enumerate(nb.cells) if CHECK in cell_tags(c)}
    assert len(checks) == 3 and set(errors) == checks
    assert {e.ename for e in errors.values()} == {"NotImplementedError"}


def test_the_appendix_is_left_out_and_only_it():
    every = sorted(NOTEBOOKS.glob("[0-9][0-9]-*.ipynb"))
    assert [p.stem for p in every if is_appendix(p)] == ["10-appendix-study"]
    assert not is_appendix("09-strengths.ipynb") and is_appendix("10-appendix-study.ipynb")
