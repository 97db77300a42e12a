"""Data-parallel training on 2 processes gives the weights of 1 process with the whole batch.

Not bit for bit: each process sums the gradient of its half of the batch, and the gloo
all-reduce adds the two halves' averages, in another order than one process summing the
whole batch, so the gradients differ by float32 rounding (~1e-7 relative). The weights
after every step must agree to 1e-6, and the two processes' replicas exactly.
"""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp
from torch.optim.optimizer import register_optimizer_step_post_hook

from smfuse import cli
from smfuse.runtime import distributed
from smfuse.runtime.checkpoint import read_checkpoint
from smfuse.runtime.train import get_config, train

STEPS = 3
OVERRIDES = dict(steps=STEPS, batch_size=4, patch_size=32, dataset="synthetic", limit=2, eval_every=0,
                 checkpoint_every=0, log_every=1, threads=1, device="cpu", lr=1e-3)
SETS = [f"--set={k}={v}" for k, v in OVERRIDES.items()]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _record_steps():
    """Register a hook that keeps the parameters after every optimiser step."""
    snaps = []

    def hook(opt, args, kwargs):
        snaps.append([p.detach().clone() for g in opt.param_groups for p in g["params"]])

    return snaps, register_optimizer_step_post_hook(hook)


def _worker(rank: int, world: int, port: int, out: str) -> None:
    # what torchrun sets for each process
    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_WAIT_POLICY="PASSIVE")
    snaps, handle = _record_steps()
    try:
        status = cli.main(["train", "--config", "quick", "--out", str(Path(out) / "run"), "--quiet", *SETS])
    finally:
        handle.remove()
    assert status == 0
    torch.save(snaps, Path(out) / f"steps-rank{rank}.pt")


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """Weights after each step of one process with the whole batch of 4."""
    snaps, handle = _record_steps()
    try:
        res = train(get_config("quick", **OVERRIDES), tmp_path_factory.mktemp("single"), progress=False)
    finally:
        handle.remove()
    assert len(snaps) == STEPS
    return snaps, res["model"]


def _assert_close(a, b, what):
    assert len(a) == len(b)
    for i, (x, y) in enumerate(zip(a, b)):
        torch.testing.assert_close(x, y, rtol=0, atol=1e-6, msg=lambda m: f"{what}, parameter {i}: {m}")


def test_two_processes_match_one_after_every_step(single, tmp_path):
    ref, _ = single
    mp.spawn(_worker, args=(2, _free_port(), str(tmp_path)), nprocs=2, join=True)
    r0 = torch.load(tmp_path / "steps-rank0.pt")
    r1 = torch.load(tmp_path / "steps-rank1.pt")
    assert len(r0) == len(r1) == STEPS
    for step in range(STEPS):
        for x, y in zip(r0[step], r1[step]):
            assert torch.equal(x, y), "the two replicas differ"
        _assert_close(r0[step], ref[step], f"step {step + 1}")
    # the steps did move the weights, by far more than the tolerance
    assert max(float((x - y).abs().max()) for x, y in zip(ref[-1], ref[0])) > 1e-4
    meta = read_checkpoint(tmp_path / "run" / "final.pt")["meta"]
    assert meta["processes"] == 2 and meta["config"]["batch_size"] == 4


@pytest.mark.slow
def test_torchrun_launcher(single, tmp_path):
    _, model = single
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
           "-m", "smfuse.cli", "train", "--config", "quick", "--out", str(tmp_path / "run"), "--quiet", *SETS]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", TQDM_DISABLE="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "on 2 processes" in proc.stdout
    state = read_checkpoint(tmp_path / "run" / "final.pt")
    assert state["meta"]["processes"] == 2
    ref = model.state_dict()
    _assert_close([state["state_dict"][k] for k in ref], list(ref.values()), "final weights")


def test_setup_needs_the_torchrun_environment(monkeypatch):
    for name in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ValueError, match="RANK is not set: start the processes with torchrun"):
        distributed.setup("gloo")
    assert not distributed.is_launched()
    assert cli.main(["train", "--out", "unused", "--set", "nonsense=1"]) == 2


def test_train_as_one_of_several_processes_needs_torchrun(monkeypatch, tmp_path, capsys):
    for name in ("RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("WORLD_SIZE", "2")  # as if started by hand with half of torchrun's variables
    assert distributed.is_launched()
    assert cli.main(["train", "--config", "quick", "--out", str(tmp_path / "run"), *SETS]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["smfuse: error: environment variable RANK is not set: start the processes with torchrun "
                   "(torchrun --nproc_per_node=N -m smfuse.cli train ...)"]
    assert not (tmp_path / "run").exists()


def test_the_one_entry_point_splits_the_threads(monkeypatch, tmp_path):
    """`smfuse train` under torchrun gives each process its share of the cores (unless --set threads)."""
    seen = []

    def fake_train(cfg, out, **kw):
        seen.append(cfg.threads)
        return {"steps": 0}

    monkeypatch.setattr(distributed, "train", fake_train)
    monkeypatch.setattr(distributed, "setup", lambda backend=None, device="auto": (1, 4, 1))
    monkeypatch.setattr(distributed, "cleanup", lambda wait=True: None)
    monkeypatch.setenv("WORLD_SIZE", "4")
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "2")
    overrides = {k: v for k, v in OVERRIDES.items() if k != "threads"}
    assert cli.main(["train", "--config", "quick", "--out", str(tmp_path)] +
                    [f"--set={k}={v}" for k, v in overrides.items()]) == 0  # rank 1: prints nothing
    assert distributed.run("quick", {"threads": 3}, tmp_path) == (1, 4, {"steps": 0})
    assert seen == [distributed._threads_per_process(2), 3]


def test_threads_and_backend():
    cores = len(os.sched_getaffinity(0))
    assert distributed._threads_per_process(1) == cores
    assert distributed._threads_per_process(2 * cores) == 1
    assert distributed.default_backend("cpu") == "gloo"


needs_two_cores = pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs 2 cores for 2 processes")


@needs_two_cores
def test_a_configuration_with_processes_starts_them_itself(single, tmp_path):
    """`smfuse train` with processes=2 (as the fast configuration) is data-parallel without torchrun."""
    _, model = single
    cmd = [sys.executable, "-m", "smfuse.cli", "train", "--config", "quick", "--out", str(tmp_path / "run"),
           "--quiet", *SETS, "--set=processes=2"]
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE", TQDM_DISABLE="1")
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "on 2 processes" in proc.stdout
    state = read_checkpoint(tmp_path / "run" / "final.pt")
    assert state["meta"]["processes"] == 2 and state["meta"]["config"]["processes"] == 2
    ref = model.state_dict()
    _assert_close([state["state_dict"][k] for k in ref], list(ref.values()), "final weights")


@needs_two_cores
@pytest.mark.parametrize("extra, message", [
    ([], "already holds a run (log.csv); pass --resume to continue it or --overwrite to start over"),
    (["--resume"], "no checkpoint.pt to resume from; drop --resume to start a new run"),
    (["--set=dataset=lytro", "--overwrite"], "data set 'lytro'"),
])
def test_bad_arguments_are_refused_before_the_processes_start(monkeypatch, tmp_path, capsys, extra, message):
    monkeypatch.setenv("SMFUSE_DATA", str(tmp_path / "no-data"))
    monkeypatch.setattr(distributed, "launch", lambda *a: pytest.fail("processes started for a bad argument"))
    out = tmp_path / "run"
    out.mkdir()
    (out / "log.csv").write_text("step\n")
    status = cli.main(["train", "--config", "quick", "--out", str(out), "--quiet", *SETS, "--set=processes=2",
                       *extra])
    err = capsys.readouterr().err.strip().splitlines()
    assert status == 2 and len(err) == 1 and err[0].startswith("smfuse: error: ") and message in err[0]
    assert (out / "log.csv").read_text() == "step\n"
