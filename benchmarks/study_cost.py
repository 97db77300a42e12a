"""What the training study costs: its wall time on 2 cores, read from the committed runs.

    python benchmarks/study_cost.py [--jobs 2] [--results results/study] [--no-record]

Reads ``results/study`` (every finished arm x seed of :mod:`smfuse.reproduce.study`): the training
seconds in each run's ``log.csv``, and the wall times ``smfuse study`` itself wrote to
``results/study/study_runs.csv`` for the runs it trained. Records

* ``study.wall_time`` (s): the sum of the runs' training seconds divided by ``--jobs``,
  the wall time of the whole study (arms x seeds) run ``--jobs`` side by side, one core
  each, as ``smfuse study --jobs 2`` does (target: at most 3 hours on 2 cores);
* ``study.wall_time_median_run`` (s): the median run's training seconds times the number
  of runs, divided by ``--jobs``: the same figure with runs slowed by other work on a shared
  machine weighed like the rest;
* ``study.slowest_run`` (s): the longest single run;
* ``study.measured_wall`` (s): the summed wall time of the runs ``smfuse study`` logged,
  divided by the number side by side (what the command took, evaluations and copying
  included), when it logged any;
* ``study.one_command_wall`` (s): the wall time of the latest single ``smfuse study``
  command that trained the whole study (every arm at as many seeds as the study has: its
  own, or as many new ones) from nothing, from ``results/study/study_commands.csv``; the
  figure the target is about, when one ran.

The first four count the study's own seeds (``smfuse.reproduce.study.SEEDS``) alone, and are not
recorded for a folder without them (a timed rerun at further seeds records the last alone).

The seconds of a run depend on what else ran on the machine: the notes give the number of
runs behind each figure.
"""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine_description, record_result  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--jobs", type=int, default=2, help="runs side by side (default 2: one per core)")
    ap.add_argument("--results", type=Path, default=None,
                    help="the study's results folder (default results/study; e.g. runs/timed for a timed rerun)")
    ap.add_argument("--no-record", action="store_true", help="do not write results/benchmarks.csv")
    args = ap.parse_args(argv)

    from smfuse.reproduce.study import ARMS, RESULTS_DIR, SEEDS, study_wall_time

    results = args.results or RESULTS_DIR
    w = study_wall_time(results, jobs=args.jobs)
    want = len(ARMS) * len(SEEDS)
    print(f"study: {w['runs']} of {want} runs; {w['train_seconds']:.0f} s of training in all; "
          f"{w['wall_seconds'] / 3600:.2f} h wall at {args.jobs} side by side (target <= 3 h); "
          f"slowest run {w['slowest_run']:.0f} s; median run {w['median_run']:.0f} s "
          f"({w['median_run'] * want / args.jobs / 3600:.2f} h for all {want})")
    rows = [] if w["runs"] == 0 else [("study.wall_time", w["wall_seconds"], "s", w["runs"],
             f"sum of the training seconds of {w['runs']} of {want} runs (arms x seeds) / {args.jobs} side by side; "
             "one core per run"),
            ("study.wall_time_median_run", w["median_run"] * want / args.jobs, "s", w["runs"],
             f"median run ({w['median_run']:.0f} s of {w['runs']}) x {want} runs / {args.jobs} side by side"),
            ("study.slowest_run", w["slowest_run"], "s", w["runs"], "the longest single run; one core")]
    log = results / "study_runs.csv"
    if log.is_file():
        with open(log, newline="") as f:
            # the ablation study alone, at its own seeds (further seeds: the one-command figure below)
            logged = [r for r in csv.DictReader(f) if r["arm"] in ARMS and int(r["seed"]) in SEEDS]
        if logged:
            jobs = max(int(r["jobs"]) for r in logged)
            total = sum(float(r["wall"]) for r in logged) / jobs
            print(f"smfuse study logged {len(logged)} runs: {total:.0f} s wall at {jobs} side by side")
            rows.append(("study.measured_wall", total, "s", len(logged),
                         f"wall time smfuse study --jobs {jobs} logged for {len(logged)} runs (evaluation and "
                         f"copying included) / {jobs}"))
    commands = results / "study_commands.csv"
    whole = []
    if commands.is_file():
        with open(commands, newline="") as f:
            whole = [r for r in csv.DictReader(f) if r["whole_study"] == "True"]
    if whole:
        r = whole[-1]
        print(f"one command trained the whole study ({r['runs']} runs, {r['jobs']} side by side, started "
              f"{r['started']}): {float(r['wall']) / 3600:.2f} h wall")
        rows.append(("study.one_command_wall", float(r["wall"]), "s", 1,
                     f"one smfuse study --jobs {r['jobs']} command training all {r['runs']} runs (arms "
                     f"{r['arms']}; seeds {r['seeds']}) from nothing (started {r['started']})"))
    else:
        print("no single smfuse study command has trained the whole study yet: the figures above are sums of runs")
    if not rows:
        print("nothing to record")
    elif not args.no_record:
        for name, value, unit, n, notes in rows:
            p = record_result(name, value, unit, median_of=n, threads=args.jobs, notes=notes,
                              machine=machine_description())
        print(f"recorded in {p.relative_to(Path(__file__).resolve().parents[1])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
