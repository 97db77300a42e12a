"""Reproduce every result: run the notebooks in order with papermill into ``results/``.

::

    python -m smfuse.reproduce [--profile quick|full] [--out results] [--only 01 05 ...]
    python -m smfuse.reproduce --refresh-notebooks   # re-execute the committed notebooks in place (quick)

Each notebook ``notebooks/NN-name.ipynb`` runs with the parameters ``profile`` and
``out_dir`` into ``OUT/NN-name/``, which receives the executed notebook, its PNG figures,
CSV tables and ``claims.json``. The run stops at the first failing notebook, naming it and
the failing cell's error; the failed notebook is kept as ``NN-name.FAILED.ipynb`` so that
it cannot pass for a finished result. ``OUT/SUMMARY.md`` then lists every claim of the
paper with our measurement, the measurement with the authors' weights, the published
number and the file holding the evidence, and the wall time of each notebook.

Profiles: ``quick`` (minutes on a laptop CPU: subsets of the data, tiny training runs) and
``full`` (the shipped weights, every pair, every baseline; about 20 minutes on 2 cores).

The executed notebooks are made diff-friendly: papermill's and nbclient's timestamps and
the absolute input/output paths are removed from their metadata.
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
from dataclasses import dataclass
from pathlib import Path

from .report import REPO_ROOT, RESULTS_ENV, load_claims

__all__ = ["run", "main", "list_notebooks", "select_notebooks", "run_notebook", "refresh_notebooks",
           "strip_metadata", "NotebookFailed", "PROFILES", "NOTEBOOKS_DIR", "KERNEL"]

NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
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


def run_notebook(path: str | os.PathLike, out_dir: str | os.PathLike, profile: str = "quick", *,
                 kernel: str = KERNEL) -> float:
    """Execute one notebook with papermill into ``out_dir``; return the wall time in seconds.

    The notebook runs in its own folder (as under nbval) with the parameters ``profile``
    and ``out_dir`` (given relative to that folder, so no absolute path is written into the
    executed notebook); the executed copy is ``out_dir/NAME.ipynb``, stripped of timestamps.

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
        with _Env(_environment()):
            pm.execute_notebook(str(path), str(output), parameters={"profile": profile, "out_dir": out_param},
                                kernel_name=kernel, cwd=str(path.parent), progress_bar=False, log_output=False)
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


def refresh_notebooks(only=None, *, notebooks: str | os.PathLike | None = None, kernel: str = KERNEL,
                      log=print) -> int:
    """Re-execute the committed notebooks in place in the quick profile (the nbval references).

    Outputs and execution counts are kept; timing metadata is not recorded. The results they
    write go to a temporary folder (``SMFUSE_RESULTS``), leaving ``results/`` untouched.

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
            client = NotebookClient(nb, kernel_name=kernel, resources={"metadata": {"path": str(path.parent)}},
                                    record_timing=False, timeout=None)
            try:
                client.execute()
            except Exception as exc:  # noqa: BLE001
                log(f"{path.stem}: FAILED ({type(exc).__name__}: {_one_line(getattr(exc, 'evalue', exc))}); "
                    "left unchanged")
                return 1
            strip_metadata(nb)
            nbformat.write(nb, path)
            log(f"{path.stem}: refreshed in {time.perf_counter() - t0:.1f} s")
    return 0


# ----------------------------------------------------------------------------- summary


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _versions() -> str:
    from . import __version__

    parts = [f"smfuse {__version__}", f"Python {platform.python_version()}"]
    try:
        import torch

        parts.append(f"torch {torch.__version__}")
    except ImportError:  # pragma: no cover
        pass
    return ", ".join(parts)


def _findings(claims: list[tuple[str, dict]]) -> list[str]:
    """The summary's opening: how many claims each verdict has, and which."""
    from .claims import VERDICTS

    def kind(c: dict) -> str:
        v = (c.get("verdict") or "not measured").lower()
        return next((w for w in VERDICTS if v.startswith(w)), "not measured")

    counts = {w: [(n, c) for n, c in claims if kind(c) == w] for w in VERDICTS}
    lines = ["## Findings", "",
             f"{len(claims)} claims: " + ", ".join(f"{len(v)} {w}" for w, v in counts.items()) + ".", ""]
    for w, items in counts.items():
        for n, c in items:
            text = c["claim"] if len(c["claim"]) <= 110 else c["claim"][:107].rsplit(" ", 1)[0] + " ..."
            lines.append(f"- **{w}** ({n[:2]}): {_md(text)}")
    return lines + [""]


def write_summary(out: Path, records: list[_Record], profile: str, *, partial: bool = False) -> Path:
    """Write ``out/SUMMARY.md`` and ``out/timings.csv`` from the notebooks' claims and times.

    ``partial``: only some notebooks were selected (``--only``); the summary says so.
    """
    failed = [r for r in records if r.status == "FAILED"]
    lines = ["# Reproduction summary", "",
             f"Profile **{profile}**; {_versions()}. Written by `python -m smfuse.reproduce`; every number below "
             "comes from the notebook run named beside it.", ""]
    if partial:
        lines += [f"Only the selected notebooks ran ({', '.join(r.name for r in records)}); run without `--only` "
                  "for the complete summary.", ""]
    if failed:
        lines += [f"**FAILED at {failed[0].name}:** {_md(failed[0].error)}. Later notebooks did not run; "
                  "results below are incomplete.", ""]
    else:
        lines += [f"All {len(records)} notebooks ran.", ""]
    claims = [(r.name, c) for r in records if r.status == "ok" for c in load_claims(out / r.name)]
    lines += _findings(claims)
    lines += ["## Claims", "",
              "Paper: J. Ma, Z. Le, X. Tian, J. Jiang, \"SMFuse: Multi-Focus Image Fusion via Self-Supervised "
              "Mask-Optimization\", IEEE TCI 7 (2021), doi:10.1109/TCI.2021.3063872. *Ours*: this replication (our "
              "code, our trained weights); *authors' weights*: the authors' released checkpoint or saved files run "
              "through our code; *published*: numbers from the literature (see each notebook). `n/a`: not published, "
              "or not measured in this run (the verdict then says why).", "",
              "Each verdict is computed by one rule (`smfuse.claims`), stated with the claim before measuring: the "
              "mean paired effect (ours minus the reference, per image pair and seed, or value minus threshold) and "
              "its 95 % two-stage bootstrap interval over pairs and seeds; *supported* if the interval lies wholly "
              "on the claimed side, *refuted* if wholly on the other, else *inconclusive*.", "",
              "| claim | ours | authors' weights | published | verdict | evidence |",
              "|---|---|---|---|---|---|"]
    for name, c in claims:
        evidence = f"[{c['file']}]({name}/{c['file']})" if c.get("file") else f"[{name}.ipynb]({name}/{name}.ipynb)"
        rule = f" Rule: {c['rule']}." if c.get("rule") else ""
        lines.append(f"| {name[:2]} · {_md(c['claim'])}{_md(rule)} | {_md(c['ours'])} | {_md(c['authors'])} | "
                     f"{_md(c['published'])} | {_md(c.get('verdict') or 'not measured (no verdict recorded)')} | "
                     f"{evidence} |")
    if not claims:
        lines.append("| (no claims recorded) | | | | | |")
    lines += ["", "## Wall time", "", "| notebook | status | seconds |", "|---|---|---:|"]
    for r in records:
        secs = f"{r.seconds:.1f}" if r.seconds is not None else ""
        lines.append(f"| {r.name} | {r.status} | {secs} |")
    total = sum(r.seconds or 0 for r in records)
    lines += [f"| **total** | | **{total:.1f}** |", ""]
    path = out / "SUMMARY.md"
    path.write_text("\n".join(lines))
    with open(out / "timings.csv", "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["notebook", "status", "seconds"])
        for r in records:
            w.writerow([r.name, r.status, "" if r.seconds is None else f"{r.seconds:.1f}"])
    return path


# ----------------------------------------------------------------------------- entry points


def run(profile: str = "quick", out: str | os.PathLike = "results", only=None, *,
        notebooks: str | os.PathLike | None = None, kernel: str = KERNEL, log=print) -> int:
    """Run the notebooks in order into ``out`` and write ``out/SUMMARY.md``.

    Parameters
    ----------
    profile : {'quick', 'full'}
    out : path
        Results folder (relative paths are taken from the working directory).
    only : None, str or iterable of str
        Notebooks to run (see :func:`select_notebooks`); default all.
    notebooks : path, optional
        The notebook folder (default ``notebooks/`` of the checkout).
    kernel : str
        Jupyter kernel name (``python3``).
    log : callable
        Receives one progress line per event.

    Returns
    -------
    int
        0 when every selected notebook ran, 1 when one failed (the run stops there).
    """
    if profile not in PROFILES:
        raise ValueError(f"profile must be one of {', '.join(PROFILES)}, got {profile!r}")
    paths = select_notebooks(list_notebooks(notebooks), only)
    if not paths:
        raise ValueError(f"no notebooks to run in {Path(notebooks) if notebooks else NOTEBOOKS_DIR}")
    out = Path(out)
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
            rec.seconds = run_notebook(path, nb_out, profile, kernel=kernel)
            rec.status = "ok"
            log(f"[{k}/{len(paths)}] {path.stem}: done in {rec.seconds:.1f} s")
        except NotebookFailed as exc:
            rec.status, rec.error, rec.seconds = "FAILED", exc.error, getattr(exc, "seconds", None)
            log(f"[{k}/{len(paths)}] {path.stem}: FAILED after {rec.seconds or 0:.1f} s\n    {exc.error}\n"
                f"    executed notebook: {nb_out / (path.stem + '.FAILED.ipynb')}")
            status = 1
            break
    partial = len(paths) < len(list_notebooks(notebooks))
    summary = write_summary(out, records, profile, partial=partial)
    log(f"{'FAILED' if status else 'done'}: {sum(r.status == 'ok' for r in records)}/{len(records)} notebooks in "
        f"{time.perf_counter() - t_all:.1f} s; summary: {summary}")
    return status


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m smfuse.reproduce",
                                description="Run every notebook with papermill into results/ and write SUMMARY.md.")
    p.add_argument("--profile", default="quick", choices=PROFILES)
    p.add_argument("--out", default="results", help="results folder (default: results)")
    p.add_argument("--only", nargs="*", help="notebook numbers or names (default: all)")
    p.add_argument("--refresh-notebooks", action="store_true",
                   help="re-execute the committed notebooks in place (quick profile; the nbval references)")
    args = p.parse_args(argv)
    try:
        if args.refresh_notebooks:
            return refresh_notebooks(args.only)
        return run(profile=args.profile, out=args.out, only=args.only)
    except ValueError as exc:
        print(f"smfuse reproduce: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    sys.exit(main())
