"""Where the time of one 520x520 forward goes: per-layer shares, model vs fast path.

Profiles :meth:`smfuse.method.network.MaskGenerator.logits` (the model's own forward, NCHW as
``fuse(..., fast=False)`` runs it) and :class:`smfuse.runtime.fast.FastLogits` with
``torch.profiler`` over a few forwards, attributes every operator to a layer by its
name and input shapes (``conv4`` is the convolution with 48 input channels, ``dec1``
the 128 -> 64 product ...), and prints each layer's share of the operators' self time.
Nothing is recorded in the results table: shares, not a target.

Run: ``python benchmarks/profile_fuse.py [--repeats N] [--size S]``
"""

from __future__ import annotations

import argparse
import os
from collections import defaultdict

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_CONV = {(16, 1): "conv1", (32, 2): "conv1", (16, 16): "conv2", (16, 32): "conv3", (16, 48): "conv4",
         (64, 128): "dec1 (1x1)", (32, 64): "dec2 (1x1)", (1, 32): "dec3 (1x1)"}


def _layer(name: str, shapes: list) -> str:
    """The layer (or kind of work) an operator belongs to."""
    shapes = [s for s in shapes if isinstance(s, list)]
    if name in ("aten::mkldnn_convolution", "aten::convolution", "aten::_convolution", "aten::conv2d"):
        w = shapes[1] if len(shapes) > 1 else []
        return _CONV.get(tuple(w[:2]), "conv ?")
    if name in ("aten::mm", "aten::addmm", "aten::addmm_"):
        mats = [s for s in shapes if len(s) == 2]
        k, n = mats[-1] if mats else (0, 0)
        return {64: "dec1 (matmul)", 32: "dec2 (matmul)", 1: "dec3 (matmul)"}.get(n, "matmul ?")
    if name == "aten::cat":
        return "torch.cat (dense inputs, decoder input)"
    if name == "aten::reflection_pad2d":
        return "reflect padding (F.pad)"
    if name == "aten::leaky_relu":
        return "LeakyReLU (into the padded buffers)" if len(shapes) > 1 and shapes[-1] else "LeakyReLU"
    if name == "aten::leaky_relu_":
        return "LeakyReLU (decoder, in place)"
    if name in ("aten::add", "aten::add_"):
        return "decoder scalar biases"
    if name == "aten::copy_":
        return "copies (borders, layouts)"
    return "other"


def profile(fn, repeats: int) -> tuple[dict, float]:
    import torch
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch.inference_mode():
        fn()
        with torch_profile(activities=[ProfilerActivity.CPU], record_shapes=True) as prof:
            for _ in range(repeats):
                fn()
    by_layer: dict[str, float] = defaultdict(float)
    for ev in prof.key_averages(group_by_input_shape=True):
        if ev.self_cpu_time_total > 0:
            by_layer[_layer(ev.key, list(ev.input_shapes or []))] += ev.self_cpu_time_total / 1e3 / repeats
    return dict(by_layer), sum(by_layer.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="profiled forwards; default 3")
    parser.add_argument("--size", type=int, default=520, help="image side; default 520")
    args = parser.parse_args(argv)

    import torch

    from smfuse.runtime.fast import FastLogits
    from smfuse.method.network import MaskGenerator

    torch.manual_seed(0)
    model = MaskGenerator().eval()
    x1, x2 = torch.rand(2, 1, 1, args.size, args.size) * 2 - 1
    fast = FastLogits(model)
    print(f"{args.size}x{args.size} pair, {torch.get_num_threads()} threads, "
          f"load average {os.getloadavg()[0]:.1f}; self time of the operators, per forward")
    for label, fn in (("model.logits", lambda: model.logits(x1, x2)), ("FastLogits", lambda: fast(x1, x2))):
        layers, total = profile(fn, args.repeats)
        print(f"\n{label}: {total:.0f} ms per forward")
        for name, ms in sorted(layers.items(), key=lambda kv: -kv[1]):
            print(f"  {name:42s} {ms:7.1f} ms  {100 * ms / total:5.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
