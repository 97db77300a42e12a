"""Fusion speed and peak memory of every method of the registry, side by side in one run on one machine.

For each method of :mod:`smfuse.evaluation.methods` that fuses any pair (the baselines, SMFuse
with each set of weights, the peers; not ``ifcnn``, which is scored from its authors' released
outputs and cannot fuse a new pair) and each of two sizes, a fresh subprocess builds the
colour pair, fuses it once (weights loaded, caches warm), then times ``repeats`` more whole
calls ``method(a, b)`` (everything the method does for a pair: grey or luma conversion,
network, decision, colour) and reports:

* ``methods.<name>.520x520_rgb`` and ``methods.<name>.1414x1414_rgb`` (MP/s): megapixels
  per second, from the median time; 520x520 is a Lytro pair, 1414x1414 about 2 MP;
* ``methods.<name>.520x520_rgb.peak_rss`` and ``methods.<name>.1414x1414_rgb.peak_rss`` (MB):
  the subprocess's peak resident set size over its whole life
  (``resource.getrusage(RUSAGE_SELF).ru_maxrss``): Python, numpy, torch, the method's
  weights, the pair and the fusion; ``methods.none.*.peak_rss`` is a subprocess that
  imports the same and builds the pair but fuses nothing, the floor under every row.

The pair is the bundled synthetic pair 1 (:func:`smfuse.data.sets.synthetic_pair`) at each
size, so no data set is needed; the methods whose weights are not here (``smfuse data fetch
authors peers``) are skipped and said so. The subprocesses run one after another, each
with torch's default threads; the load average at the start of each is in the notes.
Rows go to ``benchmarks/methods.csv`` (the columns of ``results/benchmarks.csv``, see
``_common.record_result``), or to ``--out``.

A method of one's own joins with ``--import MODULE``: a module that calls
:func:`smfuse.evaluation.methods.register_method`, imported by every process.

Run: ``python benchmarks/bench_methods.py [--methods NAME ...] [--import MODULE] [--repeats N] [--no-record]
[--out CSV]``
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts (see README)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import available_threads, load_average, machine_description, record_result  # noqa: E402

#: Side of each square test pair: a Lytro pair, and about 2 megapixels.
SIZES = (520, 1414)
#: Where the rows go by default.
OUT_CSV = Path(__file__).resolve().parent / "methods.csv"


def _setup(modules: list[str]) -> None:
    """Import the modules that register methods of one's own (``register_method``), from the working folder."""
    import importlib

    if modules and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for module in modules:
        importlib.import_module(module)


def _worker(name: str, size: int, repeats: int, setup: list[str]) -> dict:
    """Time one method in this (fresh) process; the returned dict is printed as one JSON line."""
    import resource

    import torch  # the floor of every row: the same imports, whatever the method needs

    _setup(setup)

    from smfuse.data.sets import synthetic_pair
    from smfuse.evaluation.methods import get_method

    p = synthetic_pair(1, size=size)
    out = {"method": name, "size": size, "threads": torch.get_num_threads()}
    if name != "none":
        method = get_method(name)
        method(p.a, p.b)  # warm-up: loads the weights
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            method(p.a, p.b)
            times.append(time.perf_counter() - t0)
        out.update(seconds=statistics.median(times), times=times)
    out["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KB on Linux
    return out


def _run(name: str, size: int, repeats: int, timeout: float, setup: list[str]) -> dict:
    cmd = [sys.executable, __file__, "--worker", name, "--size", str(size), "--repeats", str(repeats)]
    cmd += [a for m in setup for a in ("--import", m)]
    load = load_average()
    try:
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"method": name, "size": size, "error": f"over {timeout:.0f} s", "load": load}
    if res.returncode != 0:
        last = (res.stderr.strip().splitlines() or [f"exit status {res.returncode}"])[-1]
        return {"method": name, "size": size, "error": last[:160], "load": load}
    out = json.loads(res.stdout.strip().splitlines()[-1])
    out["load"] = load
    return out


def _methods(names, setup: list[str]) -> list[str]:
    from smfuse.evaluation.methods import get_method, method_names

    _setup(setup)
    chosen = list(names) if names else [n for f in ("baseline", "smfuse", "peer") for n in method_names(f)
                                        if get_method(n).datasets is None]
    ready = []
    for n in chosen:
        m = get_method(n)
        why = m.why_unavailable() if m.datasets is None else "scored from released outputs; it fuses no new pair"
        if why:
            print(f"skipped {n}: {why}")
        else:
            ready.append(n)
    return ready


def markdown_table(path: Path, machine: str) -> str:
    """The rows of one machine in ``path`` as the table of ``benchmarks/README.md``."""
    import csv

    with open(path, newline="") as fh:
        rows = {r["benchmark"]: r for r in csv.DictReader(fh) if r["machine"] == machine}
    names = list(dict.fromkeys(k.split(".")[1] for k in rows if k.startswith("methods.")))
    names.sort(key=lambda n: n != "none")  # the floor first, then the methods in the order they ran
    out = ["| method | 520x520: MP/s (s per pair) | peak RSS (MB) | 1414x1414: MP/s (s per pair) | peak RSS (MB) |",
           "|---|---:|---:|---:|---:|"]
    for n in names:
        cells = []
        for size in SIZES:
            speed, rss = rows.get(f"methods.{n}.{size}x{size}_rgb"), rows.get(f"methods.{n}.{size}x{size}_rgb.peak_rss")
            mp_s = None if speed is None else float(speed["value"])
            cells.append("" if mp_s is None else f"{mp_s:.3f} ({size * size / 1e6 / mp_s:.2f})")
            cells.append("" if rss is None else f"{float(rss['value']):.0f}")
        out.append(f"| `{n}` | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--methods", nargs="+", help="registry names (default: every method that fuses any pair)")
    ap.add_argument("--repeats", type=int, default=5, help="timed calls per method at 520x520 (3 at 2 MP)")
    ap.add_argument("--timeout", type=float, default=900.0, help="seconds per subprocess")
    ap.add_argument("--no-record", action="store_true", help="print only")
    ap.add_argument("--out", type=Path, default=OUT_CSV, help=f"CSV of rows (default {OUT_CSV.name} here)")
    ap.add_argument("--import", dest="setup", action="append", default=[], metavar="MODULE",
                    help="a module that registers methods of your own (importable from here), imported by every "
                         "process first")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--size", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        print(json.dumps(_worker(args.worker, args.size, args.repeats, args.setup)))
        return 0

    machine = machine_description()
    print(f"machine: {machine}; {available_threads()} threads available")
    names = _methods(args.methods, args.setup)
    results = []
    for size in SIZES:
        repeats = args.repeats if size == SIZES[0] else max(1, min(args.repeats, 3))
        for name in ["none", *names]:
            r = _run(name, size, repeats, args.timeout, args.setup)
            results.append(r)
            mp = size * size / 1e6
            if "error" in r:
                print(f"{name:>15} {size}x{size}: failed ({r['error']})")
                continue
            speed = f"{mp / r['seconds']:8.3f} MP/s ({r['seconds']:.3f} s)" if "seconds" in r else " " * 25
            print(f"{name:>15} {size}x{size}: {speed}  peak RSS {r['peak_rss_mb']:7.0f} MB  (load {r['load']:.1f})")
            if args.no_record:
                continue
            notes = f"load average {r['load']:.2f} at start; synthetic pair 1; fresh process"
            stem = f"methods.{name}.{size}x{size}_rgb"
            if "seconds" in r:
                record_result(stem, mp / r["seconds"], "MP/s", median_of=len(r["times"]), threads=r["threads"],
                              notes=notes + f"; median {r['seconds']:.4f} s", machine=machine, path=args.out)
            record_result(stem + ".peak_rss", r["peak_rss_mb"], "MB", median_of=1, threads=r["threads"], notes=notes,
                          machine=machine, path=args.out)
    if not args.no_record:
        print(f"recorded in {args.out}\n")
        print(markdown_table(args.out, machine))
    return 0


if __name__ == "__main__":
    sys.exit(main())
