"""Helpers shared by the benchmark scripts: timing, machine description, results table.

Every benchmark appends (or updates) one row of ``results/benchmarks.csv`` with the columns
``benchmark, value, unit, median_of, threads, machine, notes``. A row is identified by
``benchmark`` and ``machine``: rerunning a benchmark on the same machine replaces its row,
running it elsewhere adds one. The file is rewritten atomically.
"""

from __future__ import annotations

import csv
import os
import platform
import statistics
import time
from pathlib import Path
from typing import Callable

from smfuse.io import atomic_path

__all__ = ["COLUMNS", "results_csv", "machine_description", "available_threads", "time_median", "record_result"]

COLUMNS = ("benchmark", "value", "unit", "median_of", "threads", "machine", "notes")


def results_csv() -> Path:
    """``results/benchmarks.csv`` of this checkout."""
    return Path(__file__).resolve().parents[1] / "results" / "benchmarks.csv"


def machine_description() -> str:
    """CPU model, logical core count and bfloat16 support, e.g. ``'AMD EPYC 7B13 (2 cores, bf16 emulated)'``.

    bfloat16 is *native* on CPUs with AVX512-BF16 or AMX (:mod:`smfuse.runtime.precision`); elsewhere
    autocast emulates it and trains several times slower than float32.
    """
    from smfuse.runtime.precision import cpu_has_native_bf16

    model = ""
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    model = model or platform.processor() or platform.machine() or "unknown CPU"
    return f"{model} ({os.cpu_count()} cores, bf16 {'native' if cpu_has_native_bf16() else 'emulated'})"


def available_threads() -> int:
    """CPU threads this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def load_average() -> float:
    """The machine's 1-minute load average (nan where the OS does not report one)."""
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")


def time_median(fn: Callable[[], object], *, repeats: int = 7, warmup: int = 1) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` in seconds over ``repeats`` runs after ``warmup`` runs."""
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def record_result(benchmark: str, value: float, unit: str, *, median_of: int, threads: int,
                  notes: str = "", machine: str | None = None, path: str | os.PathLike | None = None) -> Path:
    """Add or replace the row ``(benchmark, machine)`` of the benchmark table.

    Parameters
    ----------
    benchmark : str
        Stable name of the measurement, e.g. ``'metrics.compute_all.520x520_rgb'``.
    value : float
        The measured median.
    unit : str
        Unit of ``value`` (``'s'``, ``'ms'``, ``'img/s'`` ...).
    median_of : int
        Number of timed runs behind the median.
    threads : int
        CPU threads the measured code could use.
    notes : str
        Free text (no commas needed; the file is quoted CSV).
    machine : str, optional
        Defaults to :func:`machine_description`.
    path : path, optional
        Defaults to :func:`results_csv`; created with its folder if missing.

    Returns
    -------
    Path
        The file written.
    """
    p = Path(path) if path is not None else results_csv()
    machine = machine or machine_description()
    row = {"benchmark": benchmark, "value": f"{value:.6g}", "unit": unit, "median_of": str(int(median_of)),
           "threads": str(int(threads)), "machine": machine, "notes": notes}
    rows = []
    if p.is_file():
        with open(p, newline="") as fh:
            reader = csv.DictReader(fh)
            if reader.fieldnames and tuple(reader.fieldnames) != COLUMNS:
                raise ValueError(f"{p} has columns {reader.fieldnames}; expected {list(COLUMNS)}")
            rows = [r for r in reader if not (r["benchmark"] == benchmark and r["machine"] == machine)]
    rows.append(row)
    p.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(p, suffix=".csv") as tmp:
        with open(tmp, "w", newline="") as fh:
            writer = csv.DictWriter(fh, fieldnames=COLUMNS)
            writer.writeheader()
            writer.writerows(rows)
    return p
