"""Time :func:`smfuse.runtime.inference.fuse` per megapixel (grey, colour) and its peak memory on 4096x4096.

Measures, each as the median of several runs after a warm-up run:

* ``fuse.520x520_grey`` / ``fuse.520x520_rgb``: one Lytro-sized pair (the bundled
  synthetic pair 1, 520x520), in megapixels per second (target: at least 1 MP/s on 2
  cores, i.e. about 0.27 s per pair);
* ``fuse.520x520_rgb.plain``: the same with ``fast=False`` (the model's own forward),
  for comparison;
* ``fuse.520x520_rgb.dilated``: the same pair with the dilated architecture (the
  ``plus`` configuration's network, notebook 08: 27x27 receptive field, the same
  parameters), fast path (target: at least 1 MP/s as well);
* ``fuse.520x520_grey.1thread``: the grey pair on one thread, what one core does
  (on a shared machine the second thread may find its core busy);
* ``fuse.1040x1040_rgb``: a larger pair (the 520 pair tiled 2x2, 1.08 MP), fused in
  512-pixel tiles;
* ``fuse.4096x4096_rgb.peak_rss`` and ``fuse.4096x4096_rgb``: a 4096x4096 colour pair
  (16.8 MP, tiled, ``tile=512``) fused once in a fresh subprocess, started before this
  process loads anything large. Peak memory is the subprocess's peak resident set size,
  ``resource.getrusage(RUSAGE_SELF).ru_maxrss``, over its whole life: Python, numpy,
  torch and the images included (target: under 2 GB); ``VmHWM`` from ``/proc`` is printed
  beside it as a check.

Every time is the whole :func:`fuse` call: grey conversion, network, mask, ``tanh``
and the selection of the fused pixels. The network has random weights (seeded): its
speed does not depend on them. Prints the threads and the machine, and records the rows
in ``results/benchmarks.csv``.

Run: ``python benchmarks/bench_fuse.py [--repeats N] [--no-record] [--skip-large]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts (see README)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import available_threads, load_average, machine_description, record_result, time_median  # noqa: E402

TARGET_MP_S = 1.0
TARGET_PEAK_MB = 2048.0
LARGE = 4096


def _model(arch: str = "released"):
    import torch

    from smfuse.method.network import MaskGenerator

    return MaskGenerator(generator=torch.Generator().manual_seed(0), arch=arch).eval()


def _pairs():
    import numpy as np

    from smfuse.data.sets import synthetic_pair
    from smfuse.io import rgb2gray_matlab

    p = synthetic_pair(1, size=520)
    assert p.a.shape == (520, 520, 3) and p.a.dtype == np.uint8
    grey = (rgb2gray_matlab(p.a), rgb2gray_matlab(p.b))
    big = (np.tile(p.a, (2, 2, 1)), np.tile(p.b, (2, 2, 1)))
    return {"520x520_grey": grey, "520x520_rgb": (p.a, p.b), "1040x1040_rgb": big}


def _vm_hwm_mb() -> float:
    """Peak resident set of this process's address space (``VmHWM``), in MB; NaN off Linux."""
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def _large_child() -> None:
    """Run in a fresh process: fuse one 4096x4096 colour pair, print JSON (time, peak RSS)."""
    import resource

    import numpy as np

    from smfuse.data.sets import synthetic_pair
    from smfuse.runtime.inference import fuse

    model = _model()
    p = synthetic_pair(1, size=512)
    reps = LARGE // 512
    a, b = np.tile(p.a, (reps, reps, 1)), np.tile(p.b, (reps, reps, 1))
    base_mb = _vm_hwm_mb()
    t0 = time.perf_counter()
    res = fuse(a, b, model, tile=512)
    seconds = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    assert res.fused.shape == a.shape
    print(json.dumps({"seconds": seconds, "peak_mb": peak_kb / 1024, "vm_hwm_mb": _vm_hwm_mb(),
                      "before_fuse_mb": base_mb}))


def _run_large_child() -> dict:
    """Start :func:`_large_child` in a fresh interpreter and return its JSON.

    Call it while this process is still small: on Linux a child's ``ru_maxrss`` starts
    from the RSS of its parent at fork time (it survives ``execve``).
    """
    out = subprocess.run([sys.executable, __file__, "--large-child"], capture_output=True, text=True,
                         env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
    if out.returncode != 0:
        raise RuntimeError(f"the {LARGE}x{LARGE} run failed:\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7, help="timed runs per size (median reported); default 7")
    parser.add_argument("--no-record", action="store_true", help="do not write results/benchmarks.csv")
    parser.add_argument("--skip-large", action="store_true", help="skip the 4096x4096 memory run")
    parser.add_argument("--large-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.large_child:
        _large_child()
        return 0

    load = load_average()
    big = None if args.skip_large else _run_large_child()  # first, while this process is small

    import torch

    from smfuse.runtime.inference import fuse

    threads, machine = torch.get_num_threads(), machine_description()
    note_load = f"load average {load:.1f} on {available_threads()} cores at start"
    model = _model()
    rows, ok = [], True
    for name, (a, b) in _pairs().items():
        mp = a.shape[0] * a.shape[1] / 1e6
        variants = [("", True, model)] + ([(".plain", False, model), (".dilated", True, _model("dilated"))]
                                          if name == "520x520_rgb" else [])
        for suffix, fast, net in variants:
            med, times = time_median(lambda: fuse(a, b, net, tile=512, fast=fast), repeats=args.repeats)
            rate = mp / med
            label = f"fuse.{name}{suffix}"
            print(f"{label:28s} {med:7.3f} s per pair (min {min(times):.3f}) = {rate:5.2f} MP/s")
            if fast:
                ok &= rate >= TARGET_MP_S
            rows.append((label, rate, "MP/s", len(times),
                         f"median {med:.3f} s per {a.shape[0]}x{a.shape[1]} pair; "
                         f"{'model.logits (fast=False)' if not fast else 'fast path'}; {net.arch} network; "
                         f"tile 512; {note_load}"))

    # one thread: what one core does, whatever the other core is busy with
    a, b = _pairs()["520x520_grey"]
    torch.set_num_threads(1)
    try:
        med, times = time_median(lambda: fuse(a, b, model, tile=512), repeats=args.repeats)
    finally:
        torch.set_num_threads(threads)
    print(f"{'fuse.520x520_grey.1thread':28s} {med:7.3f} s per pair (min {min(times):.3f}) = {0.2704 / med:5.2f} MP/s")
    rows.append(("fuse.520x520_grey.1thread", 0.2704 / med, "MP/s", len(times),
                 f"median {med:.3f} s per 520x520 pair on one thread (torch.set_num_threads(1)); fast path; "
                 f"{note_load}", 1))

    if big is not None:
        mp = LARGE * LARGE / 1e6
        print(f"fuse.{LARGE}x{LARGE}_rgb         {big['seconds']:7.3f} s (one run) = {mp / big['seconds']:5.2f} MP/s; "
              f"peak RSS {big['peak_mb']:.0f} MB (VmHWM {big['vm_hwm_mb']:.0f} MB; "
              f"{big['before_fuse_mb']:.0f} MB before fusing)")
        ok &= big["peak_mb"] < TARGET_PEAK_MB
        rows.append((f"fuse.{LARGE}x{LARGE}_rgb.peak_rss", big["peak_mb"], "MB", 1,
                     f"ru_maxrss of a fresh subprocess: python+torch+images included "
                     f"({big['before_fuse_mb']:.0f} MB before fuse); tile 512"))
        rows.append((f"fuse.{LARGE}x{LARGE}_rgb", mp / big["seconds"], "MP/s", 1,
                     f"{big['seconds']:.2f} s for one pair in a fresh process (first call allocates the buffers); "
                     f"tile 512; {note_load}"))

    print(f"threads: {threads}; machine: {machine}; {note_load}")
    targets = f">= {TARGET_MP_S:.1f} MP/s" + ("" if big is None else f", {LARGE}^2 peak < {TARGET_PEAK_MB:.0f} MB")
    print(f"targets ({targets}): {'met' if ok else 'NOT met'}")
    if not args.no_record:
        for label, value, unit, n, notes, *used in rows:
            p = record_result(label, value, unit, median_of=n, threads=used[0] if used else threads,
                              machine=machine, notes=notes)
        print(f"recorded in {p.relative_to(Path(__file__).resolve().parents[1])}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
