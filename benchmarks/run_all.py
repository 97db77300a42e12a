"""Run every benchmark, each in a fresh process, and optionally the quick reproduction.

Runs ``bench_metrics.py``, ``bench_guided_block.py``, ``bench_fuse.py``,
``bench_train.py`` and ``bench_train_cli.py`` one after another (about 5 minutes on 2
idle cores); each prints its
numbers and records its rows in ``results/benchmarks.csv``. With ``--reproduce`` it then
times ``python -m smfuse.reproduce --profile quick`` (into a temporary folder unless
``--reproduce-out`` is given, so that ``results/`` is not overwritten) and records the
row ``reproduce.quick``.

A benchmark that misses its target exits with status 1; one that fails exits with
another status. This script reports both and exits with the worst status.

Run: ``python benchmarks/run_all.py [--no-record] [--skip-large] [--reproduce [--reproduce-out DIR]]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from _common import available_threads, machine_description, record_result  # noqa: E402

SCRIPTS = ("bench_metrics.py", "bench_guided_block.py", "bench_fuse.py", "bench_train.py", "bench_train_cli.py")


def _run(cmd: list[str]) -> tuple[int, float]:
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", TQDM_DISABLE=os.environ.get("TQDM_DISABLE", "1"))
    t0 = time.perf_counter()
    rc = subprocess.call(cmd, cwd=ROOT, env=env)
    return rc, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-record", action="store_true", help="do not write results/benchmarks.csv")
    parser.add_argument("--skip-large", action="store_true", help="bench_fuse.py without the 4096x4096 run")
    parser.add_argument("--reproduce", action="store_true",
                        help="also time 'python -m smfuse.reproduce --profile quick' (minutes)")
    parser.add_argument("--reproduce-out", help="results folder for --reproduce (default: a temporary folder)")
    args = parser.parse_args(argv)

    status: dict[str, tuple[int, float]] = {}
    for script in SCRIPTS:
        cmd = [sys.executable, str(HERE / script)]
        if args.no_record:
            cmd.append("--no-record")
        if script == "bench_fuse.py" and args.skip_large:
            cmd.append("--skip-large")
        print(f"\n=== {script}", flush=True)
        status[script] = _run(cmd)

    if args.reproduce:
        print("\n=== python -m smfuse.reproduce --profile quick", flush=True)
        with tempfile.TemporaryDirectory(prefix="smfuse-reproduce-") as tmp:
            out = args.reproduce_out or tmp
            rc, seconds = _run([sys.executable, "-m", "smfuse.reproduce", "--profile", "quick", "--out", out])
        status["reproduce --profile quick"] = (rc, seconds)
        print(f"reproduce --profile quick: {seconds:.1f} s, exit status {rc}")
        if rc == 0 and not args.no_record:
            record_result("reproduce.quick", seconds, "s", median_of=1, threads=available_threads(),
                          machine=machine_description(), notes="wall time of one 'python -m smfuse.reproduce "
                                                                "--profile quick' (all notebooks)")

    print("\n=== summary")
    for name, (rc, seconds) in status.items():
        verdict = {0: "ok", 1: "target missed"}.get(rc, f"FAILED (exit status {rc})")
        print(f"{name:32s} {seconds:7.1f} s  {verdict}")
    return max(rc for rc, _ in status.values())


if __name__ == "__main__":
    raise SystemExit(main())
