"""Data-parallel training over several processes or machines: ``smfuse train`` under ``torchrun``.

:func:`smfuse.runtime.train.train` already trains with DistributedDataParallel when a process
group is initialised: every process draws the same global batch (seeded by
``(seed, step)``), trains on its own slice of ``batch_size / world_size`` patches, and
DDP averages the gradients, so each step applies the update of the whole batch. This
module initialises that group from the environment ``torchrun`` sets (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``),
splits the machine's CPU threads between the processes on it, runs the training, and
tears the group down (:func:`run`). The one entry point is the command line's ``train``,
which calls :func:`run` when it finds itself one of several processes::

    torchrun --nproc_per_node=2 -m smfuse.cli train --config quick --out runs/ddp
    torchrun --nnodes=2 --node_rank=0 --master_addr=HOST --master_port=29500 \\
        --nproc_per_node=4 -m smfuse.cli train --config full --out runs/ddp --set device=cuda

(``python -m torch.distributed.run`` is the same as ``torchrun``.) A configuration with
``processes`` > 1 (``fast``: 2) needs no torchrun: ``smfuse train`` checks its arguments
and then starts the group on this machine itself (:func:`launch`). Backend: ``gloo`` on
the CPU, ``nccl`` on GPUs (``smfuse train --backend`` to choose). Only rank 0 writes
the run folder; with ``--resume`` every rank reads ``checkpoint.pt`` from it, so on
several machines the folder must be shared.

The result equals one process with the whole batch up to float rounding, not bit for
bit: the gradient of each slice is summed in another order and the all-reduce adds the
slices' averages in yet another (``tests/test_distributed.py`` checks the weights after
every step to 1e-6).
"""

from __future__ import annotations

import os
import sys

import torch
import torch.distributed as dist

from smfuse.runtime.train import get_config, train, usable_cores

__all__ = ["setup", "cleanup", "run", "default_backend", "is_launched", "launch"]


def default_backend(device: str = "auto") -> str:
    """``nccl`` when training on CUDA GPUs, else ``gloo``."""
    if device == "cuda" or (device == "auto" and torch.cuda.is_available()):
        return "nccl"
    return "gloo"


def _env_int(name: str) -> int:
    value = os.environ.get(name)
    if value is None:
        raise ValueError(f"environment variable {name} is not set: start the processes with torchrun "
                         f"(torchrun --nproc_per_node=N -m smfuse.cli train ...)")
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
    cores = usable_cores()
    return max(1, cores // max(1, local_world))


def is_launched() -> bool:
    """Whether this process is one of several started by ``torchrun`` (``WORLD_SIZE`` > 1)."""
    try:
        return int(os.environ.get("WORLD_SIZE", "1")) > 1
    except ValueError:
        raise ValueError(f"environment variable WORLD_SIZE must be an integer, "
                         f"got {os.environ['WORLD_SIZE']!r}") from None


def run(config: str, overrides: dict, out_dir, *, resume: bool = False, overwrite: bool = False,
        progress: bool = True, backend: str | None = None) -> tuple[int, int, dict]:
    """Train as one process of a ``torchrun`` group: threads, process group, training, teardown.

    Parameters
    ----------
    config : str
        A configuration name (:func:`smfuse.runtime.train.get_config`).
    overrides : dict
        TrainConfig overrides (:func:`smfuse.runtime.train.parse_overrides`). Without
        ``threads``, each process gets an equal share of the cores it may run on
        (``LOCAL_WORLD_SIZE`` processes share a machine; torch would give each all of
        them, and the processes would stall one another).
    out_dir : str or path
        The run folder (written by rank 0).
    resume, progress
        As :func:`smfuse.runtime.train.train`.
    backend : str, optional
        ``gloo`` or ``nccl``; default :func:`default_backend` of the config's device.

    Returns
    -------
    (rank, world_size, result)
        ``result`` as :func:`smfuse.runtime.train.train` returns it.

    Raises
    ------
    ValueError
        If the torchrun environment is incomplete or the configuration is invalid.
    """
    overrides = dict(overrides)
    if "threads" not in overrides:
        overrides["threads"] = _threads_per_process(int(os.environ.get("LOCAL_WORLD_SIZE", "1")))
    cfg = get_config(config, **overrides)
    rank, world, _ = setup(backend, device=cfg.device)
    ok = False
    try:
        res = train(cfg, out_dir, resume=resume, overwrite=overwrite, progress=progress)
        ok = True
    finally:
        cleanup(wait=ok)  # after an error the other processes may never reach the barrier
    return rank, world, res


def launch(argv: list[str], processes: int) -> int:
    """Run ``smfuse train ARGV`` as ``processes`` data-parallel processes on this machine.

    Starts ``python -m torch.distributed.run --standalone --nproc_per_node=N -m
    smfuse.cli train ARGV`` (a rendezvous on a free local port, nothing leaves the
    machine) and waits for it. Each process gets ``cores / N`` threads (:func:`run`).

    Parameters
    ----------
    argv : list of str
        The arguments of ``smfuse train`` (after ``train``).
    processes : int
        Processes to start (>= 2).

    Returns
    -------
    int
        The exit status of the group (0 when every process succeeded).
    """
    import subprocess

    if processes < 2:
        raise ValueError(f"launch starts at least 2 processes, got {processes}")
    env = dict(os.environ)
    # each process sets its own share of threads; this only keeps torchrun from warning that it chose 1
    env.setdefault("OMP_NUM_THREADS", "1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
           "-m", "smfuse.cli", "train", *argv]
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    print("smfuse.runtime.distributed: error: not an entry point; run "
          "`torchrun --nproc_per_node=N -m smfuse.cli train ...`", file=sys.stderr)
    raise SystemExit(2)
