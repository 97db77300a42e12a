"""Data-parallel training over several processes or machines, started by ``torchrun``.

:func:`smfuse.train.train` already trains with DistributedDataParallel when a process
group is initialised: every process draws the same global batch (seeded by
``(seed, step)``), trains on its own slice of ``batch_size / world_size`` patches, and
DDP averages the gradients, so each step applies the update of the whole batch. This
module initialises that group from the environment ``torchrun`` sets (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``), runs the training,
and tears the group down::

    torchrun --nproc_per_node=2 -m smfuse.distributed --config quick --out runs/ddp
    torchrun --nnodes=2 --node_rank=0 --master_addr=HOST --master_port=29500 \\
        --nproc_per_node=4 -m smfuse.distributed --config full --out runs/ddp --set device=cuda

(``python -m torch.distributed.run`` is the same as ``torchrun``.) The options are those
of ``smfuse train``. Backend: ``gloo`` on the CPU, ``nccl`` on GPUs. Only rank 0 writes
the run folder; with ``--resume`` every rank reads ``checkpoint.pt`` from it, so on
several machines the folder must be shared.

The result equals one process with the whole batch up to float rounding, not bit for
bit: the gradient of each slice is summed in another order and the all-reduce adds the
slices' averages in yet another (``tests/test_distributed.py`` checks the weights after
every step to 1e-6).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist

__all__ = ["setup", "cleanup", "main", "default_backend"]


def default_backend(device: str = "auto") -> str:
    """``nccl`` when training on CUDA GPUs, else ``gloo``."""
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        return "nccl"
    return "gloo"


def _env_int(name: str) -> int:
    value = os.environ.get(name)
    if value is None:
        raise ValueError(f"environment variable {name} is not set: start the processes with torchrun "
                         f"(torchrun --nproc_per_node=N -m smfuse.distributed ...)")
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"environment variable {name} must be an integer, got {value!r}") from None


def setup(backend: str | None = None, *, device: str = "auto") -> tuple[int, int, int]:
    """Initialise the default process group from the torchrun environment.

    Parameters
    ----------
    backend : str, optional
        ``gloo`` or ``nccl``; default :func:`default_backend` of ``device``.
    device : str
        The training device (``TrainConfig.device``), used to pick the backend and,
        for CUDA, this process's GPU (``LOCAL_RANK`` modulo the GPUs present).

    Returns
    -------
    (rank, world_size, local_rank)
    """
    rank, world, local = _env_int("RANK"), _env_int("WORLD_SIZE"), int(os.environ.get("LOCAL_RANK", "0"))
    for name in ("MASTER_ADDR", "MASTER_PORT"):
        if name not in os.environ:
            raise ValueError(f"environment variable {name} is not set: start the processes with torchrun")
    backend = backend or default_backend(device)
    if backend == "nccl":
        if not torch.cuda.is_available():
            raise ValueError("backend 'nccl' needs CUDA GPUs; use 'gloo' on the CPU")
        torch.cuda.set_device(local % torch.cuda.device_count())
    if not dist.is_initialized():
        dist.init_process_group(backend=backend, init_method="env://", rank=rank, world_size=world)
    return rank, world, local


def cleanup(*, wait: bool = True) -> None:
    """Destroy the default process group (if any), after a barrier when ``wait``.

    Pass ``wait=False`` after an error: the other processes may never reach the barrier.
    """
    if dist.is_available() and dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def _threads_per_process(local_world: int) -> int:
    """CPU threads for each of ``local_world`` processes sharing this machine."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, cores // max(1, local_world))


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="torchrun ... -m smfuse.distributed",
                                description="Data-parallel SMFuse training (one process per rank, started by torchrun).")
    p.add_argument("--config", default="full", help="quick or full")
    p.add_argument("--out", required=True, help="run folder (written by rank 0)")
    p.add_argument("--resume", action="store_true")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a TrainConfig field")
    p.add_argument("--backend", choices=["gloo", "nccl"], help="default: nccl on CUDA, else gloo")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``torchrun -m smfuse.distributed``; returns the exit status."""
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    args = build_parser().parse_args(argv)
    from .cli import CLIError, _parse_set
    from .train import get_config, train

    try:
        overrides = _parse_set(args.set or [])
        if "threads" not in overrides:
            # processes on one machine share its cores (torch would give each all of them)
            overrides["threads"] = _threads_per_process(int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
        cfg = get_config(args.config, **overrides)
        rank, world, _ = setup(args.backend, device=cfg.device)
    except (CLIError, ValueError) as exc:
        print(f"smfuse.distributed: error: {exc}", file=sys.stderr)
        return 2
    ok = False
    try:
        res = train(cfg, args.out, resume=args.resume, overwrite=getattr(args, 'overwrite', False), progress=not args.quiet)
        if rank == 0:
            print(f"trained {res['steps']} steps on {world} processes in {res['seconds']:.1f} s; "
                  f"MF/MI agreement {res['agreement'].mean():.4f} (min {res['agreement'].min():.4f}); "
                  f"weights: {Path(args.out) / 'final.pt'}")
        ok = True
    except ValueError as exc:
        print(f"smfuse.distributed: error (rank {rank}): {exc}", file=sys.stderr)
        return 2
    finally:
        cleanup(wait=ok)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
