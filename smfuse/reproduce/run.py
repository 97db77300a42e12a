"""Reproduce every result: run the notebooks in order with papermill, then verify the run.

::

    python -m smfuse.reproduce [--profile quick|full] [--out DIR] [--only 01 05 ...] [-p KEY=VALUE ...]
    python -m smfuse.reproduce --profile full --refresh-results   # a complete run, then it replaces results/
    python -m smfuse.reproduce --only 07 --grid dataset=synthetic,FOLDER   # one run per value, one claims table
    python -m smfuse.reproduce --refresh-notebooks   # re-execute the committed notebooks in place (quick)

Where runs write: every run writes a fresh folder under the git-ignored ``runs/``: the full
profile ``runs/full-YYYYmmdd-HHMMSS/``, the quick profile ``runs/results-quick/``, a run with
parameters ``runs/results-PROFILE-KEY=VALUE.../`` and a grid ``runs/grid/``, unless ``--out``
says otherwise (never inside ``results/`` or ``notebooks/``: refused). Each run names its
folder in its last lines. The committed ``results/`` are rewritten only by the explicit
``--refresh-results``, and only from a complete run (every notebook ran, no claim *not
measured*; with ``--only``, the other notebooks' committed results are copied into the run
first and kept, so that refreshing one notebook keeps the others); otherwise the refresh is
refused, in one line, before anything in ``results/`` is touched, and the refresh itself
copies the run beside ``results/`` and then swaps the two folders. The committed notebooks in ``notebooks/`` are never rewritten, except by the
explicit ``--refresh-notebooks``. The full profile first fetches the real data it needs
(:mod:`smfuse.data.fetch`); offline, it says what is missing and runs on what is there.

Verification: a full-profile run with the notebooks' default parameters ends by comparing
itself with the committed ``results/`` (:mod:`smfuse.reproduce.verify`): every claim's
verdict, estimate and interval and every number of the notebooks' CSV tables, each within
the tolerance stated for it. The report is ``RUN/REPRODUCTION.md``, with
``reproduction.csv`` and ``reproduction.json`` beside it; claims this run could not check
are named, with the one command that fetches the missing data.

Exit status::

    0  every selected notebook ran (and, full profile, everything reproduced)
    1  a notebook failed, or something differs from the committed results
    2  a usage error (a bad option, --out inside results/, a --refresh-results that is
       refused before running: with -p, --grid or the quick profile)
    3  incomplete: nothing differs, but some claims could not be checked (data missing);
       also a --refresh-results refused after an incomplete run

Each notebook ``notebooks/NN-name.ipynb`` runs with the parameters ``profile`` and
``out_dir`` (and any of its other parameters given with ``-p``: ``dataset``, ``weights``,
``methods``, ``seed``) into ``OUT/NN-name/``, which receives the executed notebook, its PNG figures,
CSV tables and ``claims.json``. The run stops at the first failing notebook, naming it and
the failing cell's error; the failed notebook is kept as ``NN-name.FAILED.ipynb`` so that
it cannot pass for a finished result. ``OUT/SUMMARY.md`` then reports the claims
(:mod:`smfuse.reproduce.summary`) and the wall time of each notebook. ``--only``
into a folder that holds a whole earlier run of the same profile reruns the named
notebooks and keeps the others' results, so that the summary stays whole and says which
notebooks ran now.

Profiles: ``quick`` (minutes on a laptop CPU: subsets of the data, tiny training runs) and
``full`` (the shipped weights, every pair, every baseline and peer; each notebook's wall time is in
``results/timings.csv``).

The kernels talk to the runner over private IPC sockets, not TCP (so the kernel has no
reason to warn about unencrypted TCP on every notebook). The executed notebooks are made
diff-friendly: papermill's and nbclient's timestamps and the absolute input/output paths
are removed from their metadata.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from smfuse.reproduce.course import CHECK, EXERCISE, SOLUTION
from smfuse.reproduce.report import REPO_ROOT, RESULTS_ENV, load_claims

__all__ = ["run", "run_grid", "main", "list_notebooks", "select_notebooks", "run_notebook", "refresh_notebooks",
           "refresh_results", "strip_metadata", "notebook_parameters", "parse_assignments", "default_out",
           "NotebookFailed", "RefreshRefused", "add_arguments", "PROFILES", "NOTEBOOKS_DIR", "RESULTS_DIR",
           "RUNS_DIR", "KERNEL"]

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
RESULTS_DIR = REPO_ROOT / "results"  # committed: rewritten only by --refresh-results
RUNS_DIR = REPO_ROOT / "runs"  # git-ignored
PROFILES = ("quick", "full")
KERNEL = "python3"


class NotebookFailed(RuntimeError):
    """A notebook stopped with an error.

    Attributes
    ----------
    name : str
        The notebook (``NN-name``).
    error : str
        The failing cell and its error, one line (``cell 7 (In [5]): AssertionError: ...``).
    """

    def __init__(self, name: str, error: str) -> None:
        super().__init__(f"notebook {name} failed: {error}")
        self.name, self.error = name, error


@dataclass
class _Record:
    name: str
    status: str  # "ok", "FAILED", "not run"
    seconds: float | None = None
    error: str = ""
    kept: bool = False  # "ok" from an earlier run in the same folder (see _earlier_records)


# ----------------------------------------------------------------------------- selection


def list_notebooks(folder: str | os.PathLike | None = None) -> list[Path]:
    """The numbered notebooks ``NN-name.ipynb`` of ``folder`` (default ``notebooks/``), in order."""
    folder = Path(folder) if folder is not None else NOTEBOOKS_DIR
    if not folder.is_dir():
        raise ValueError(f"notebook folder {folder} does not exist (is smfuse installed from a source checkout?)")
    return sorted(p for p in folder.glob("[0-9][0-9]-*.ipynb") if p.is_file())


def select_notebooks(notebooks: list[Path], only) -> list[Path]:
    """The notebooks named by ``only``.

    Parameters
    ----------
    notebooks : list of Path
    only : None, str or iterable of str
        Numbers (``"1"``, ``"01"``), full names (``"01-repeated-blur"``) or names without
        the number (``"repeated-blur"``); a string may hold several, separated by commas
        or spaces. ``None`` or empty selects all.

    Raises
    ------
    ValueError
        If a name matches no notebook (the message lists the available ones).
    """
    if only is None:
        return list(notebooks)
    items = [only] if isinstance(only, str) else list(only)
    wanted = [w for item in items for w in str(item).replace(",", " ").split()]
    if not wanted:
        return list(notebooks)
    chosen = []
    for w in wanted:
        w = w.removesuffix(".ipynb")
        match = [p for p in notebooks
                 if p.stem == w or p.stem.split("-", 1)[1] == w or (w.isdigit() and int(p.stem[:2]) == int(w))]
        if not match:
            raise ValueError(f"--only {w!r} matches no notebook; available: {', '.join(p.stem for p in notebooks)}")
        chosen.extend(m for m in match if m not in chosen)
    return [p for p in notebooks if p in chosen]  # always in run order


# ----------------------------------------------------------------------------- running


_PAPERMILL_TIMING = ("start_time", "end_time", "duration")


def strip_metadata(nb) -> None:
    """Remove timestamps and absolute paths from an executed notebook (in place).

    papermill's ``start_time``/``end_time``/``duration`` (notebook and cells),
    ``input_path``/``output_path``, and nbclient's per-cell ``execution`` timestamps.
    """
    pm = nb.metadata.get("papermill")
    if pm is not None:
        for key in _PAPERMILL_TIMING + ("input_path", "output_path"):
            pm.pop(key, None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        cpm = cell.metadata.get("papermill")
        if cpm is not None:
            for key in _PAPERMILL_TIMING:
                cpm.pop(key, None)


def _one_line(text: str, limit: int = 300) -> str:
    import re

    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text))  # ANSI colours of IPython tracebacks
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _environment() -> dict:
    env = os.environ.copy()
    env["OMP_WAIT_POLICY"] = "PASSIVE"  # see spec: without it torch stalls on small shared CPUs
    env.setdefault("TQDM_DISABLE", "1")
    return env


class _Env:
    """Temporarily apply environment variables (the kernel inherits them)."""

    def __init__(self, env: dict) -> None:
        self.env, self.saved = env, None

    def __enter__(self):
        self.saved = os.environ.copy()
        os.environ.update(self.env)
        return self

    def __exit__(self, *exc):
        os.environ.clear()
        os.environ.update(self.saved)


@contextmanager
def _kernel_config():
    """The kernel manager's settings for one notebook: IPC sockets in a private temporary folder.

    Over TCP, ipykernel (7.x) logs at every kernel start, on the runner's stderr, that it
    "is running over TCP without encryption". Unix-domain (IPC) sockets in a folder that
    only this user can enter (``tempfile.mkdtemp``: mode 0700) carry the same messages with
    nothing listening on the network, so there is nothing to warn about; the folder is
    removed afterwards. Windows keeps TCP (no IPC transport there).

    Yields
    ------
    traitlets.config.Config
        For nbclient's ``config`` (papermill passes it on).
    """
    from traitlets.config import Config

    cfg = Config()
    if os.name == "nt":  # pragma: no cover
        yield cfg
        return
    folder = tempfile.mkdtemp(prefix="smfuse-kernel-")
    try:
        cfg.KernelManager.transport = "ipc"
        cfg.KernelManager.ip = os.path.join(folder, "kernel")  # the sockets are kernel-1 ... kernel-5 there
        yield cfg
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def run_notebook(path: str | os.PathLike, out_dir: str | os.PathLike, profile: str = "quick", *,
                 kernel: str = KERNEL, parameters: dict | None = None) -> float:
    """Execute one notebook with papermill into ``out_dir``; return the wall time in seconds.

    The notebook runs in its own folder (as under nbval) with the parameters ``profile``
    and ``out_dir`` (given relative to that folder, so no absolute path is written into the
    executed notebook), and ``parameters`` (other names of its parameters cell); the
    executed copy is ``out_dir/NAME.ipynb``, stripped of timestamps.

    Raises
    ------
    NotebookFailed
        If a cell raises or the kernel fails; the executed copy is then renamed
        ``NAME.FAILED.ipynb``.
    """
    import nbformat
    import papermill as pm

    path, out_dir = Path(path).resolve(), Path(out_dir).resolve()
    name = path.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / f"{name}.ipynb"
    out_param = os.path.relpath(out_dir, path.parent)
    t0 = time.perf_counter()
    try:
        with _Env(_environment()), _kernel_config() as config:
            pm.execute_notebook(str(path), str(output),
                                parameters={**(parameters or {}), "profile": profile, "out_dir": out_param},
                                kernel_name=kernel, cwd=str(path.parent), progress_bar=False, log_output=False,
                                config=config)
    except Exception as exc:  # noqa: BLE001 — every failure stops the run with the notebook's name
        seconds = time.perf_counter() - t0
        if isinstance(exc, pm.PapermillExecutionError):
            error = (f"cell {exc.cell_index} (In [{exc.exec_count}]): {exc.ename}: "
                     f"{_one_line(exc.evalue)}")
        else:
            error = f"{type(exc).__name__}: {_one_line(exc)}"
        if output.is_file():
            failed = out_dir / f"{name}.FAILED.ipynb"
            nb = nbformat.read(output, as_version=4)
            strip_metadata(nb)
            nbformat.write(nb, failed)
            output.unlink()
        err = NotebookFailed(name, error)
        err.seconds = seconds
        raise err from None
    seconds = time.perf_counter() - t0
    nb = nbformat.read(output, as_version=4)
    strip_metadata(nb)
    nbformat.write(nb, output)
    return seconds


COURSE_TAGS = {EXERCISE, SOLUTION, CHECK}


def refresh_notebooks(only=None, *, notebooks: str | os.PathLike | None = None, kernel: str = KERNEL,
                      log=print) -> int:
    """Re-execute the committed notebooks in place in the quick profile (the nbval references).

    Outputs and execution counts are kept, but for the exercise cells (stub, solution and
    check: :mod:`smfuse.reproduce.course`), which stay blank for the learner; timing metadata is not
    recorded. The results they write go to a temporary folder (``SMFUSE_RESULTS``), leaving
    ``results/`` untouched.

    Returns
    -------
    int
        0 on success, 1 if a notebook failed (it is then left unchanged).
    """
    import nbformat
    from nbclient import NotebookClient

    paths = select_notebooks(list_notebooks(notebooks), only)
    with tempfile.TemporaryDirectory(prefix="smfuse-refresh-") as tmp, _Env({**_environment(), RESULTS_ENV: tmp}):
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            t0 = time.perf_counter()
            try:
                with _kernel_config() as config:
                    NotebookClient(nb, kernel_name=kernel, resources={"metadata": {"path": str(path.parent)}},
                                   record_timing=False, timeout=None, config=config).execute()
            except Exception as exc:  # noqa: BLE001
                log(f"{path.stem}: FAILED ({type(exc).__name__}: {_one_line(getattr(exc, 'evalue', exc))}); "
                    "left unchanged")
                return 1
            strip_metadata(nb)
            for cell in nb.cells:
                if cell.cell_type == "code" and set(cell.metadata.get("tags", [])) & COURSE_TAGS:
                    cell.outputs, cell.execution_count = [], None
            nbformat.write(nb, path)
            log(f"{path.stem}: refreshed in {time.perf_counter() - t0:.1f} s")
    return 0


# ----------------------------------------------------------------------------- summary


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _versions() -> str:
    from smfuse import __version__

    parts = [f"smfuse {__version__}", f"Python {platform.python_version()}"]
    try:
        import torch

        parts.append(f"torch {torch.__version__}")
    except ImportError:  # pragma: no cover
        pass
    return ", ".join(parts)


def write_summary(out: Path, records: list[_Record], profile: str, *, partial: bool = False) -> Path:
    """Write ``out/SUMMARY.md`` and ``out/timings.csv`` from the notebooks' claims and times.

    ``partial``: only some notebooks were selected (``--only``); the summary says so.
    """
    from smfuse.reproduce.summary import write_summary as write_report

    failed = [r for r in records if r.status == "FAILED"]
    lines = [f"Profile **{profile}**; {_versions()}. Written by `python -m smfuse.reproduce`; every number below "
             "comes from the notebook run named beside it.", ""]
    if partial:
        lines += [f"Only the selected notebooks ran ({', '.join(r.name for r in records)}); run without `--only` "
                  "for the complete summary.", ""]
    if failed:
        lines += [f"**FAILED at {failed[0].name}:** {_md(failed[0].error)}. Later notebooks did not run; "
                  "results below are incomplete.", ""]
    elif any(r.kept for r in records):
        ran = [r.name for r in records if not r.kept]
        lines += [f"All {len(records)} notebooks' results are here: {', '.join(ran)} ran now; the others are kept "
                  f"from the earlier {profile} run in this folder (each notebook's folder holds the run it comes "
                  "from; run without `--only` to rerun them all).", ""]
    else:
        lines += [f"All {len(records)} notebooks ran.", ""]
    times = ["| notebook | status | seconds |", "|---|---|---:|"]
    for r in records:
        secs = f"{r.seconds:.1f}" if r.seconds is not None else ""
        times.append(f"| {r.name} | {r.status}{' (earlier run)' if r.kept else ''} | {secs} |")
    total = sum(r.seconds or 0 for r in records)
    times.append(f"| **total** | | **{total:.1f}** |")
    path = write_report(out, [r.name for r in records if r.status == "ok"], header=lines, timings=times)
    with open(out / "timings.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["notebook", "status", "seconds"])
        for r in records:
            w.writerow([r.name, r.status, "" if r.seconds is None else f"{r.seconds:.1f}"])
    return path


# ----------------------------------------------------------------------------- entry points


def run(profile: str = "quick", out: str | os.PathLike | None = None, only=None, *,
        notebooks: str | os.PathLike | None = None, kernel: str = KERNEL, log=print,
        parameters: dict | None = None, fetch: bool = False, against: str | os.PathLike | None = None) -> int:
    """Run the notebooks in order into ``out``, write ``out/SUMMARY.md``, and verify the run.

    Parameters
    ----------
    profile : {'quick', 'full'}
    out : path, optional
        Results folder (relative paths are taken from the working directory); default
        :func:`default_out` (a fresh folder under ``runs/``). Never inside the committed
        ``results/`` or ``notebooks/``.
    only : None, str or iterable of str
        Notebooks to run (see :func:`select_notebooks`); default all.
    parameters : dict, optional
        Notebook parameters beside ``profile`` and ``out_dir`` (``dataset``, ``weights``,
        ``methods``, ``seed``); each goes to the selected notebooks that declare it, and
        one that no selected notebook declares is an error.
    fetch : bool
        First fetch every real data set (:func:`smfuse.data.fetch.fetch`); if that fails
        (offline), say what is missing and run on what is there.
    against : path, optional
        Committed results to verify the run against (:func:`smfuse.reproduce.verify.verify`:
        ``out/REPRODUCTION.md``); ``None``: no verification.
    notebooks : path, optional
        The notebook folder (default ``notebooks/`` of the checkout).
    kernel : str
        Jupyter kernel name (``python3``).
    log : callable
        Receives one progress line per event.

    Returns
    -------
    int
        0 when every selected notebook ran (and, with ``against``, everything reproduced);
        1 when one failed (the run stops there) or, with ``against``, something differs;
        3 when, with ``against``, nothing differs but some claims could not be checked.

    Raises
    ------
    ValueError
        A bad profile, notebook name or parameter, or ``out`` inside ``results/`` or
        ``notebooks/`` (before anything runs).
    """
    return _run(profile, out, only, notebooks=notebooks, kernel=kernel, log=log, parameters=parameters,
                fetch=fetch, against=against).status


@dataclass
class _Outcome:
    status: int
    out: Path
    records: list[_Record]


def _run(profile: str = "quick", out: str | os.PathLike | None = None, only=None, *,
         notebooks: str | os.PathLike | None = None, kernel: str = KERNEL, log=print,
         parameters: dict | None = None, fetch: bool = False, against: str | os.PathLike | None = None) -> _Outcome:
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    paths = select_notebooks(list_notebooks(notebooks), only)
    if not paths:
        raise ValueError(f"no notebooks to run in {Path(notebooks) if notebooks else NOTEBOOKS_DIR}")
    parameters = dict(parameters or {})
    per_notebook = _route_parameters(paths, parameters)
    out = Path(out) if out is not None else default_out(profile, parameters)
    _refuse_protected(out)
    if fetch:
        _fetch_all(log)
    out.mkdir(parents=True, exist_ok=True)
    records = [_Record(p.stem, "not run") for p in paths]
    status = 0
    t_all = time.perf_counter()
    for k, (path, rec) in enumerate(zip(paths, records), 1):
        nb_out = out / path.stem
        if nb_out.is_dir():
            shutil.rmtree(nb_out)  # no stale figures or claims from an earlier run
        log(f"[{k}/{len(paths)}] {path.stem} ({profile}) ...")
        try:
            rec.seconds = run_notebook(path, nb_out, profile, kernel=kernel, parameters=per_notebook[path])
            rec.status = "ok"
            log(f"[{k}/{len(paths)}] {path.stem}: done in {rec.seconds:.1f} s")
        except NotebookFailed as exc:
            rec.status, rec.error, rec.seconds = "FAILED", exc.error, getattr(exc, "seconds", None)
            log(f"[{k}/{len(paths)}] {path.stem}: FAILED after {rec.seconds or 0:.1f} s\n    {exc.error}\n"
                f"    executed notebook: {_shown(nb_out / (path.stem + '.FAILED.ipynb'))}")
            status = 1
            break
    everything = [p.stem for p in list_notebooks(notebooks)]
    if len(paths) < len(everything) and status == 0:
        records = _earlier_records(out, profile, everything, records)
    partial = len(records) < len(everything)
    summary = write_summary(out, records, profile, partial=partial)
    log(f"{'FAILED' if status else 'done'}: {sum(r.status == 'ok' for r in records)}/{len(records)} notebooks in "
        f"{time.perf_counter() - t_all:.1f} s; summary: {_shown(summary)}")
    log(f"results written to {_shown(out)}")
    if against is not None:
        from smfuse.reproduce.verify import verify

        failed = {r.name: (f"failed: {r.error}" if r.status == "FAILED" else "did not run: an earlier notebook failed")
                  for r in records if r.status != "ok"}
        v = verify(out, against, notebooks=[r.name for r in records if not r.kept], failed=failed, profile=profile)
        log(v.line())
        if v.fetch:
            log(f"missing data: fetch it with `{v.fetch}`, then run again")
        log(f"reproduction report: {_shown(v.report)}")
        status = status or v.status
    return _Outcome(status, out, records)


def _inside(path: Path, folder: Path) -> bool:
    try:
        Path(path).resolve().relative_to(Path(folder).resolve())
        return True
    except ValueError:
        return False


def _refuse_protected(out: Path) -> None:
    """A run never writes into the committed results or notebooks."""
    for folder, what in ((RESULTS_DIR, "the committed results/"), (NOTEBOOKS_DIR, "the committed notebooks/")):
        if _inside(out, folder):
            raise ValueError(f"--out {_shown(out)} lies inside {what}; a run writes a fresh folder under runs/ (the "
                             "default), and only --refresh-results replaces results/, from a complete full run")


def _earlier_records(out: Path, profile: str, everything: list[str], records: list[_Record]) -> list[_Record]:
    """The records of a summary that keeps an earlier run's other notebooks.

    When ``--only`` reruns some notebooks into a folder that holds a whole earlier run of
    the same profile (its ``SUMMARY.md`` and ``timings.csv``), the summary stays whole:
    the notebooks run now, and the earlier results of the others, each marked as kept.
    Without such a run (another profile, a failed notebook, missing claims) only the
    notebooks run now are summarised.
    """
    summary, timings = out / "SUMMARY.md", out / "timings.csv"
    if not (summary.is_file() and timings.is_file()):
        return records
    if f"Profile **{profile}**;" not in summary.read_text():
        return records
    with open(timings, newline="") as f:
        earlier = {r["notebook"]: r for r in csv.DictReader(f)}
    now = {r.name: r for r in records}
    merged = []
    for name in everything:
        if name in now:
            merged.append(now[name])
        elif (name in earlier and earlier[name]["status"] == "ok" and (out / name / "claims.json").is_file()):
            secs = earlier[name]["seconds"]
            merged.append(_Record(name, "ok", float(secs) if secs else None, kept=True))
        else:
            return records
    return merged


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when inside it (no machine-specific prefix)."""
    try:
        return Path(path).resolve().relative_to(Path.cwd().resolve()).as_posix() or "."
    except ValueError:
        return str(path)


def default_out(profile: str, parameters: dict | None = None) -> Path:
    """Where a run writes by default: a git-ignored folder under ``runs/``, never ``results/``.

    ``runs/full-YYYYmmdd-HHMMSS`` (a fresh folder per run: ``-2``, ``-3`` ... when two start
    within a second) for the full profile with the notebooks' own defaults,
    ``runs/results-quick`` for the quick one, ``runs/results-PROFILE-KEY=VALUE...`` when
    parameters are given.
    """
    if parameters:
        return RUNS_DIR / f"results-{profile}-{_slug(parameters)}"
    if profile != "full":
        return RUNS_DIR / "results-quick"
    base = RUNS_DIR / f"full-{time.strftime('%Y%m%d-%H%M%S')}"
    path, k = base, 1
    while path.exists():
        k += 1
        path = base.with_name(f"{base.name}-{k}")
    return path


def _slug(parameters: dict) -> str:
    import re

    text = ",".join(f"{k}={Path(str(v)).name if k in ('dataset', 'weights') else v}"
                    for k, v in sorted(parameters.items()))
    return re.sub(r"[^A-Za-z0-9=,._+-]+", "_", text)[:120] or "default"


def notebook_parameters(path: str | os.PathLike) -> dict[str, dict]:
    """The parameters a notebook declares (papermill's reading of its ``parameters`` cell).

    Returns
    -------
    dict
        Name -> ``{'default': ..., 'help': ...}`` as strings.
    """
    import papermill as pm

    return {k: {"default": v.get("default"), "help": v.get("help", "")}
            for k, v in pm.inspect_notebook(str(path)).items()}


def _route_parameters(paths: list[Path], parameters: dict) -> dict[Path, dict]:
    for key in ("profile", "out_dir"):
        if key in parameters:
            raise ValueError(f"parameter {key!r} is set by the run itself: use --profile / --out")
    declared = {p: notebook_parameters(p) for p in paths} if parameters else {p: {} for p in paths}
    for key in parameters:
        if not any(key in d for d in declared.values()):
            takes = sorted({k for d in declared.values() for k in d} - {"profile", "out_dir"})
            raise ValueError(f"no selected notebook has a parameter {key!r}; they take: {', '.join(takes) or 'none'}")
    return {p: {k: v for k, v in parameters.items() if k in declared[p]} for p in paths}


def _fetch_all(log) -> None:
    from smfuse.data import fetch as _fetch

    try:
        _fetch.fetch("all", log=log)
    except _fetch.FetchError as exc:
        log(f"data fetch stopped: {exc}")
        missing = [f"{s['set']} ({s['files'] - s['present']} of {s['files']} files)"
                   for s in (_fetch.set_status(n) for n in _fetch.SETS) if s["state"] != "present"]
        log(f"missing: {', '.join(missing)}; the notebooks run on what is there and mark the rest n/a "
            "(rerun `smfuse data fetch all` when online)")


def parse_assignments(items, option: str = "-p", *, many: bool = False) -> dict:
    """``KEY=VALUE`` strings as a dict; numbers, ``true``/``false`` and ``none`` are converted.

    With ``many``, values are comma-separated lists (``KEY=V1,V2``), returned as lists.
    """
    out = {}
    for item in items:
        if "=" not in item or not item.split("=", 1)[0]:
            raise ValueError(f"{option} expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        if key in out:
            raise ValueError(f"{option}: {key!r} is given twice")
        if many:
            values = [v for v in value.split(",") if v != ""]
            if not values:
                raise ValueError(f"{option} {key}: no values (give KEY=V1,V2,...)")
            out[key] = [_convert(v) for v in values]
        else:
            out[key] = _convert(value)
    return out


def _convert(text: str):
    low = text.lower()
    if low in ("none", "null"):
        return None
    if low in ("true", "false"):
        return low == "true"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    p = Path(text).expanduser()
    if p.exists() and not p.is_absolute():  # a folder or file given from the caller's directory
        return str(p.resolve())            # (the notebooks run in notebooks/)
    return text


def run_grid(grid: dict, profile: str = "quick", out: str | os.PathLike | None = None, only=None, *,
             parameters: dict | None = None, notebooks: str | os.PathLike | None = None, kernel: str = KERNEL,
             log=print) -> int:
    """Run the selected notebooks once per combination of ``grid`` values; collect every claim.

    Parameters
    ----------
    grid : dict
        Parameter name -> list of values (``{'dataset': ['synthetic', '/data/mine']}``);
        several names give every combination.
    profile, only, notebooks, kernel, log
        As :func:`run`.
    out : path, optional
        Default ``runs/grid``. Run ``k`` writes ``out/k-KEY=VALUE.../``; the claims of all
        runs, one row per claim with a column per grid parameter, go to
        ``out/claims_grid.csv``.
    parameters : dict, optional
        Fixed parameters for every run.

    Returns
    -------
    int
        0 when every run succeeded, 1 otherwise (the grid goes on after a failed run).
    """
    import itertools

    if not grid:
        raise ValueError("the grid is empty: give --grid KEY=V1,V2")
    overlap = set(grid) & set(parameters or {})
    if overlap:
        raise ValueError(f"{', '.join(sorted(overlap))}: given both as a fixed parameter and in the grid")
    out = Path(out) if out is not None else RUNS_DIR / "grid"
    keys = list(grid)
    combos = [dict(zip(keys, vals)) for vals in itertools.product(*(grid[k] for k in keys))]
    rows, status = [], 0
    for k, combo in enumerate(combos, 1):
        run_out = out / f"{k:02d}-{_slug(combo)}"
        log(f"grid run {k}/{len(combos)}: {', '.join(f'{a}={b}' for a, b in combo.items())}")
        st = run(profile=profile, out=run_out, only=only, notebooks=notebooks, kernel=kernel, log=log,
                 parameters={**(parameters or {}), **combo})
        status = max(status, st)
        for nb in sorted(p for p in run_out.iterdir() if p.is_dir()):
            for c in load_claims(nb):
                rows.append({**{f"param_{a}": b for a, b in combo.items()}, "run": run_out.name,
                             "status": "ok" if st == 0 else "FAILED", **c})
    table = out / "claims_grid.csv"
    fields = [f"param_{a}" for a in keys] + ["run", "status", "notebook", "claim", "ours", "authors", "published",
                                             "verdict", "rule", "file"]
    with open(table, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    log(f"grid: {len(combos)} runs, {len(rows)} claims in {_shown(table)}")
    return status


def _seeded(out: Path, only) -> Path:
    """A fresh run folder holding the committed results of every notebook not in ``only`` (and the summary
    and timings they come with), so that a run of the selected notebooks into it is whole: the summary
    keeps the others as earlier results (:func:`_earlier_records`)."""
    _refuse_protected(out)
    if out.exists() and any(out.iterdir()):
        raise ValueError(f"--refresh-results with --only needs a new run folder; {_shown(out)} is not empty")
    chosen = {p.stem for p in select_notebooks(list_notebooks(), only)}
    out.mkdir(parents=True, exist_ok=True)
    for p in list_notebooks():
        if p.stem not in chosen and (RESULTS_DIR / p.stem).is_dir():
            shutil.copytree(RESULTS_DIR / p.stem, out / p.stem, symlinks=True)
    for name in ("SUMMARY.md", "timings.csv"):
        if (RESULTS_DIR / name).is_file():
            shutil.copy2(RESULTS_DIR / name, out / name)
    return out


class RefreshRefused(ValueError):
    """``--refresh-results`` from a run that is not complete (one line: why, and what to do)."""


_REPORT_FILES = ("REPRODUCTION.md", "reproduction.csv", "reproduction.json")


def _incomplete(run_dir: Path, notebooks: str | os.PathLike | None = None) -> str:
    """Why ``run_dir`` is not a complete full run (``''`` if it is): a notebook missing or failed, a claim
    not measured."""
    names = [p.stem for p in list_notebooks(notebooks)]
    missing = [n for n in names
               if not (run_dir / n / "claims.json").is_file() or not (run_dir / n / f"{n}.ipynb").is_file()]
    if missing:
        return (f"notebooks {', '.join(missing)} have no finished results in {_shown(run_dir)} (failed or not run); "
                "a refresh needs every notebook")
    unmeasured = [(n, c) for n in names for c in load_claims(run_dir / n)
                  if (c.get("verdict") or "not measured").lower().startswith("not measured")]
    if unmeasured:
        n, c = unmeasured[0]
        return (f"{len(unmeasured)} claims were not measured in this run (e.g. {n[:2]}: {c.get('claim', '')[:60]!r}); "
                "fetch the missing data (see the reproduction report) and run again")
    return ""


def refresh_results(run_dir: str | os.PathLike, results: str | os.PathLike | None = None, *,
                    notebooks: str | os.PathLike | None = None, log=print) -> Path:
    """Replace the committed results with a complete run's: written beside, then swapped in.

    The run's notebook folders, ``SUMMARY.md`` and ``timings.csv`` replace those of
    ``results``; what the reproduction does not write (``study/``, ``benchmarks.csv`` ...)
    stays; the run's reproduction report (it compares the run with the results it replaces)
    does not go in. The new folder is assembled as ``.results.refresh`` beside ``results``,
    then the two are swapped by renaming, so ``results`` is never half-written.

    Parameters
    ----------
    run_dir : path
        A complete full-profile run (every notebook of ``notebooks`` finished, no claim
        *not measured*).
    results : path, optional
        Default ``results/`` of the checkout.

    Returns
    -------
    Path
        ``results``.

    Raises
    ------
    RefreshRefused
        The run is not complete; nothing in ``results`` was touched.
    """
    run_dir = Path(run_dir)
    results = Path(results) if results is not None else RESULTS_DIR
    problem = _incomplete(run_dir, notebooks)
    if problem:
        raise RefreshRefused(f"--refresh-results refused, results/ left as committed: {problem}")
    stage = results.with_name(f".{results.name}.refresh")
    old = results.with_name(f".{results.name}.old")
    for leftover in (stage, old):
        shutil.rmtree(leftover, ignore_errors=True)
    try:
        if results.is_dir():
            shutil.copytree(results, stage, symlinks=True)
        else:
            stage.mkdir(parents=True)
        names = {p.stem for p in list_notebooks(notebooks)}
        for stale in stage.glob("[0-9][0-9]-*"):  # a notebook's results whose notebook is gone
            if stale.is_dir() and stale.name not in names:
                shutil.rmtree(stale)
        for item in run_dir.iterdir():
            if item.name in _REPORT_FILES or item.name.startswith("."):
                continue
            target = stage / item.name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, target)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
    if results.exists():
        results.rename(old)
    stage.rename(results)
    shutil.rmtree(old, ignore_errors=True)
    log(f"results/ refreshed from {_shown(run_dir)}")
    return results


def run_from_options(*, profile: str, out, only, param: list[str] | None, grid: list[str] | None,
                     no_fetch: bool, refresh: bool = False) -> int:
    """One run, or a grid of runs, from command-line options (``-p KEY=VALUE``, ``--grid KEY=V1,V2``).

    The full profile fetches the real data first unless ``no_fetch``; with the notebooks'
    default parameters it is verified against the committed ``results/``. With
    ``refresh`` (``--refresh-results``) a complete full run then replaces ``results/`` (:func:`refresh_results`;
    0 once done), and an incomplete one is refused in one line (its status, 1 or 3); with ``only``, the
    other notebooks' committed results are copied into the run first and kept. Shared by
    ``python -m smfuse.reproduce`` and ``smfuse reproduce``.
    """
    from smfuse.reproduce.verify import INCOMPLETE

    params = parse_assignments(param or [], "-p")
    if refresh:
        if profile != "full":
            raise ValueError("--refresh-results needs --profile full: results/ holds the full profile's run")
        if params or grid:
            raise ValueError("--refresh-results takes no -p or --grid: results/ holds the notebooks' own defaults")
        if only:  # the other notebooks' committed results go into the run first, so that it is whole
            out = _seeded(Path(out) if out is not None else default_out(profile), only)
    if grid:
        return run_grid(parse_assignments(grid, "--grid", many=True), profile=profile, out=out, only=only,
                        parameters=params)
    against = RESULTS_DIR if profile == "full" and not params else None
    outcome = _run(profile=profile, out=out, only=only, parameters=params,
                   fetch=profile == "full" and not no_fetch, against=against)
    if not refresh:
        return outcome.status
    try:
        refresh_results(outcome.out)
    except RefreshRefused as exc:
        print(f"smfuse reproduce: {exc}", file=sys.stderr)
        return outcome.status or INCOMPLETE
    return 0


_EXIT_STATUS = """exit status:
  0  every selected notebook ran; a full run: everything reproduced the committed results/
     (with --refresh-results: results/ was refreshed)
  1  a notebook failed, or something differs from the committed results/ (runs/<run>/REPRODUCTION.md says what)
  2  a usage error (a bad option; --out inside results/ or notebooks/; --refresh-results with -p,
     --grid or the quick profile)
  3  incomplete: nothing differs, but some claims could not be checked (data missing: the report names the
     command that fetches it); also --refresh-results refused after an incomplete run

The full profile writes a fresh runs/full-YYYYmmdd-HHMMSS/ and ends with its reproduction report
against results/; results/ changes only with --refresh-results, from a complete run."""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m smfuse.reproduce",
                                description="Run every notebook with papermill into a fresh folder under runs/, write "
                                            "SUMMARY.md, and (full profile) verify the run against the committed "
                                            "results/.",
                                epilog=_EXIT_STATUS, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_arguments(p)
    p.add_argument("--refresh-notebooks", action="store_true",
                   help="re-execute the committed notebooks in place (quick profile; the nbval references)")
    args = p.parse_args(argv)
    try:
        if args.refresh_notebooks:
            return refresh_notebooks(args.only)
        return run_from_options(profile=args.profile, out=args.out, only=args.only, param=args.param,
                                grid=args.grid, no_fetch=args.no_fetch, refresh=args.refresh_results)
    except ValueError as exc:
        print(f"smfuse reproduce: error: {exc}", file=sys.stderr)
        return 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of a reproduction run (shared with ``smfuse reproduce``)."""
    p.add_argument("--profile", default="quick", choices=PROFILES, help="quick (minutes) or full")
    p.add_argument("--out", help="the run's folder (default: a fresh runs/full-YYYYmmdd-HHMMSS/ for the full "
                                 "profile, runs/results-quick/ for the quick one; never inside results/)")
    p.add_argument("--only", nargs="*", help="notebook numbers or names (default: all)")
    p.add_argument("-p", "--param", action="append", metavar="KEY=VALUE",
                   help="a notebook parameter (dataset, weights, methods, seed) for the selected notebooks")
    p.add_argument("--grid", action="append", metavar="KEY=V1,V2",
                   help="one run per value (per combination if repeated); claims collected in OUT/claims_grid.csv")
    p.add_argument("--no-fetch", action="store_true", help="full profile: do not fetch the real data first")
    p.add_argument("--refresh-results", action="store_true",
                   help="full profile: after a complete run (every notebook, no claim 'not measured'), replace the "
                        "committed results/ with it (written beside, then swapped); refused otherwise. With --only, "
                        "the other notebooks' committed results are kept")
