"""Time :func:`smfuse.evaluation.metrics.compute_all` on one 520x520 colour triple (target: under 1 s).

The triple is the bundled synthetic pair 1 (scikit-image's astronaut, defocused by a known
map) at Lytro's size, 520x520 RGB, with its all-in-focus truth as the fused image, so the
benchmark needs no data files. Prints the median of several runs, the threads and the
machine, and records the row ``metrics.compute_all.520x520_rgb`` in
``results/benchmarks.csv``.

Run: ``python benchmarks/bench_metrics.py [--repeats N] [--no-record]``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import available_threads, machine_description, record_result, time_median  # noqa: E402

BENCHMARK = "metrics.compute_all.520x520_rgb"
TARGET_S = 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs (median reported); default 7")
    parser.add_argument("--no-record", action="store_true", help="do not write results/benchmarks.csv")
    args = parser.parse_args(argv)

    from smfuse.data.sets import synthetic_pair
    from smfuse.evaluation.metrics import compute_all

    pair = synthetic_pair(1, size=520)
    assert pair.a.shape == (520, 520, 3) and pair.a.dtype.name == "uint8"
    median, times = time_median(lambda: compute_all(pair.a, pair.b, pair.truth), repeats=args.repeats)
    threads, machine = available_threads(), machine_description()
    print(f"compute_all on one 520x520 RGB triple: median {median:.3f} s of {len(times)} runs "
          f"(min {min(times):.3f}, max {max(times):.3f})")
    print(f"threads available: {threads}; machine: {machine}")
    print(f"target < {TARGET_S:.1f} s: {'met' if median < TARGET_S else 'NOT met'}")
    if not args.no_record:
        p = record_result(BENCHMARK, median, "s", median_of=len(times), threads=threads, machine=machine,
                          notes="all 11 metrics incl. rgb2gray; numpy/scipy code runs on one thread")
        print(f"recorded in {p.relative_to(Path(__file__).resolve().parents[1])}")
    return 0 if median < TARGET_S else 1


if __name__ == "__main__":
    raise SystemExit(main())
