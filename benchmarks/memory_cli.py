"""Peak memory of ``smfuse initial-mask`` against ``smfuse fuse`` on one 12 MP colour pair.

The pair is made here, so the benchmark needs no data files: the bundled synthetic pair 1
(520x520 colour, :func:`smfuse.data.sets.synthetic_pair`) tiled to 4000x3000 (12 MP) and
written as JPEG at quality 95, as a camera would. Each command runs as a user runs it
(the ``smfuse`` console script of this environment, default settings, ``--quiet``), in a
fresh wrapper process whose ``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss`` is the
command's peak resident set size (Python, the libraries and the images included). A third
contender, ``initial-mask (whole image)``, computes the same mask the way the command did
before it streamed the guided block in bands (``focus_map(I2) > focus_map(I1)`` over the
whole image), for comparison. The commands alternate, round by round; the median of the
rounds is reported, and recorded in ``results/benchmarks.csv`` as
``cli.fuse.12mp_rgb.peak_rss``, ``cli.initial_mask.12mp_rgb.peak_rss`` and
``cli.initial_mask.12mp_rgb.whole_image.peak_rss`` (MB), with each command's wall time in
the notes.

Run: ``python benchmarks/memory_cli.py [--repeats N] [--no-record]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import available_threads, load_average, machine_description, record_result  # noqa: E402

HEIGHT, WIDTH = 4000, 3000

# Runs argv[1:] as a child and prints the child's peak RSS in kB (Linux reports ru_maxrss in kB).
_WRAPPER = ("import resource, subprocess, sys\n"
            "r = subprocess.run(sys.argv[1:])\n"
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, r.returncode)\n")

# The mask as the command computed it before it streamed the guided block: whole-image filters.
_WHOLE_IMAGE = ("import sys, numpy as np\n"
                "from smfuse.io import grey_unit, source_pair, write_image\n"
                "from smfuse.method.guided_block import focus_map\n"
                "a, b = source_pair(sys.argv[1], sys.argv[2])\n"
                "g1, g2 = grey_unit(a), grey_unit(b)\n"
                "mi = focus_map(g2) > focus_map(g1)\n"
                "write_image(sys.argv[3], np.where(mi, np.uint8(255), np.uint8(0)))\n")


def make_pair(folder: Path) -> tuple[Path, Path]:
    """The synthetic pair 1 tiled to HEIGHT x WIDTH, written as JPEG (quality 95)."""
    import numpy as np

    from smfuse.data.sets import synthetic_pair
    from smfuse.io import write_image

    p = synthetic_pair(1, size=520)
    reps = (-(-HEIGHT // 520), -(-WIDTH // 520), 1)
    paths = []
    for name, x in (("A", p.a), ("B", p.b)):
        big = np.ascontiguousarray(np.tile(x, reps)[:HEIGHT, :WIDTH])
        path = folder / f"pair_{name}.jpg"
        write_image(path, big)
        paths.append(path)
    return paths[0], paths[1]


def peak(cmd: list[str]) -> tuple[float, float]:
    """Peak RSS (MB) and wall time (s) of ``cmd`` run in a fresh wrapper process."""
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t0
    kb, rc = out.stdout.split()[-2:]
    if rc != "0":
        raise RuntimeError(f"{' '.join(cmd)} failed (exit {rc}): {out.stderr.strip().splitlines()[-1:]}")
    return int(kb) / 1024, seconds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="rounds (median reported); default 3")
    parser.add_argument("--no-record", action="store_true", help="do not write results/benchmarks.csv")
    args = parser.parse_args(argv)

    smfuse = str(Path(sys.executable).with_name("smfuse"))
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        a, b = make_pair(d)
        contenders = {
            "cli.fuse.12mp_rgb.peak_rss": [smfuse, "fuse", str(a), str(b), "-o", str(d / "fused.png"), "--quiet"],
            "cli.initial_mask.12mp_rgb.peak_rss": [smfuse, "initial-mask", str(a), str(b), "-o", str(d / "mi.png")],
            "cli.initial_mask.12mp_rgb.whole_image.peak_rss": [sys.executable, "-c", _WHOLE_IMAGE, str(a), str(b),
                                                               str(d / "mi_whole.png")],
        }
        load = load_average()
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in contenders}
        for _ in range(args.repeats):
            for name, cmd in contenders.items():
                runs[name].append(peak(cmd))
        from smfuse.io import read_image

        same = bool((read_image(d / "mi.png") == read_image(d / "mi_whole.png")).all())
    threads, machine = available_threads(), machine_description()
    print(f"{HEIGHT}x{WIDTH} colour JPEG pair; median of {args.repeats} rounds; threads {threads}; machine: {machine}; "
          f"load average {load:.1f}")
    print(f"streamed and whole-image initial masks identical: {same}")
    for name, rs in runs.items():
        mb = statistics.median(r[0] for r in rs)
        s = statistics.median(r[1] for r in rs)
        print(f"{name:<48} peak RSS {mb:7.0f} MB  (runs {', '.join(f'{r[0]:.0f}' for r in rs)})  wall {s:.1f} s")
        if not args.no_record:
            record_result(name, mb, "MB", median_of=len(rs), threads=threads, machine=machine,
                          notes=f"{HEIGHT}x{WIDTH} colour JPEG pair; ru_maxrss of the command in a fresh process; "
                                f"median wall {s:.1f} s; load average {load:.1f}")
    if not same:
        print("the streamed mask differs from the whole-image one", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
