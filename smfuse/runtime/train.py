"""Self-supervised training of the mask generator from source pairs alone.

For every training pair the guided block's initial mask MI is computed once from the
sources and cached; each step draws a batch of random patches (seeded by the step
number, so a resumed run replays exactly the batches it would have drawn) and
minimises ``L = gra_weight * Lgra + map_weight * Lmap`` with Adam.

Departures from the authors' schedule (Adam 1e-4, 84x84 patches at stride 10 in order,
batch 32, ~750k iterations on a GPU) are named fields of :class:`TrainConfig`; the
``full`` configuration is the one we measured to reach the authors' quality on a 2-core
CPU in minutes (see the README and ``notebooks/04-training.ipynb``).

Distributed: run ``smfuse train`` under ``torchrun`` (:mod:`smfuse.runtime.distributed`) and every
process draws the same global batch and trains on its own slice with
DistributedDataParallel (gloo on CPU, NCCL on GPUs), so a step gives the same update as
one process with the whole batch.
"""

from __future__ import annotations

import contextlib
import csv
import math
import dataclasses
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from smfuse.runtime.allocator import keep_freed_memory
from smfuse.data.sets import Pair, load_dataset
from smfuse.method.guided_block import initial_mask, subtraction_map
from smfuse.io import to_grey
from smfuse.method.losses import LossTerms, SMFuseLoss, gradient_loss, map_loss
from smfuse.method.network import MaskGenerator, to_network_input
from smfuse.runtime.precision import PRECISIONS, native_bf16, resolve_precision

__all__ = ["TrainConfig", "CONFIGS", "SUPERVISIONS", "TrainingSet", "train", "training_step", "mask_agreement", "training_objective",
           "training_label", "held_out_scores", "holdout_columns", "get_config", "parse_overrides", "check_run", "local_processes", "usable_cores"]


@dataclass
class TrainConfig:
    """Everything that decides a training run.

    The loss defaults are the released code's (``variant="code"``, Lmap weight 10, Lgra 1);
    the optimisation defaults are NOT the authors' schedule but our CPU schedule, the base of
    the ``full`` configuration: Adam 1e-3, batches of 16 random 64x64 patches, MI-balanced
    patch sampling for the ``code`` variant (``mi_weight``), float32. The authors' schedule
    (Adam 1e-4, 32 patches of 84x84) is the ``authors`` configuration (:data:`CONFIGS`).

    Attributes
    ----------
    variant : {'code', 'paper'}
        Loss variant (:mod:`smfuse.method.losses`).
    steps : int
        Optimiser steps.
    batch_size, patch_size : int
        Global batch of random square patches.
    lr : float
        Adam learning rate (the authors: 1e-4).
    lr_schedule : {'constant', 'cosine'}
        ``cosine`` decays the rate from ``lr`` to 0 over ``steps`` (half a cosine); the
        rate of each step depends on the step alone, so resuming is exact.
    map_weight, gra_weight : float
        Loss weights (the authors: 10 and 1).
    init : {'pytorch', 'authors'}
        Weight initialisation (:class:`smfuse.method.network.MaskGenerator`).
    arch : {'released', 'dilated'}
        The network (:data:`smfuse.method.network.ARCHS`): the released one (9x9 receptive
        field) or the same parameters with dilated branch convs (27x27; notebook 08).
    dataset : str
        Training pairs (:func:`smfuse.data.sets.load_dataset` name); ``train`` is the
        authors' 20 grey Lytro pairs.
    limit : int or None
        Use only the first ``limit`` pairs.
    holdout : int
        Keep the last ``holdout`` pairs out of training (evaluated separately).
    eval_every, checkpoint_every, log_every : int
        In steps; 0 disables.
    seed : int
    threads : int or None
        ``torch.set_num_threads``; None leaves torch's default.
    device : str
        ``auto`` (CUDA when present), ``cpu`` or ``cuda``.
    init_from : str or None
        A weights spec to start from (fine-tuning).
    precision : {'fp32', 'bf16', 'auto'}
        ``bf16`` runs the network's forward and backward under bfloat16 autocast (the
        loss is computed in float32); on CPUs with AMX / AVX512-BF16 it trains faster,
        on others (AVX2 alone: most laptops) autocast emulates it and a step is several
        times slower (:mod:`smfuse.runtime.precision`). ``fp32`` is plain single precision.
        ``auto``: ``bf16`` where the device computes it natively, else ``fp32``; a run
        saves the precision it resolved to in its ``config.json``.
    stop_at : int or None
        Stop after this many steps, as an interruption would, leaving a resumable
        ``checkpoint.pt``; the learning-rate schedule still spans ``steps``, so a run
        stopped at 50 and resumed to 200 equals an uninterrupted 200-step run.
    mi_weight : float or None
        Patch sampling: a patch is kept with probability proportional to
        ``1 + (mi_weight - 1) * mean(MI)``, so patches where the second source is sharp
        are drawn up to ``mi_weight`` times as often. 1 samples uniformly. The ``code``
        loss pushes a pixel with MI = 0 twice as hard as one with MI = 1 (the label -1
        sits on the L1 branch of smooth-L1), so only regions where MI = 1 on more than
        2/3 of the pixels end up above 0.5; ``mi_weight = 2`` restores the balance.
        None: 2 for the ``code`` variant, 1 for ``paper`` (whose loss is symmetric).
    supervision : {'initial_mask', 'subtraction'}
        The label Lmap pulls MG towards (:data:`SUPERVISIONS`): ``initial_mask``, the guided
        block's MI (the paper); ``subtraction``, the raw decision ``S2 > S1`` of the two
        subtraction maps without the guided filter (a weaker supervision: what the guided
        filter adds to training, claim C5 of the register).
    processes : int
        Data-parallel processes that the command line's ``smfuse train`` starts on a CPU
        (:func:`local_processes`: at most one per core, a divisor of ``batch_size``; each
        with an equal share of the cores, :mod:`smfuse.runtime.distributed`). Each draws the same
        batch and trains on its slice, and the gradients are averaged, so the update is
        that of the whole batch up to float rounding. On a 2-core CPU two one-thread
        processes train about 1.2x the patches per second of one two-thread process
        (oneDNN's backward kernels scale poorly over threads at this size;
        ``benchmarks/bench_train.py``). The library's :func:`train` trains in the
        process (or ``torchrun`` group) it is called from, whatever this says.
    """

    variant: str = "code"
    steps: int = 2000
    batch_size: int = 16
    patch_size: int = 64
    lr: float = 1e-3
    lr_schedule: str = "constant"
    map_weight: float = 10.0
    gra_weight: float = 1.0
    init: str = "pytorch"
    arch: str = "released"
    dataset: str = "train"
    limit: int | None = None
    holdout: int = 0
    eval_every: int = 250
    checkpoint_every: int = 500
    log_every: int = 10
    seed: int = 0
    threads: int | None = None
    device: str = "auto"
    init_from: str | None = None
    mi_weight: float | None = None
    precision: str = "fp32"
    stop_at: int | None = None
    processes: int = 1
    supervision: str = "initial_mask"

    def __post_init__(self) -> None:
        _validate(self)

    def lr_at(self, step: int) -> float:
        """The learning rate of step ``step`` (0-based)."""
        if self.lr_schedule == "constant":
            return self.lr
        if self.lr_schedule == "cosine":
            return 0.5 * self.lr * (1 + math.cos(math.pi * step / self.steps))
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}")

    @property
    def patch_mi_weight(self) -> float:
        if self.mi_weight is not None:
            return self.mi_weight
        return 2.0 if self.variant == "code" else 1.0

    def loss(self) -> SMFuseLoss:
        """The training objective of this configuration (its variant and the two weights)."""
        return SMFuseLoss(self.variant, map_weight=self.map_weight, gra_weight=self.gra_weight)

    def replace(self, **kw) -> "TrainConfig":
        unknown = set(kw) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise ValueError(f"unknown training option(s): {', '.join(sorted(unknown))}")
        return dataclasses.replace(self, **kw)


def _validate(c: TrainConfig) -> None:
    """Refuse a configuration that cannot train, with the field, its value and the fix."""
    def need(ok: bool, what: str) -> None:
        if not ok:
            raise ValueError(f"training option {what}")

    from smfuse.method.losses import VARIANTS

    need(c.variant in VARIANTS, f"variant must be one of {', '.join(VARIANTS)}, got {c.variant!r}")
    for name in ("steps", "batch_size", "patch_size"):
        v = getattr(c, name)
        need(isinstance(v, int) and not isinstance(v, bool) and v > 0,
             f"{name} must be a positive integer, got {v!r}")
    need(c.patch_size >= 2, f"patch_size must be at least 2, got {c.patch_size}")
    need(c.lr > 0 and math.isfinite(c.lr), f"lr must be a positive number, got {c.lr!r}")
    need(c.lr_schedule in ("constant", "cosine"), f"lr_schedule must be 'constant' or 'cosine', got {c.lr_schedule!r}")
    need(c.map_weight >= 0 and c.gra_weight >= 0 and c.map_weight + c.gra_weight > 0,
         f"map_weight and gra_weight must be >= 0 and not both 0, got {c.map_weight}, {c.gra_weight}")
    need(c.init in ("pytorch", "authors"), f"init must be 'pytorch' or 'authors', got {c.init!r}")
    from smfuse.method.network import ARCHS

    need(c.arch in ARCHS, f"arch must be one of {', '.join(ARCHS)}, got {c.arch!r}")
    need(c.limit is None or (isinstance(c.limit, int) and c.limit > 0), f"limit must be None or > 0, got {c.limit!r}")
    for name in ("holdout", "eval_every", "checkpoint_every", "log_every", "seed"):
        v = getattr(c, name)
        need(isinstance(v, int) and v >= 0, f"{name} must be an integer >= 0, got {v!r}")
    need(c.threads is None or (isinstance(c.threads, int) and c.threads > 0),
         f"threads must be None or > 0, got {c.threads!r}")
    need(c.device in ("auto", "cpu", "cuda") or str(c.device).startswith("cuda:"),
         f"device must be 'auto', 'cpu' or 'cuda', got {c.device!r}")
    need(c.mi_weight is None or c.mi_weight > 0, f"mi_weight must be None or > 0, got {c.mi_weight!r}")
    need(c.precision in PRECISIONS, f"precision must be one of {', '.join(PRECISIONS)}, got {c.precision!r}")
    need(isinstance(c.processes, int) and not isinstance(c.processes, bool) and c.processes >= 1,
         f"processes must be an integer >= 1, got {c.processes!r}")
    need(c.stop_at is None or (isinstance(c.stop_at, int) and 0 < c.stop_at <= c.steps),
         f"stop_at must be None or in 1..steps ({c.steps}), got {c.stop_at!r}")
    need(c.supervision in SUPERVISIONS, f"supervision must be one of {', '.join(SUPERVISIONS)}, got {c.supervision!r}")


#: The labels a run can be supervised with (:attr:`TrainConfig.supervision`).
SUPERVISIONS = ("initial_mask", "subtraction")


def training_label(g1: np.ndarray, g2: np.ndarray, supervision: str = "initial_mask") -> np.ndarray:
    """The label of one grey pair in [0, 1]: True where the second source is taken as sharper.

    ``initial_mask``: MI, the guided block's output, ``F2 > F1``
    (:func:`smfuse.method.guided_block.initial_mask`). ``subtraction``: ``S2 > S1``, the
    subtraction maps ``S = |I - mean7(I)|`` compared pixel by pixel, without the guided
    filter (:func:`smfuse.method.guided_block.subtraction_map`).
    """
    if supervision == "initial_mask":
        return initial_mask(g1, g2)
    if supervision == "subtraction":
        return subtraction_map(g2) > subtraction_map(g1)
    raise ValueError(f"supervision must be one of {', '.join(SUPERVISIONS)}, got {supervision!r}")


CONFIGS: dict[str, TrainConfig] = {
    # For tests and CI: a minute or two on 2 cores, on whatever data is present.
    "quick": TrainConfig(steps=300, batch_size=8, patch_size=64, lr=2e-3, dataset="synthetic", eval_every=100,
                         checkpoint_every=100, log_every=10),
    # The configuration of the shipped weights (smfuse/runtime/trained/README.md).
    "full": TrainConfig(steps=4000, lr_schedule="cosine", eval_every=250),
    # Time to quality with the released code's loss: twice the learning rate of "full" and
    # bfloat16 autocast where the hardware computes bfloat16 natively (float32 elsewhere,
    # where bf16 would be slower); MF/MI agreement is followed against wall time in
    # results/benchmarks.csv (train.time_to_0.95.code-fast, benchmarks/time_to_quality.py).
    # On a CPU, smfuse train runs it as two data-parallel processes (TrainConfig.processes).
    "fast": TrainConfig(steps=4000, lr=2e-3, lr_schedule="cosine", eval_every=250, precision="auto", processes=2),
    # The authors' released schedule as far as its hyperparameters go (Adam 1e-4, batch 32
    # of 84x84 patches; they ran ~750k iterations on a GPU): set steps= for the budget.
    "authors": TrainConfig(steps=4000, batch_size=32, patch_size=84, lr=1e-4, eval_every=500),
    # Beyond the paper (notebook 08): the dilated network (27x27 receptive field, the span
    # of the guided block's decision) with the paper's loss and Lgra strong enough to move
    # the mask (Lmap weight 1), on the study's schedule.
    "plus": TrainConfig(steps=3000, lr=2e-3, lr_schedule="cosine", eval_every=250, precision="bf16",
                        arch="dilated", variant="paper", map_weight=1.0),
}


def get_config(name: str, **overrides) -> TrainConfig:
    """A named configuration (``quick``, ``full``, ``fast``, ``authors`` or ``plus``) with overrides."""
    if name not in CONFIGS:
        raise ValueError(f"unknown configuration {name!r}; choose one of {', '.join(CONFIGS)}")
    return CONFIGS[name].replace(**overrides)


def parse_overrides(items: list[str]) -> dict:
    """``KEY=VALUE`` strings (``smfuse train --set``) -> :class:`TrainConfig` overrides.

    Each value is read as the field's type (int, float, else str); ``none`` (any case)
    gives None.

    Raises
    ------
    ValueError
        If an item has no ``=``, names no field of TrainConfig, or its value cannot be
        read as the field's type.

    Examples
    --------
    >>> parse_overrides(["steps=10", "lr=1e-3", "init_from=none", "variant=paper"])
    {'steps': 10, 'lr': 0.001, 'init_from': None, 'variant': 'paper'}
    """
    types = {f.name: str(f.type) for f in dataclasses.fields(TrainConfig)}
    out = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        if k not in types:
            raise ValueError(f"--set: unknown training option {k!r}; known: {', '.join(types)}")
        t = types[k]
        try:
            if v.lower() == "none":
                out[k] = None
            elif t.startswith("int"):
                out[k] = int(v)
            elif t.startswith("float"):
                out[k] = float(v)
            else:
                out[k] = v
        except ValueError:
            raise ValueError(f"--set {k}: cannot read {v!r} as {t}") from None
    return out


class TrainingSet:
    """Grey sources in [0, 1] and their cached labels (the initial masks MI), as float32 tensors.

    Parameters
    ----------
    pairs : list of Pair
    supervision : {'initial_mask', 'subtraction'}
        The label kept in ``mi`` (:func:`training_label`): MI by default.
    """

    def __init__(self, pairs: list[Pair], supervision: str = "initial_mask") -> None:
        if not pairs:
            raise ValueError("no training pairs")
        if supervision not in SUPERVISIONS:
            raise ValueError(f"supervision must be one of {', '.join(SUPERVISIONS)}, got {supervision!r}")
        self.names = [p.name for p in pairs]
        self.supervision = supervision
        self.g1, self.g2, self.mi = [], [], []
        for p in pairs:
            g1, g2 = to_grey(p.a), to_grey(p.b)  # float64, as at inference
            mi = training_label(g1, g2, supervision)
            self.g1.append(torch.from_numpy(g1.astype(np.float32)))
            self.g2.append(torch.from_numpy(g2.astype(np.float32)))
            self.mi.append(torch.from_numpy(mi.astype(np.float32)))

    def __len__(self) -> int:
        return len(self.names)

    def batch(self, step: int, size: int, patch: int, seed: int,
              mi_weight: float = 1.0) -> tuple[torch.Tensor, ...]:
        """The batch of step ``step``: (x1, x2, mi), each (size, 1, patch, patch).

        Pairs are drawn with probability proportional to their area, positions
        uniformly, then kept with probability ``(1 + (mi_weight - 1) mean(MI)) /
        max(1, mi_weight)`` (see :class:`TrainConfig`); the generator is seeded by
        ``(seed, step)`` alone.
        """
        if mi_weight <= 0:
            raise ValueError(f"mi_weight must be > 0, got {mi_weight}")
        g = np.random.default_rng([seed, step])
        areas = np.array([t.numel() for t in self.g1], dtype=np.float64)
        top = max(1.0, mi_weight)
        x1, x2, mi = [], [], []
        while len(x1) < size:
            i = int(g.choice(len(self), p=areas / areas.sum()))
            h, w = self.g1[i].shape
            if h < patch or w < patch:
                raise ValueError(f"pair {self.names[i]} ({h}x{w}) is smaller than the patch size {patch}")
            y, x = int(g.integers(0, h - patch + 1)), int(g.integers(0, w - patch + 1))
            if mi_weight != 1.0:
                frac = float(self.mi[i][y:y + patch, x:x + patch].mean())
                if g.random() * top >= 1 + (mi_weight - 1) * frac:
                    continue
            x1.append(self.g1[i][y:y + patch, x:x + patch])
            x2.append(self.g2[i][y:y + patch, x:x + patch])
            mi.append(self.mi[i][y:y + patch, x:x + patch])
        st = lambda ts: torch.stack(ts)[:, None]  # noqa: E731
        return to_network_input(st(x1)), to_network_input(st(x2)), st(mi)


@torch.inference_mode()
def _masks(model: MaskGenerator, data: TrainingSet) -> list[np.ndarray]:
    """MF (``MG > 0.5``, True = second source) of every pair, the model in evaluation mode."""
    from smfuse.runtime.inference import predict_logits

    was_training = model.training
    model.eval()
    out = [predict_logits(model, g1.numpy(), g2.numpy(), tile=None) > 0 for g1, g2 in zip(data.g1, data.g2)]
    model.train(was_training)
    return out


def mask_agreement(model: MaskGenerator, data: TrainingSet, masks: list[np.ndarray] | None = None) -> np.ndarray:
    """Per-pair fraction of pixels where MF (``MG > 0.5``) equals the label (MI).

    ``masks``: the model's MF of each pair, if already computed.
    """
    masks = _masks(model, data) if masks is None else masks
    return np.array([float((m == (mi.numpy() > 0.5)).mean()) for m, mi in zip(masks, data.mi)])


def held_out_scores(data: TrainingSet, masks: list[np.ndarray], metrics: dict) -> dict[str, np.ndarray]:
    """Each metric of the fused image ``where(MF, g2, g1)`` of every pair.

    Parameters
    ----------
    data : TrainingSet
        The pairs (grey sources in [0, 1]).
    masks : list of (H, W) bool ndarrays
        MF of each pair (True = second source).
    metrics : dict of str to callable
        ``name -> fn(g1, g2, fused) -> float`` on grey float images in [0, 1] (e.g. QAB/F,
        which lives a floor above, in :mod:`smfuse.evaluation.metrics`: the caller passes it in).

    Returns
    -------
    dict of str to (N,) float64 ndarray
        One value per pair, in the pairs' order.
    """
    return {name: np.array([float(fn(g1.numpy(), g2.numpy(), np.where(m, g2.numpy(), g1.numpy())))
                            for g1, g2, m in zip(data.g1, data.g2, masks)]) for name, fn in metrics.items()}


def holdout_columns(names) -> list[str]:
    """The log columns of held-out metrics ``names``: ``holdout_<name>`` (the mean over the held-out
    pairs) and ``holdout_<name>_pairs`` (each pair's value, space-separated, in the pairs' order)."""
    return [col for k in names for col in (f"holdout_{k}", f"holdout_{k}_pairs")]


@torch.inference_mode()
def training_objective(model: MaskGenerator, data: TrainingSet, config: TrainConfig) -> dict[str, np.ndarray]:
    """The run's own loss, ``gra_weight * Lgra + map_weight * Lmap``, on each whole training pair.

    The training log's loss is that of one random batch of patches, so it moves from step
    to step with what the batch happens to hold; this is the same objective on fixed data
    (every pixel of every pair, float32, the model in evaluation mode), so two runs' values
    can be compared: it tells whether a longer budget still lowers what the run optimises,
    whatever its mask does.

    Parameters
    ----------
    model : MaskGenerator
    data : TrainingSet
        The pairs (grey sources in [0, 1], their initial masks MI).
    config : TrainConfig
        Its ``variant``, ``map_weight`` and ``gra_weight`` define the objective.

    Returns
    -------
    dict of str to (N,) float64 arrays
        ``"total"``, ``"map"`` (Lmap) and ``"gra"`` (Lgra), one value per pair, and
        ``"margin"``, the mean of ``|MG - 0.5|`` (0.5 where every pixel is decided with
        certainty, 0 where MG sits on the threshold and MF is the sign of rounding noise).
    """
    from smfuse.runtime.inference import predict_logits

    was_training = model.training
    model.eval()
    out = {"total": [], "map": [], "gra": [], "margin": []}
    for g1, g2, mi in zip(data.g1, data.g2, data.mi):
        z = predict_logits(model, g1.numpy(), g2.numpy(), tile=None)
        mg = torch.tanh(torch.from_numpy(z).float())[None, None] / 2 + 0.5
        x1, x2 = to_network_input(g1[None, None]), to_network_input(g2[None, None])
        lmap = float(map_loss(mg, mi[None, None], variant=config.variant))
        lgra = float(gradient_loss(mg, x1, x2, variant=config.variant))
        out["map"].append(lmap)
        out["gra"].append(lgra)
        out["margin"].append(float(np.abs(np.tanh(z.astype(np.float64))).mean() / 2))  # |MG - 0.5| in float64
        out["total"].append(config.map_weight * lmap + config.gra_weight * lgra)
    model.train(was_training)
    return {k: np.array(v, dtype=np.float64) for k, v in out.items()}


def _dist():
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but CUDA is not available")
    return torch.device(name)


# Fields that may change between a run and its resumption: they decide what is logged,
# where it runs and when it stops, not what is learnt.
_RESUMABLE_CHANGES = {"stop_at", "eval_every", "checkpoint_every", "log_every", "threads", "device", "processes"}
_RUN_FILES = ("config.json", "log.csv", "checkpoint.pt", "final.pt")
LOG_FIELDS = ["step", "loss", "map", "gra", "patches_per_s", "seconds", "agreement", "holdout_agreement"]


def _existing_run(out: Path, overwrite: bool) -> list[str]:
    """The run files in ``out``; refused unless ``overwrite``."""
    existing = [n for n in _RUN_FILES if (out / n).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"{out} already holds a run ({', '.join(existing)}); pass --resume to continue it "
                              "or --overwrite to start over")
    return existing


def _prepare_run_folder(out: Path, *, resume: bool, overwrite: bool) -> bool:
    """Check ``out`` for the run and create it; True if this call created it."""
    if resume:
        return False
    existing = _existing_run(out, overwrite)
    for n in existing:
        (out / n).unlink()
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    return created


def _check_resumable(saved: dict | None, config: TrainConfig, ckpt: Path) -> None:
    if saved is None:
        return
    now = dataclasses.asdict(config)
    # a field added after the run was saved has its default in that run
    saved = {**{f.name: f.default for f in dataclasses.fields(TrainConfig) if f.name not in saved}, **saved}
    differ = sorted(k for k in set(saved) | set(now) if k not in _RESUMABLE_CHANGES and saved.get(k) != now.get(k))
    if differ == ["steps"] and config.lr_schedule == "constant":
        return  # a constant rate does not depend on the run's length
    if differ:
        what = ", ".join(f"{k}={saved.get(k)!r} (now {now.get(k)!r})" for k in differ)
        hint = (" The cosine schedule spans the run's steps: resume with the same steps and stop early with "
                "stop_at instead." if "steps" in differ else "")
        raise ValueError(f"{ckpt}: the run was started with {what}; resume it with its own configuration.{hint}")


def _resume_state(config: TrainConfig, out: Path) -> dict:
    """The checkpoint a resumed run continues from, checked against ``config`` (precision resolved)."""
    from smfuse.runtime.checkpoint import read_checkpoint

    ckpt = out / "checkpoint.pt"
    if not ckpt.exists():
        raise FileNotFoundError(f"{out}: no checkpoint.pt to resume from; drop --resume to start a new run")
    state = read_checkpoint(ckpt)
    _check_resumable(state.get("meta", {}).get("config"), config, ckpt)
    if int(state["step"]) >= (config.stop_at or config.steps):
        raise ValueError(f"{ckpt}: the run is already at step {state['step']}; nothing to resume")
    return state


def _preflight(config: TrainConfig, out: Path, device: torch.device, *, resume: bool,
               overwrite: bool) -> tuple[TrainConfig, dict | None]:
    """The configuration with its precision resolved for ``device``, and the state to resume (or None)."""
    if resume and overwrite:
        raise ValueError("resume and overwrite exclude each other")
    # the run records (and a resume checks) the precision it computes in, never "auto"
    config = config.replace(precision=resolve_precision(config.precision, device))
    return config, _resume_state(config, out) if resume else None


def _check_holdout(config: TrainConfig, pairs: list) -> None:
    if config.holdout and config.holdout >= len(pairs):
        raise ValueError(f"holdout {config.holdout} leaves no training pairs of {len(pairs)}")


def check_run(config: TrainConfig, out_dir: str | os.PathLike, *, resume: bool = False,
              overwrite: bool = False) -> None:
    """Refuse, before any work, what :func:`train` would refuse: the checks of its arguments and data.

    The command line calls it before it starts data-parallel processes, so that a bad
    argument gets its one-line error from one process, not from each of them.

    Raises
    ------
    ValueError, FileExistsError, FileNotFoundError
        As :func:`train` would: ``resume`` with ``overwrite``; a folder that holds a run
        without either; no or a mismatching checkpoint to resume; data files missing;
        a holdout that leaves no training pairs.
    """
    out = Path(out_dir)
    config, _ = _preflight(config, out, _pick_device(config.device), resume=resume, overwrite=overwrite)
    if not resume:
        _existing_run(out, overwrite)
    _check_holdout(config, load_dataset(config.dataset, limit=config.limit))


def usable_cores() -> int:
    """CPU cores this process may run on (its affinity mask on Linux)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _all_cores(active: bool):
    """Within it (if ``active``), this process computes with every core.

    Rank 0 of a data-parallel group on a CPU evaluates while the other processes wait
    for it at the next gradient all-reduce, so their cores are free; evaluation changes
    no weight.
    """
    if not active:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(max(threads, usable_cores()))
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def local_processes(config: TrainConfig) -> int:
    """How many data-parallel processes ``smfuse train`` starts for ``config`` on this machine.

    ``config.processes``, but on a CPU at most one per usable core and reduced to a
    divisor of ``batch_size``; 1 on CUDA (start several GPUs with ``torchrun``).

    Examples
    --------
    >>> local_processes(TrainConfig(processes=1))
    1
    """
    if config.processes == 1 or _pick_device(config.device).type != "cpu":
        return 1
    n = max(1, min(config.processes, usable_cores()))
    while config.batch_size % n:
        n -= 1
    return n


def _truncate_log(log_path: Path, step: int, fields: list[str]) -> None:
    """Drop log rows written after the checkpoint being resumed (they will be written again).

    ``fields``: the columns the resumed run writes; a log with other columns is refused.
    """
    if not log_path.exists():
        return
    with open(log_path, newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        header = list(reader.fieldnames or [])
    if header != fields:
        raise ValueError(f"{log_path}: the log has the columns {', '.join(header)} but the resumed run writes "
                         f"{', '.join(fields)}; resume with the held-out metrics the run was started with")
    with open(log_path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fields)
        w.writeheader()
        w.writerows(r for r in rows if int(r["step"]) <= step)


def train(config: TrainConfig, out_dir: str | os.PathLike, *, resume: bool = False, overwrite: bool = False,
          pairs: list[Pair] | None = None, progress: bool = True, holdout_metrics: dict | None = None) -> dict:
    """Train a mask generator.

    Parameters
    ----------
    config : TrainConfig
    out_dir : path
        Receives ``config.json``, ``log.csv`` (step, losses, patches/s, MF/MI agreement
        at evaluation steps), ``checkpoint.pt`` (latest, with optimiser state and the
        training seconds so far, for ``resume``) and ``final.pt``. A folder that already
        holds a run is refused unless ``resume`` or ``overwrite``; a run that fails before
        its first checkpoint removes the folder it created.
    resume : bool
        Continue from ``out_dir/checkpoint.pt``; the configuration must be the run's own,
        but for ``stop_at`` and the logging/evaluation cadence (and ``steps`` under a
        constant rate). Log rows after the checkpoint are dropped and written again, so a
        resumed run's log and seconds equal an uninterrupted one's.
    overwrite : bool
        Start over in a folder that holds a run.
    pairs : list of Pair, optional
        Training pairs; default ``load_dataset(config.dataset, limit=config.limit)``.
    progress : bool
        Show a tqdm progress bar (rank 0 only).
    holdout_metrics : dict of str to callable, optional
        Scores of the held-out pairs' fused images at each evaluation (needs ``holdout``):
        ``name -> fn(g1, g2, fused) -> float`` on grey images in [0, 1], the fused image
        ``where(MF, g2, g1)``; the log gains the columns ``holdout_<name>``, the mean over
        the held-out pairs, and ``holdout_<name>_pairs``, each pair's value
        (:func:`held_out_scores`, :func:`holdout_columns`). :mod:`smfuse.reproduce.study`
        passes QAB/F this way.

    Returns
    -------
    dict
        ``model`` (MaskGenerator), ``agreement`` (per training pair, final),
        ``holdout_agreement``, ``seconds``, ``steps`` (the steps done).

    Notes
    -----
    Every random draw comes from the configuration's seed: the initial weights from a
    local ``torch.Generator``, each step's batch from ``numpy.random.default_rng((seed,
    step))``. On a CPU, with the same thread count, a run resumed from any checkpoint is
    bit-identical to an uninterrupted one (``tests/test_train.py``).

    Training first makes the process's C allocator keep freed memory
    (:func:`smfuse.runtime.allocator.keep_freed_memory`): on glibc this makes a CPU step about
    1.4x faster and changes no number; the process then keeps its peak memory.
    """
    from tqdm.auto import tqdm

    from smfuse.runtime.checkpoint import save_checkpoint

    rank, world = _dist()
    out = Path(out_dir)
    if config.batch_size % world:
        raise ValueError(f"batch_size {config.batch_size} is not divisible by the {world} processes")
    device = _pick_device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", rank % torch.cuda.device_count())
    # the run records the processes it runs on (this function trains in the group it is called in)
    config, state = _preflight(config.replace(processes=world), out, device, resume=resume, overwrite=overwrite)
    if config.precision == "bf16" and not native_bf16(device):
        import warnings

        where = "this CPU has no AVX512-BF16 or AMX" if device.type == "cpu" else "this GPU lacks bf16"
        warnings.warn(f"precision='bf16' without native bfloat16 ({where}): autocast emulates it and trains several "
                      "times slower than float32; use precision='auto' or 'fp32' unless the run must repeat a bf16 "
                      "one", RuntimeWarning, stacklevel=2)
    ckpt = out / "checkpoint.pt"
    if pairs is None:
        pairs = load_dataset(config.dataset, limit=config.limit)
    _check_holdout(config, pairs)
    holdout_metrics = dict(holdout_metrics or {})
    if holdout_metrics and not config.holdout:
        raise ValueError("holdout_metrics score the held-out pairs: set holdout > 0 (or pass no holdout_metrics)")
    sup = config.supervision
    if config.holdout:
        train_set, held = TrainingSet(pairs[:-config.holdout], sup), TrainingSet(pairs[-config.holdout:], sup)
    else:
        train_set, held = TrainingSet(pairs, sup), None
    created = _prepare_run_folder(out, resume=resume, overwrite=overwrite) if rank == 0 else False
    try:
        return _train_loop(config, out, state, train_set, held, device, rank, world, progress, tqdm,
                           save_checkpoint, holdout_metrics)
    except BaseException:
        if created and not ckpt.exists():  # failed before its first checkpoint: leave nothing behind
            import shutil

            shutil.rmtree(out, ignore_errors=True)
        raise


def training_step(net: torch.nn.Module, opt: torch.optim.Optimizer, config: TrainConfig, x1: torch.Tensor,
                  x2: torch.Tensor, mi: torch.Tensor, *, terms: bool = False,
                  loss: SMFuseLoss | None = None) -> LossTerms | None:
    """One optimiser step on ``L = gra_weight * Lgra + map_weight * Lmap``; the loss terms if ``terms``.

    The network runs under bfloat16 autocast when ``config.precision`` is ``'bf16'`` (or
    ``'auto'`` on a device that computes bfloat16 natively); the losses are computed in
    float32 by ``loss`` (:class:`smfuse.method.losses.SMFuseLoss`, made from ``config`` if
    not given). In the released code's variant no gradient reaches the weights through Lgra,
    so the update is that of ``map_weight * Lmap`` alone, bit for bit, and Lgra is computed
    only on the steps that ask for the terms (the steps that log them).
    """
    if loss is None:
        loss = config.loss()
    bf16 = resolve_precision(config.precision, x1.device) == "bf16"
    with torch.autocast(x1.device.type, dtype=torch.bfloat16, enabled=bf16):
        mg = net(x1, x2)
    out = loss(mg.float(), x1, x2, mi, with_gra=terms)
    opt.zero_grad(set_to_none=True)
    out.total.backward()
    opt.step()
    return LossTerms(out.total.detach(), out.map.detach(), out.gra) if terms else None


def _train_loop(config, out, state, train_set, held, device, rank, world, progress, tqdm, save_checkpoint,
                holdout_metrics):
    if config.threads:
        torch.set_num_threads(config.threads)
    keep_freed_memory()  # a quarter of a CPU step was the kernel re-mapping freed activations
    if config.init_from:
        from smfuse.runtime.weights import load_weights

        model = load_weights(config.init_from)
        if model.arch != config.arch:
            raise ValueError(f"init_from {config.init_from!r} is a {model.arch!r} network but the configuration "
                             f"trains arch={config.arch!r}; set arch={model.arch} or start from other weights")
    else:
        model = MaskGenerator(init=config.init, generator=torch.Generator().manual_seed(config.seed),
                              arch=config.arch)
    model = model.to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.Adam(model.parameters(), lr=config.lr, betas=(0.9, 0.999), eps=1e-8)
    loss = config.loss()
    cfg_dict = dataclasses.asdict(config)
    ckpt = out / "checkpoint.pt"
    log_path = out / "log.csv"
    start, elapsed0 = 0, 0.0
    if state is not None:
        model.load_state_dict(state["state_dict"])
        opt.load_state_dict(state["optimizer"])
        start = int(state["step"])
        elapsed0 = float(state.get("meta", {}).get("seconds", 0.0))
    net = model
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        net = DDP(model, device_ids=[device.index] if device.type == "cuda" else None)
    fields = LOG_FIELDS + holdout_columns(holdout_metrics)
    if rank == 0:
        if state is None or not log_path.exists():
            with open(log_path, "w", newline="") as f:
                csv.writer(f).writerow(fields)
        else:
            _truncate_log(log_path, start, fields)
        (out / "config.json").write_text(json.dumps(cfg_dict, indent=2) + "\n")
    logf = open(log_path, "a", newline="") if rank == 0 else None
    writer = csv.DictWriter(logf, fieldnames=fields) if logf else None

    stop = config.stop_at or config.steps
    per_rank = config.batch_size // world
    t0 = time.perf_counter()
    bar = tqdm(range(start, stop), initial=start, total=stop, disable=not progress or rank != 0,
               desc=f"train ({config.variant})", unit="step")
    model.train()
    last_t, last_step = time.perf_counter(), start
    final_eval = None  # (agreement, holdout agreement) of the last step, if it was evaluated
    wide_eval = world > 1 and device.type == "cpu"  # the other processes wait while rank 0 evaluates

    def meta(done: int, **extra) -> dict:
        return {"config": cfg_dict, "seconds": round(elapsed0 + time.perf_counter() - t0, 3), "step": done, **extra}

    try:
        for step in bar:
            x1, x2, mi = train_set.batch(step, config.batch_size, config.patch_size, config.seed,
                                         config.patch_mi_weight)
            sl = slice(rank * per_rank, (rank + 1) * per_rank)
            x1, x2, mi = (t[sl].to(device).contiguous(memory_format=torch.channels_last) for t in (x1, x2, mi))
            for group in opt.param_groups:
                group["lr"] = config.lr_at(step)
            done = step + 1
            log_now = rank == 0 and (done % max(config.log_every, 1) == 0 or done == stop)
            eval_now = rank == 0 and config.eval_every and (done % config.eval_every == 0 or done == stop)
            terms = training_step(net, opt, config, x1, x2, mi, terms=log_now or eval_now, loss=loss)
            if terms is not None:
                now = time.perf_counter()
                total, lmap, lgra = terms.total, terms.map, terms.gra
                rate = ""
                if log_now:
                    rate = f"{(done - last_step) * config.batch_size / max(now - last_t, 1e-9):.1f}"
                    bar.set_postfix(loss=f"{total.item():.4f}")
                row = {"step": done, "loss": f"{total.item():.6g}", "map": f"{lmap.item():.6g}",
                       "gra": f"{lgra.item():.6g}", "patches_per_s": rate,
                       "seconds": f"{elapsed0 + now - t0:.1f}", "agreement": "", "holdout_agreement": "",
                       **dict.fromkeys(holdout_columns(holdout_metrics), "")}
                if eval_now:
                    with _all_cores(wide_eval):
                        agree = mask_agreement(model, train_set)
                        held_masks = _masks(model, held) if held else None
                        held_agree = mask_agreement(model, held, held_masks) if held else None
                        scores = held_out_scores(held, held_masks, holdout_metrics) if held else {}
                    if done == stop:
                        final_eval = (agree, held_agree)
                    row["agreement"] = f"{agree.mean():.5f}"
                    row["holdout_agreement"] = f"{held_agree.mean():.5f}" if held else ""
                    for k, v in scores.items():
                        row[f"holdout_{k}"] = f"{v.mean():.6f}"
                        row[f"holdout_{k}_pairs"] = " ".join(f"{x:.6f}" for x in v)
                writer.writerow(row)
                logf.flush()
                last_t, last_step = time.perf_counter(), done  # logging and evaluation are not throughput
            if rank == 0 and config.checkpoint_every and done % config.checkpoint_every == 0 and done < stop:
                save_checkpoint(ckpt, model, meta=meta(done), optimizer=opt, step=done)
    finally:
        if logf:
            logf.close()
    seconds = elapsed0 + time.perf_counter() - t0
    result = {"model": model.eval(), "steps": stop, "seconds": seconds}
    if rank == 0:
        if final_eval is None:
            with _all_cores(wide_eval):
                final_eval = (mask_agreement(model, train_set), mask_agreement(model, held) if held else None)
        agree = final_eval[0]
        result["agreement"] = agree
        result["holdout_agreement"] = final_eval[1]
        info = meta(stop, train_pairs=train_set.names, torch=str(torch.__version__), device=str(device),
                    processes=world, agreement_mean=round(float(agree.mean()), 5))
        info["seconds"] = round(seconds, 1) if stop == config.steps else round(seconds, 3)
        save_checkpoint(ckpt, model, meta=info, optimizer=opt, step=stop)
        if stop == config.steps:
            save_checkpoint(out / "final.pt", model, meta=info)
    return result
