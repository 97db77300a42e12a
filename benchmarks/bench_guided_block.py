"""Time the guided block, :func:`smfuse.method.guided_block.initial_mask`, on one 520x520 grey pair.

The pair is the bundled synthetic pair 1 at Lytro's size (520x520), converted to grey
in [0, 1] as training does (:func:`smfuse.io.to_grey`), so the benchmark needs no data
files. Prints the median of several runs, the threads and the machine, and records the
row ``guided_block.initial_mask.520x520`` in ``results/benchmarks.csv``.

Run: ``python benchmarks/bench_guided_block.py [--repeats N] [--no-record]``
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import available_threads, load_average, machine_description, record_result, time_median  # noqa: E402

BENCHMARK = "guided_block.initial_mask.520x520"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=9, help="timed runs (median reported); default 9")
    parser.add_argument("--no-record", action="store_true", help="do not write results/benchmarks.csv")
    args = parser.parse_args(argv)

    from smfuse.data.sets import synthetic_pair
    from smfuse.method.guided_block import initial_mask
    from smfuse.io import to_grey

    pair = synthetic_pair(1, size=520)
    g1, g2 = to_grey(pair.a), to_grey(pair.b)
    assert g1.shape == (520, 520)
    median, times = time_median(lambda: initial_mask(g1, g2), repeats=args.repeats)
    threads, machine = available_threads(), machine_description()
    load = load_average()
    print(f"initial_mask on one 520x520 grey pair: median {median * 1e3:.1f} ms of {len(times)} runs "
          f"(min {min(times) * 1e3:.1f}, max {max(times) * 1e3:.1f})")
    print(f"threads available: {threads}; machine: {machine}; load average {load:.1f}")
    if not args.no_record:
        p = record_result(BENCHMARK, median * 1e3, "ms", median_of=len(times), threads=threads, machine=machine,
                          notes=f"two focus maps (mean filter + guided filter) and the comparison; numpy/scipy "
                                f"on one thread; load average {load:.1f}")
        print(f"recorded in {p.relative_to(Path(__file__).resolve().parents[1])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
