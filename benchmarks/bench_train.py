"""Training throughput: patches per second of ``smfuse.runtime.train`` against a plain PyTorch loop.

Times, interleaved round by round so that a change in the machine's load hits every
contender alike, each contender in a process of its own (the C allocator setting that
``smfuse.runtime.train`` makes, :mod:`smfuse.runtime.allocator`, holds for a whole process):

* ``plain.fp32``: a plain fp32 PyTorch training loop over the same network written the
  textbook way (``nn.Conv2d`` with reflect padding, ``torch.cat``, the decoder's scalar
  bias added after each 1x1 conv, out-of-place LeakyReLU; Adam, channels-last,
  smooth-L1 on MG against a fixed random label, tensors made once), in a process with
  the C library's default allocator: the reference of the speed target;
* ``plain.fp32.keepmem``: the same loop after :func:`smfuse.runtime.allocator.keep_freed_memory`:
  what the allocator setting alone gains;
* ``module.fp32``: the plain loop (default allocator) over
  :class:`smfuse.method.network.MaskGenerator` (the bias inside the conv kernel, LeakyReLU in
  place): what the module alone gains;
* ``code.fast``: :func:`smfuse.runtime.train.training_step` with the ``fast`` configuration (the
  released code's loss; bfloat16 autocast where the CPU computes bfloat16 natively, float32
  elsewhere, :mod:`smfuse.runtime.precision`), batch drawing included, with the allocator setting
  that :func:`smfuse.runtime.train.train` makes: what ``smfuse train --config fast`` runs;
* ``code.bf16``: the same with bfloat16 autocast forced (what ``fast`` asked for before it
  resolved the precision per CPU; several times slower where bfloat16 is emulated);
* ``code.full`` and ``paper.full``: the ``full`` configuration (fp32) for both loss
  variants, batch drawing included, as ``smfuse train`` runs them.

All at batch 16 of 64x64 on the bundled synthetic pairs (no data files needed), with as
many threads as the process may use. Prints the medians, the ratio ``code.fast /
plain.fp32`` (target >= 1.25), the threads and the machine, and records the rows
``train.<name>.b16x64`` and ``train.fast_over_plain`` in ``results/benchmarks.csv``.

Run: ``python benchmarks/bench_train.py [--rounds N] [--steps K] [--no-record]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch starts (see README)
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import available_threads, load_average, machine_description, record_result  # noqa: E402


def make_smfuse_step(data, cfg):
    """A closure running one step of ``smfuse.runtime.train`` (batch drawing + :func:`training_step`)."""
    import torch

    from smfuse.method.network import MaskGenerator
    from smfuse.runtime.train import training_step

    model = MaskGenerator(init=cfg.init, generator=torch.Generator().manual_seed(cfg.seed))
    model = model.to(memory_format=torch.channels_last).train()
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(0.9, 0.999), eps=1e-8)
    state = {"step": 0}

    def step() -> None:
        x1, x2, mi = data.batch(state["step"], cfg.batch_size, cfg.patch_size, cfg.seed, cfg.patch_mi_weight)
        x1, x2, mi = (t.contiguous(memory_format=torch.channels_last) for t in (x1, x2, mi))
        training_step(model, opt, cfg, x1, x2, mi)
        state["step"] += 1

    return step


def textbook_network():
    """The mask generator (38,339 parameters) as one would first write it in PyTorch."""
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    class Branch(nn.Module):
        def __init__(self):
            super().__init__()
            self.convs = nn.ModuleList(nn.Conv2d(c, 16, 3, padding=1, padding_mode="reflect") for c in (1, 16, 32, 48))

        def forward(self, x):
            feats = []  # c1..c4; conv k reads x, then c1, then [c1, c2], then [c1, c2, c3]
            for conv in self.convs:
                inp = x if not feats else feats[0] if len(feats) == 1 else torch.cat(feats, 1)
                feats.append(F.leaky_relu(conv(inp), 0.2))
            return feats

    class Decoder1x1(nn.Module):
        def __init__(self, cin, cout):
            super().__init__()
            self.conv = nn.Conv2d(cin, cout, 1, bias=False)
            self.bias = nn.Parameter(torch.zeros(1))

        def forward(self, x):
            return self.conv(x) + self.bias

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.b1, self.b2 = Branch(), Branch()
            self.dec = nn.ModuleList([Decoder1x1(128, 64), Decoder1x1(64, 32), Decoder1x1(32, 1)])

        def forward(self, x1, x2):
            z = torch.cat([t for pair in zip(self.b1(x1), self.b2(x2)) for t in pair], 1)
            z = F.leaky_relu(self.dec[0](z), 0.2)
            z = F.leaky_relu(self.dec[1](z), 0.2)
            return torch.tanh(self.dec[2](z)) / 2 + 0.5

    return Net()


def make_plain_step(batch: int = 16, patch: int = 64, *, module: bool = False):
    """A plain fp32 PyTorch loop over the network: the textbook module, or ours (``module``)."""
    import torch

    from smfuse.method.network import MaskGenerator

    g = torch.Generator().manual_seed(0)
    model = MaskGenerator(generator=g) if module else textbook_network()
    assert sum(p.numel() for p in model.parameters()) == 38339
    model = model.train().to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), 1e-3)
    cl = lambda x: x.contiguous(memory_format=torch.channels_last)  # noqa: E731
    a, b = cl(torch.rand(batch, 1, patch, patch, generator=g)), cl(torch.rand(batch, 1, patch, patch, generator=g))
    y = (torch.rand(batch, 1, patch, patch, generator=g) > 0.5).float()

    def step() -> None:
        loss = torch.nn.functional.smooth_l1_loss(model(a, b), y)
        opt.zero_grad()
        loss.backward()
        opt.step()

    return step


#: name -> (what it runs, whether its process keeps freed memory as smfuse.runtime.train does)
CONTENDERS = {
    "plain.fp32": ("plain", False),
    "plain.fp32.keepmem": ("plain", True),
    "module.fp32": ("module", False),
    "code.fast": ("fast", True),
    "code.bf16": ("bf16", True),
    "code.full": ("full", True),
    "paper.full": ("paper", True),
}


def _build(kind: str):
    """The step closure of one contender (in its own process)."""
    from smfuse.data.sets import load_dataset
    from smfuse.runtime.train import TrainingSet, get_config

    if kind in ("plain", "module"):
        return make_plain_step(module=kind == "module")
    cfg = {"fast": lambda: get_config("fast"), "bf16": lambda: get_config("fast", precision="bf16"),
           "full": lambda: get_config("full"), "paper": lambda: get_config("full", variant="paper")}[kind]()
    return make_smfuse_step(TrainingSet(load_dataset("synthetic", limit=4)), cfg)


def _worker(conn, kind: str, keep: bool, threads: int) -> None:
    """Serve one contender: build it, warm up, then time ``n`` steps per request (None ends)."""
    import torch

    from smfuse.runtime.allocator import keep_freed_memory

    kept = keep_freed_memory() if keep else False
    torch.set_num_threads(threads)
    fn = _build(kind)
    for _ in range(3):
        fn()
    conn.send(kept)
    while (n := conn.recv()) is not None:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        conn.send(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="interleaved rounds (default 6)")
    parser.add_argument("--steps", type=int, default=5, help="timed steps per contender per round (default 5)")
    parser.add_argument("--no-record", action="store_true", help="do not write results/benchmarks.csv")
    args = parser.parse_args(argv)

    import multiprocessing as mp

    from smfuse.runtime.precision import resolve_precision
    from smfuse.runtime.train import get_config

    fast_precision = resolve_precision(get_config("fast").precision)
    threads, machine = available_threads(), machine_description()
    load = load_average()
    note_load = f"load average {load:.1f} on {threads} cores at start"
    ctx = mp.get_context("spawn")
    workers, kept = {}, {}
    try:
        for name, (kind, keep) in CONTENDERS.items():  # one at a time: each warms up alone
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_worker, args=(child, kind, keep, threads), daemon=True)
            proc.start()
            kept[name] = parent.recv()
            workers[name] = (proc, parent)
        times: dict[str, list[float]] = {k: [] for k in CONTENDERS}
        for _ in range(args.rounds):
            for name, (_, conn) in workers.items():
                conn.send(args.steps)
                times[name] += conn.recv()
    finally:
        for proc, conn in workers.values():
            try:
                conn.send(None)
            except OSError:
                pass
            proc.join(timeout=30)
    rates = {k: 16 / statistics.median(v) for k, v in times.items()}
    rows = []
    for name, rate in rates.items():
        alloc = "freed memory kept (smfuse.runtime.allocator)" if kept[name] else "default C allocator"
        print(f"train.{name}.b16x64: median step {16 / rate:.3f} s = {rate:.1f} patches/s ({alloc})")
        rows.append((f"train.{name}.b16x64", rate, "patches/s", len(times[name]),
                     f"interleaved with the other contenders, each in its own process; {alloc}; batch 16 of "
                     f"64x64; synthetic pairs; {note_load}"))
    ratio = rates["code.fast"] / rates["plain.fp32"]
    print(f"smfuse train --config fast ({fast_precision} here) / plain fp32 loop: {ratio:.2f}x (target >= 1.25)")
    rows.append(("train.fast_over_plain", ratio, "x", args.rounds,
                 f"code.fast ({fast_precision} on this CPU, freed memory kept) patches/s over plain.fp32 "
                 f"(default allocator) patches/s, measured side by side; {note_load}"))
    print(f"threads: {threads}; machine: {machine}; {note_load}")
    if not args.no_record:
        for label, value, unit, n, notes in rows:
            p = record_result(label, value, unit, median_of=n, threads=threads, machine=machine, notes=notes)
        print(f"recorded in {p.relative_to(Path(__file__).resolve().parents[1])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
