"""Keep freed memory in the process: the C allocator setting under which CPU training is fast.

PyTorch on the CPU allocates every activation, gradient and temporary of a step with the
C library's ``malloc`` and frees it again before the next step. glibc's defaults hand a
large block back to the kernel when it is freed: blocks of more than 32 MB (the ceiling
of its dynamic ``mmap`` threshold) are mapped and unmapped each time, and the top of the
heap is trimmed whenever 128 KB lie free there. A training step of the mask generator
at batch 16 of 64x64 allocates about 600 MB this way (one concatenated feature map of
128 channels is 33.5 MB), so on the next step the kernel maps those pages again and
zeroes each of them on its first touch: about 95,000 minor page faults a step, a quarter
of the step's time spent in the kernel (``sys`` 30 s of 121 s for 300 steps on 1 thread).

:func:`keep_freed_memory` raises both thresholds to 1 GB with ``mallopt``: blocks below
that are carved out of the heap, and freed memory stays in the process for the next step
to reuse. The training arithmetic is untouched (the same operations on the same numbers;
``tests/test_allocator.py`` checks a run bit for bit). The cost is that the process keeps
its peak memory until it exits. :func:`smfuse.runtime.train.train` calls it. Measured on an AMD
EPYC with 2 cores (AVX2), batch 16 of 64x64, float32, with ``benchmarks/bench_train.py``
(2 threads, each contender in its own process, interleaved) and the same loop timed alone
(1 thread):

==================================  ======================  =========================
plain PyTorch loop, same network    glibc defaults          :func:`keep_freed_memory`
==================================  ======================  =========================
1 thread                            35 patches/s            53 patches/s
2 threads                           51 patches/s            82 patches/s
==================================  ======================  =========================

Minor page faults per step fall from about 95,000 to none (``tests/test_allocator.py``
counts them).

The same setting can be made before a process starts, for any program, with
``GLIBC_TUNABLES=glibc.malloc.mmap_threshold=1073741824:glibc.malloc.trim_threshold=1073741824``;
a replacement allocator (jemalloc, tcmalloc) preloaded with ``LD_PRELOAD`` has a similar
effect. Elsewhere than glibc (macOS, Windows, musl) the function does nothing and returns
False.

References
----------
glibc manual, "Memory Allocation Tunables" and ``mallopt(3)``: ``M_MMAP_THRESHOLD``,
``M_TRIM_THRESHOLD``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import platform

__all__ = ["KEEP_BYTES", "keep_freed_memory"]

#: The mmap and trim thresholds :func:`keep_freed_memory` sets, in bytes.
KEEP_BYTES = 1 << 30

_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3


@functools.lru_cache(maxsize=None)
def _glibc():
    """The loaded glibc, or None where the C library is another one."""
    if platform.system() != "Linux":
        return None
    name = ctypes.util.find_library("c") or "libc.so.6"
    try:
        libc = ctypes.CDLL(name)
        libc.gnu_get_libc_version.restype = ctypes.c_char_p
        libc.gnu_get_libc_version()  # only glibc has it
        libc.mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
        libc.mallopt.restype = ctypes.c_int
    except (OSError, AttributeError):
        return None
    return libc


@functools.lru_cache(maxsize=None)
def keep_freed_memory() -> bool:
    """Make glibc's ``malloc`` keep freed blocks below 1 GB for reuse (once per process).

    Sets ``M_MMAP_THRESHOLD`` and ``M_TRIM_THRESHOLD`` to :data:`KEEP_BYTES`. Calling it
    again does nothing more.

    Returns
    -------
    bool
        True when both settings took effect; False where the C library is not glibc or
        refused a setting (then the process runs with its allocator's defaults, as
        correct and only slower).
    """
    libc = _glibc()
    if libc is None:
        return False
    ok_mmap = libc.mallopt(_M_MMAP_THRESHOLD, KEEP_BYTES) == 1
    ok_trim = libc.mallopt(_M_TRIM_THRESHOLD, KEEP_BYTES) == 1
    return ok_mmap and ok_trim
