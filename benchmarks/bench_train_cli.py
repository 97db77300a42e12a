"""Training throughput as a user gets it: ``smfuse train --config fast`` against a plain fp32 loop.

:mod:`bench_train` times single steps inside worker processes; this times the command
line itself, whole, as it runs (on a CPU with two or more cores the ``fast``
configuration starts two data-parallel processes, ``TrainConfig.processes``), and
alternates it, round by round, with a plain fp32 PyTorch loop over the same network in
a fresh process:

* ``smfuse train --config fast --set steps=S --set log_every=10 ...``: the median of the
  ``patches_per_s`` its log reports over the second half of the run;
* the plain loop: :class:`smfuse.method.network.MaskGenerator`, Adam, smooth-L1 on MG against a
  fixed random label, batch 16 of 64x64, channels-last, the C library's default
  allocator (``bench_train.make_plain_step(module=True)``); the median patches per
  second of its steps after 5 warm-up steps.

Records ``train.cli.fast.b16x64`` and ``train.cli.plain.b16x64`` (medians over the
rounds) and ``train.cli.fast_over_plain`` (the median of the rounds' ratios; target
>= 1.25) in ``results/benchmarks.csv``. Needs no data files (``--dataset synthetic``,
the default; ``--dataset train`` uses the authors' training pairs if present).

Run: ``python benchmarks/bench_train_cli.py [--rounds N] [--steps S] [--dataset NAME] [--no-record]``
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts (see README)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import available_threads, load_average, machine_description, record_result  # noqa: E402

PLAIN_STEPS = 25


def plain_loop(steps: int = PLAIN_STEPS) -> float:
    """Patches per second of the plain fp32 loop over MaskGenerator (median step after 5 warm-up steps)."""
    import time

    from bench_train import make_plain_step

    step = make_plain_step(module=True)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        step()
        times.append(time.perf_counter() - t)
    return 16 / statistics.median(times[5:])


def cli_fast(steps: int, dataset: str, folder: Path) -> float:
    """Median patches per second over the second half of a ``smfuse train --config fast`` log."""
    cmd = [sys.executable, "-m", "smfuse.cli", "train", "--config", "fast", "--out", str(folder), "--quiet",
           f"--set=steps={steps}", "--set=eval_every=0", "--set=checkpoint_every=0", "--set=log_every=10",
           f"--set=dataset={dataset}"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode:
        raise SystemExit(f"smfuse train failed: {proc.stderr.strip().splitlines()[-1:]}")
    with open(folder / "log.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    return statistics.median(float(r["patches_per_s"]) for r in rows[len(rows) // 2:] if r["patches_per_s"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (default 3)")
    parser.add_argument("--steps", type=int, default=160, help="steps of each smfuse train run (default 160)")
    parser.add_argument("--dataset", default="synthetic", help="training pairs (default synthetic: no files)")
    parser.add_argument("--no-record", action="store_true", help="do not write results/benchmarks.csv")
    parser.add_argument("--plain-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.plain_worker:
        print(f"{plain_loop():.3f}")
        return 0

    from smfuse.runtime.train import get_config, local_processes

    processes = local_processes(get_config("fast"))
    threads, machine = available_threads(), machine_description()
    load = load_average()
    fast, plain = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.rounds):
            fast.append(cli_fast(args.steps, args.dataset, Path(tmp) / f"run{r}"))
            out = subprocess.run([sys.executable, __file__, "--plain-worker"], capture_output=True, text=True,
                                 check=True).stdout
            plain.append(float(out.split()[-1]))
            print(f"round {r + 1}: smfuse train --config fast {fast[-1]:.1f} patches/s, plain loop {plain[-1]:.1f}: "
                  f"{fast[-1] / plain[-1]:.2f}x", flush=True)
    ratio = statistics.median(f / p for f, p in zip(fast, plain))
    note = (f"{args.steps} steps on {args.dataset} pairs, {processes} process(es) of smfuse train; alternating with a "
            f"plain fp32 loop over MaskGenerator in a fresh process (default allocator); load average {load:.1f} on "
            f"{threads} cores at start")
    print(f"median ratio {ratio:.2f}x (target >= 1.25); {processes} processes; threads {threads}; machine {machine}")
    if not args.no_record:
        rows = [("train.cli.fast.b16x64", statistics.median(fast), "patches/s"),
                ("train.cli.plain.b16x64", statistics.median(plain), "patches/s"),
                ("train.cli.fast_over_plain", ratio, "x")]
        for label, value, unit in rows:
            p = record_result(label, value, unit, median_of=args.rounds, threads=threads, machine=machine, notes=note)
        print(f"recorded in {p.relative_to(Path(__file__).resolve().parents[1])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
