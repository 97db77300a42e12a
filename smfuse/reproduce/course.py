"""Teaching material in the notebooks: exercises, their solutions and checks; student copies.

Each notebook 01-08 ends with one to three exercises. An exercise is three code cells, told apart by
their cell tags:

``exercise``
    The stub the learner completes: a function whose body raises :class:`NotImplementedError` until
    it is written. Running the cell only defines the function, so it never fails by itself.
``solution``
    The same function, written out. It redefines the stub, so a full notebook runs end to end.
``exercise-check``
    Calls the function and compares its answer with the package (:func:`check`): it prints
    ``Exercise N.M - correct: ...`` or raises :class:`AssertionError` saying what differs.

``smfuse course -o DIR`` (:func:`write_course`) writes the student copies: every ``solution`` cell
removed, the outputs of the exercise cells cleared, everything else as committed (figures and tables
included, so the notebook reads before it is run). Running a student copy as it comes, the
``exercise-check`` cells are the only cells that fail, each with the stub's NotImplementedError; they
pass once the stubs are written. The exercise cells come after the notebook's own content and import
what they need, so a class can start from the exercises.

References
----------
The pattern of Neuromatch Academy's and d2l's course notebooks: stubs raising NotImplementedError,
solutions stripped into student copies, checks that tell the learner whether the answer is right.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

__all__ = ["EXERCISE", "SOLUTION", "CHECK", "check", "student_copy", "write_course", "Course", "cell_tags", "is_appendix"]

EXERCISE = "exercise"
SOLUTION = "solution"
CHECK = "exercise-check"
_NOTEBOOKS = "[0-9][0-9]-*.ipynb"


def check(exercise: str, got, expected, *, atol: float = 1e-8, rtol: float = 1e-7, what: str = "") -> None:
    """Tell the learner whether an answer matches the package's.

    Parameters
    ----------
    exercise : str
        Its number, e.g. ``"1.1"``.
    got, expected : array_like, tensor, number or tuple
        The learner's answer and the package's. Tensors are compared as numpy arrays; shapes
        must agree exactly.
    atol, rtol : float
        Tolerances of :func:`numpy.allclose` (defaults: equal to float64 rounding).
    what : str
        What was compared, for the message.

    Raises
    ------
    AssertionError
        The answer differs: the message gives the shapes or the largest difference.
    """
    g, e = _as_array(got), _as_array(expected)
    label = f"Exercise {exercise}" + (f" ({what})" if what else "")
    if g.shape != e.shape:
        raise AssertionError(f"{label}: your answer has shape {g.shape}, expected {e.shape}")
    if g.dtype == bool or e.dtype == bool:
        wrong = int(np.sum(g.astype(bool) != e.astype(bool)))
        if wrong:
            raise AssertionError(f"{label}: {wrong} of {g.size} values differ from the package's")
    elif not np.allclose(g, e, atol=atol, rtol=rtol, equal_nan=True):
        diff = np.abs(g.astype(np.float64) - e.astype(np.float64))
        i = np.unravel_index(np.nanargmax(diff), diff.shape) if diff.ndim else ()
        at = f" at index {tuple(int(k) for k in i)}" if diff.ndim else ""
        raise AssertionError(f"{label}: largest difference {float(np.nanmax(diff)):.3g}{at} "
                             f"(yours {g[i]!r}, expected {e[i]!r})")
    print(f"{label} - correct: matches the package.")


def _as_array(x) -> np.ndarray:
    if hasattr(x, "detach"):  # a torch tensor
        x = x.detach().cpu().numpy()
    return np.asarray(x)


def cell_tags(cell) -> list[str]:
    """The tags of a notebook cell (an empty list when it has none)."""
    return list(cell.get("metadata", {}).get("tags", []))


def student_copy(nb):
    """A student copy of a notebook: ``solution`` cells removed, exercise outputs cleared.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        A notebook (version 4); not modified.

    Returns
    -------
    nbformat.NotebookNode
    """
    import copy

    out = copy.deepcopy(nb)
    out.cells = [c for c in out.cells if SOLUTION not in cell_tags(c)]
    for c in out.cells:
        if c.cell_type == "code" and {EXERCISE, CHECK} & set(cell_tags(c)):
            c.outputs = []
            c.execution_count = None
    out.metadata.pop("widgets", None)
    return out


@dataclass
class Course:
    """What :func:`write_course` wrote.

    Attributes
    ----------
    out_dir : Path
    notebooks : list of Path
        The student notebooks, in order.
    exercises : int
        Exercise cells in all of them.
    solutions_removed : int
    """

    out_dir: Path
    notebooks: list[Path] = field(default_factory=list)
    exercises: int = 0
    solutions_removed: int = 0


def is_appendix(path: str | os.PathLike) -> bool:
    """Whether a notebook is an appendix (``NN-appendix-name.ipynb``): no exercises, not in the course."""
    return Path(path).stem[3:].startswith("appendix")


def write_course(out_dir: str | os.PathLike, *, notebooks_dir: str | os.PathLike | None = None) -> Course:
    """Write the student copies of the notebooks (and the course guide, ``README.md``).

    Parameters
    ----------
    out_dir : path
        A new or empty folder (a learner's edited copies are never written over).
    notebooks_dir : path, optional
        Where the full notebooks are; default ``notebooks/`` of this checkout.

    Returns
    -------
    Course

    Raises
    ------
    ValueError
        No notebooks there; a chapter without exercises (an appendix, ``NN-appendix-name``, is
        left out of the course); ``out_dir`` is the notebooks folder,
        a file, or a non-empty folder.
    """
    import nbformat

    from smfuse.reproduce.report import REPO_ROOT

    src = Path(notebooks_dir).expanduser() if notebooks_dir is not None else REPO_ROOT / "notebooks"
    # the chapters; an appendix (NN-appendix-name.ipynb) holds the replication's own checks, not exercises
    paths = [p for p in sorted(src.glob(_NOTEBOOKS)) if not is_appendix(p)]
    if not paths:
        raise ValueError(f"no notebooks (NN-name.ipynb) in {src}; pass --notebooks DIR")
    out = Path(out_dir).expanduser()
    if out.exists() and out.resolve() == src.resolve():
        raise ValueError(f"output {out} is the notebooks folder itself; give another folder for the student copies")
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {out} is a file; give a new or empty folder")
    if out.is_dir() and any(out.iterdir()):
        raise ValueError(f"output {out} is not empty; give a new or empty folder (student copies are never "
                         "written over)")
    copies = []
    course = Course(out_dir=out)
    for p in paths:
        nb = nbformat.read(p, as_version=4)
        n_ex = sum(EXERCISE in cell_tags(c) for c in nb.cells)
        if n_ex == 0:
            raise ValueError(f"{p.name} has no cell tagged {EXERCISE!r}; nothing to give a student")
        course.exercises += n_ex
        course.solutions_removed += sum(SOLUTION in cell_tags(c) for c in nb.cells)
        copies.append((p.name, student_copy(nb)))
    out.mkdir(parents=True, exist_ok=True)
    for name, nb in copies:
        nbformat.write(nb, out / name)
        course.notebooks.append(out / name)
    guide = src / "README.md"
    if guide.is_file():
        (out / "README.md").write_text(guide.read_text(encoding="utf-8"), encoding="utf-8")
    return course
