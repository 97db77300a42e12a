"""Which floating-point precision a training run uses, and whether the hardware computes it natively.

bfloat16 autocast speeds up training only where the processor multiplies bfloat16
natively: on x86 CPUs with the AVX512-BF16 or AMX-BF16 instructions, and on CUDA devices
that support it. Elsewhere oneDNN emulates it, converting every operand to float32 and
back, and a step is several times *slower* than plain float32. Measured with
``benchmarks/bench_train.py`` (batch 16 of 64x64, 2 threads):

==========================================  ================  =============
CPU (2 cores)                               fp32 plain loop   bf16 autocast
==========================================  ================  =============
AMD EPYC, an earlier machine (flags not     68 patches/s      103 (1.52x)
recorded; bf16 ran faster, so natively)
AMD EPYC, AVX2, no AVX512-BF16 or AMX       40 patches/s      5.4 (0.14x)
==========================================  ================  =============

``benchmarks/`` now records in its machine column whether bfloat16 is native.

So the ``fast`` training configuration asks for ``precision="auto"``: bfloat16 where it
is native, float32 elsewhere (:func:`resolve_precision`). A run records the precision it
resolved to in its ``config.json``, so a run is repeated with the arithmetic it had. The
training study pins ``bf16`` (its committed runs are bfloat16), and a bfloat16 run on
hardware that emulates it warns that it will be slow.
"""

from __future__ import annotations

import functools
import platform

import torch

__all__ = ["PRECISIONS", "cpu_has_native_bf16", "native_bf16", "resolve_precision"]

#: The values of ``TrainConfig.precision``.
PRECISIONS = ("auto", "fp32", "bf16")

#: x86 CPU flags (Linux ``/proc/cpuinfo``) of instructions that compute bfloat16 products.
BF16_FLAGS = ("avx512_bf16", "amx_bf16")


def cpu_has_native_bf16(cpuinfo: str | None = None) -> bool:
    """Whether the CPU multiplies bfloat16 natively (AVX512-BF16 or AMX-BF16).

    Parameters
    ----------
    cpuinfo : str, optional
        The text of Linux's ``/proc/cpuinfo``; read from the system when None. On other
        systems, or when it cannot be read, the answer is False (float32 is never slow).

    Returns
    -------
    bool
        True when a ``flags`` line names one of :data:`BF16_FLAGS`.
    """
    if cpuinfo is None:
        cpuinfo = _read_cpuinfo()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() == "flags":
            return bool(set(value.split()) & set(BF16_FLAGS))
    return False


@functools.lru_cache(maxsize=None)
def _read_cpuinfo() -> str:
    if platform.system() != "Linux":
        return ""
    try:
        with open("/proc/cpuinfo") as f:
            return f.read()
    except OSError:
        return ""


@functools.lru_cache(maxsize=None)
def _cpu_native_bf16() -> bool:
    return cpu_has_native_bf16()


def native_bf16(device: torch.device | str = "cpu") -> bool:
    """Whether ``device`` computes bfloat16 natively (so that autocast to it is faster).

    A CUDA device: :func:`torch.cuda.is_bf16_supported`; a CPU: :func:`cpu_has_native_bf16`.
    """
    device = torch.device(device)
    if device.type == "cuda":
        return bool(torch.cuda.is_available() and torch.cuda.is_bf16_supported())
    return device.type == "cpu" and _cpu_native_bf16()


def resolve_precision(precision: str, device: torch.device | str = "cpu") -> str:
    """The precision a run uses on ``device``: ``'fp32'`` or ``'bf16'``.

    ``'auto'`` is ``'bf16'`` where :func:`native_bf16` holds, else ``'fp32'``; the other
    values are returned as they are.
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    return precision
