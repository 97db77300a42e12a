"""Training throughput: patches per second of the ``full`` configuration (batch 16 of 64x64).

Runs the training step of :func:`smfuse.train.train` (the same batch drawing, channels-last
model, :class:`smfuse.losses.SMFuseLoss` and Adam) on the bundled synthetic pairs, so it
needs no data files, and reports ``batch_size / median step time``, for the ``code``
loss (only the map loss trains) and the ``paper`` loss (the gradient loss trains too,
through the straight-through sign). Prints the threads and the machine, and records the
rows ``train.code.b16x64`` and ``train.paper.b16x64`` in ``results/benchmarks.csv``.

Run: ``python benchmarks/bench_train.py [--steps N] [--no-record]``
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts (see README)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import available_threads, machine_description, record_result, time_median  # noqa: E402


def make_step(variant: str, data, cfg):
    """A closure running one training step of ``train()`` (the step counter advances)."""
    import torch

    from smfuse.losses import SMFuseLoss
    from smfuse.model import MaskGenerator

    torch.manual_seed(cfg.seed)
    model = MaskGenerator(init=cfg.init).to(memory_format=torch.channels_last).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8)
    loss_fn = SMFuseLoss(variant, cfg.map_weight, cfg.gra_weight)
    state = {"step": 0}
    mi_weight = getattr(cfg, "patch_mi_weight", cfg.mi_weight)  # the patch sampling train() uses

    def step() -> None:
        x1, x2, mi = data.batch(state["step"], cfg.batch_size, cfg.patch_size, cfg.seed, mi_weight)
        x1, x2, mi = (t.contiguous(memory_format=torch.channels_last) for t in (x1, x2, mi))
        terms = loss_fn(model(x1, x2), x1, x2, mi)
        opt.zero_grad(set_to_none=True)
        terms.total.backward()
        opt.step()
        state["step"] += 1

    return step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=15, help="timed steps per variant (median reported); default 15")
    parser.add_argument("--no-record", action="store_true", help="do not write results/benchmarks.csv")
    args = parser.parse_args(argv)

    import torch

    from smfuse.data import load_dataset
    from smfuse.train import TrainingSet, get_config

    cfg = get_config("full")
    data = TrainingSet(load_dataset("synthetic", limit=4))
    threads, machine = torch.get_num_threads(), machine_description()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    note_load = f"load average {load:.1f} on {available_threads()} cores at start"
    rows = []
    for variant in ("code", "paper"):
        med, times = time_median(make_step(variant, data, cfg), repeats=args.steps, warmup=3)
        rate = cfg.batch_size / med
        print(f"train.{variant}.b{cfg.batch_size}x{cfg.patch_size}: median step {med:.3f} s "
              f"(min {min(times):.3f}) = {rate:.1f} patches/s")
        rows.append((f"train.{variant}.b{cfg.batch_size}x{cfg.patch_size}", rate, len(times),
                     f"median step {med:.3f} s incl. batch drawing; Adam lr {cfg.lr:g}; synthetic pairs; {note_load}"))
    print(f"threads: {threads}; machine: {machine}; {note_load}")
    if not args.no_record:
        for label, value, n, notes in rows:
            p = record_result(label, value, "patches/s", median_of=n, threads=threads, machine=machine, notes=notes)
        print(f"recorded in {p.relative_to(Path(__file__).resolve().parents[1])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
