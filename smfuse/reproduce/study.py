"""The training study: every trained configuration the summary reports, at several seeds.

This docstring is the study's protocol, written once: notebook 06 (the paper's ablations) and
notebook 10 (the appendix: the study's own checks) apply it through
:mod:`smfuse.reproduce.ablation` and point here.

Each *arm* is one training configuration, described by a record (:class:`Arm`: its base arm,
its step budget, its precision, and the settings it changes); each is trained from seeds 0,
1, 2, so every number about a trained model can be given as ``mean ± sd (n=3 seeds)`` and
every claim about an arm is decided over pairs and seeds (:mod:`smfuse.reproduce.claims`).

The ablation arms (:data:`ARMS`)
--------------------------------
=====  ==================================================================================
arm    configuration
=====  ==================================================================================
a      the released code as is: labels {-1, 1}, no gradient through sign, uniform patches
b      (a) + our balanced patch sampling (``mi_weight=2``): the shipped ``code`` variant
c      labels {0, 1}, Lgra off (``gra_weight=0``)
d      the paper variant: labels {0, 1}, straight-through sign, Lgra 1, Lmap 10: the
       shipped ``paper`` variant
e      the paper variant with Lgra strong enough to move the mask (Lmap weight 1)
f      Lgra alone, no Lmap
g      (d) in float32: a precision check
h      (c) in float32: a precision check without Lgra
=====  ==================================================================================

Common to all arms (:data:`STUDY_BASE`): the ``fast`` schedule (Adam 2e-3, cosine) in
bfloat16 autocast, batches of 16 patches of 64x64, 3000 steps, on the authors' 20 grey
training pairs with the last 6 held out (``train-15`` .. ``train-20``, the luminance of
Lytro pairs 17, 16, 15, 08, 13 and 14), so that Lytro is reported both in sample (the
authors' protocol) and on pairs never trained on. Each run is scored on synthetic pairs
with a known focus map (mask accuracy, boundary F-score within 2 px; pairs cut from one
base image are one unit), on the 6 held-out Lytro pairs and on the grey set, never trained
on (QAB/F), and by its own objective on the pairs it trained on.

Convergence (:data:`BUDGET_ARMS`)
---------------------------------
Each arm of a-h is also trained at other budgets, same seeds, each with its whole schedule:
``<arm>-long`` at twice the common budget (a, c-h), ``<arm>-half`` at half of it (b-e), and
``a-xlong`` at four times it. An arm whose doubling moves it by more than the tolerance is
doubled again; the run's record, not its name, says its base arm and budget
(:func:`budget_runs`).

* *Plateau*: an arm has plateaued at a budget when its MF/MI agreement on the training pairs
  moved by less than 0.01 over the last quarter of its steps (mean over seeds, by the claims
  rule). Under a cosine schedule the learning rate itself dies away, so a flat curve is weak
  evidence.
* *Budget*: an arm has converged at B steps when its runs at B/2 and B give the same mask
  accuracy within 0.01 (the claims rule for equivalence over seeds and synthetic pairs).
* *Objective*: for an arm whose mask settles at no budget, and only there, its own objective
  decides, the criterion an optimiser's convergence is judged by (fixed before it was
  measured): each run's training loss on the whole pairs it trained on
  (:func:`smfuse.runtime.train.training_objective`; the log's loss is that of one random
  batch), and the arm has converged at B steps when the runs at B/2 and B give the same
  objective within 1 % (equivalence over seeds and pairs of the ratio minus 1).
* *Collapse*: the same measurement gives every run's mean ``|MG - 0.5|``; an arm's mask is
  the sign of rounding noise when it lies within 0.001 of 0 (a threshold set after a first
  look at arm f's MG, which sat within 1e-5 of 0.5).

Each claim reads an arm at the smallest budget at which it plateaued or converged by its
mask, else at the smallest at which its objective converged; an arm that does neither is
read at the common budget, the claim says so, and where the arm has a longer run the claim is
read a second time with its longest run. These rules were fixed before the convergence runs
finished. Where neither arm of a comparison converged by its mask, the second reading takes
both at their longest runs, one budget against the same budget (set after the convergence
verdicts were seen, which left comparisons with two such arms).

Precision (:data:`PRECISION_CHECKS`)
------------------------------------
Arms g and h repeat arms d and c in float32 (their record's ``repeats``), at the common budget
and at twice it: training in bfloat16 "does not move a score beyond seed noise" when the
interval of the paired difference (bfloat16 minus float32) lies within two seed standard
deviations of the bfloat16 arm's per-seed means, a tolerance fixed before measuring.

Selection of the shipped default
--------------------------------
The shipped default variant is chosen by a rule fixed before the study ran
(:data:`SELECTION_RULE`), on data the headline is not reported on, between the shipped
configurations (:data:`SHIPPED_ARMS`) at the budget they are shipped at.

Beyond the paper (:data:`PLUS_ARMS`, notebook 08)
-------------------------------------------------
Attempts at a learned mask that beats its own pseudo-label, trained on the same schedule and
held-out split, from the same seeds. They are not part of the ablation study
(:func:`finished_runs`, :func:`study_wall_time`).

=========  ==============================================================================
arm        configuration
=========  ==============================================================================
plus       the dilated network (27x27 receptive field), paper variant, Lmap weight 1:
           the ``plus`` configuration
dilated    the dilated network, paper variant (Lmap 10): what the receptive field alone
           does
vote       ``dilated`` with a learned 11x11 vote over the logits (``dilated-vote``): the
           speckle of per-pixel decisions, removed inside the network
=========  ==============================================================================

Training
--------
``smfuse study`` trains the ablation arms; ``--arms plus dilated vote`` the attempts beyond
the paper; ``--arms a-long c-long d-long e-long f-long g-long h-long`` the doubled arms,
``--arms b-half c-half d-half e-half`` the halved ones, ``--arms a-xlong`` arm a at four times
the budget. The budget arms, like the plus arms, are not part of :func:`study_wall_time`.
The guided block's supervision (:data:`SUPERVISION_ARMS`, notebook 09, claim C5 of the
register: "the guided block speeds up convergence"): the shipped paper arm (d) supervised by
MI (``label-mi``) and by the raw subtraction-map decision ``S2 > S1`` without the guided filter
(``label-s``), from the same seeds, on the study's schedule at a budget of 1000 steps,
stopped at its half (500 steps: the register reads the first half of the schedule), and
evaluated every 50 steps with the held-out pairs' QAB/F in the log (column
``holdout_qabf``). ``smfuse study --arms label-mi label-s`` trains them; a stopped run keeps
its log and configuration, not its weights.

=========  ==============================================================================
arm        configuration
=========  ==============================================================================
label-mi   (d), supervised by MI (the paper), 1000-step schedule stopped at 500 steps
label-s    (d), supervised by ``S2 > S1`` (no guided filter), the same schedule
=========  ==============================================================================

Runs are resumable: ``smfuse study`` skips every run whose weights are already in
``results/study/<arm>/seed-<k>/``, resumes an interrupted one from its checkpoint in the
work folder, and copies each finished run's ``final.pt``, ``log.csv`` and ``config.json``
into ``results/study`` (about 160 KB a run).
"""

from __future__ import annotations

import csv
import os
import shutil
import statistics
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path

from smfuse.runtime.train import TrainConfig, get_config

__all__ = ["Arm", "ARMS", "PRECISION_CHECKS", "PLUS_ARMS", "BUDGET_ARMS", "SUPERVISION_ARMS", "HOLDOUT_METRICS",
           "SEEDS", "STUDY_BASE", "SELECTION_RULE",
           "SHIPPED_ARMS", "RESULTS_DIR", "arm_config", "run_dir", "run_study", "finished_runs", "seed_runs",
           "arm_methods", "seed_methods", "study_wall_time"]

SEEDS = (0, 1, 2)

# The common schedule of every arm (see the module docstring).
# bfloat16 pinned: the committed runs were trained in it (on CPUs that compute it natively;
# elsewhere a run is several times slower, and smfuse study says so). One process a run:
# the study runs its runs side by side instead (--jobs).
STUDY_BASE: TrainConfig = get_config("fast", steps=3000, holdout=6, eval_every=250, checkpoint_every=250,
                                     dataset="train", precision="bf16", processes=1)

SELECTION_RULE = ("The shipped default variant is the one of arms b (code) and d (paper) with the higher "
                  "mean QAB/F over 3 seeds on the grey set (10 pairs never trained on); the headline is "
                  "reported on Lytro and nyud100_gt, never on the grey set.")


@dataclass(frozen=True)
class Arm:
    """One training configuration of the study, described by its fields (never parsed from its name).

    Attributes
    ----------
    name : str
        The folder of its runs, ``results/study/<name>/seed-<k>``.
    label : str
        What it is, in words.
    overrides : dict
        Its settings beyond :data:`STUDY_BASE`, budget and precision excluded.
    base : str
        The arm of :data:`ARMS` (or :data:`PLUS_ARMS`) whose configuration it trains: its own
        name, or for a run of :data:`BUDGET_ARMS` the arm it retrains at another budget.
    steps : int
        Its step budget.
    precision : {'bf16', 'fp32'}
        The precision it trains in.
    repeats : str
        For a precision check (and its budget runs), the arm whose configuration it repeats
        at another precision (g repeats d); ``""`` otherwise.
    holdout_metrics : tuple of str
        Scores of the held-out pairs logged at each evaluation (keys of :data:`HOLDOUT_METRICS`).
    """

    name: str
    label: str
    overrides: dict
    base: str = ""
    steps: int = STUDY_BASE.steps
    precision: str = STUDY_BASE.precision
    repeats: str = ""
    holdout_metrics: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.base:
            object.__setattr__(self, "base", self.name)
        clash = {"steps", "precision"} & set(self.overrides)
        if clash:
            raise ValueError(f"arm {self.name}: give {', '.join(sorted(clash))} as the record's fields, "
                             "not in overrides")

    @property
    def settings(self) -> dict:
        """Everything it changes in :data:`STUDY_BASE`: ``overrides`` plus its budget and precision."""
        return {**self.overrides, "steps": self.steps, "precision": self.precision}


ARMS: dict[str, Arm] = {a.name: a for a in (
    Arm("a", "released code as is (labels {-1,1}, no gradient through sign, uniform patches)",
        dict(variant="code", mi_weight=1.0)),
    Arm("b", "(a) + balanced patch sampling: shipped code variant", dict(variant="code", mi_weight=2.0)),
    Arm("c", "labels {0,1}, Lgra off", dict(variant="paper", gra_weight=0.0)),
    Arm("d", "paper variant (labels {0,1}, straight-through sign, Lgra 1, Lmap 10): shipped paper variant",
        dict(variant="paper")),
    Arm("e", "paper variant with strong Lgra (Lmap weight 1)", dict(variant="paper", map_weight=1.0)),
    Arm("f", "Lgra alone, no Lmap", dict(variant="paper", map_weight=0.0)),
    Arm("g", "(d) in float32: the precision check", dict(variant="paper"), precision="fp32", repeats="d"),
    Arm("h", "(c) in float32: the precision check without Lgra", dict(variant="paper", gra_weight=0.0),
        precision="fp32", repeats="c"),
)}

#: The precision checks: each arm of :data:`ARMS` in float32 and the bfloat16 arm it repeats (its ``repeats``).
PRECISION_CHECKS = {k: a.repeats for k, a in ARMS.items() if a.repeats}

#: Attempts beyond the paper (notebook 08); the first is the ``plus`` configuration.
PLUS_ARMS: dict[str, Arm] = {a.name: a for a in (
    Arm("plus", "dilated network (27x27), paper variant, Lmap weight 1: the plus configuration",
        dict(variant="paper", arch="dilated", map_weight=1.0)),
    Arm("dilated", "dilated network (27x27), paper variant (Lmap 10)", dict(variant="paper", arch="dilated")),
    Arm("vote", "dilated network with a learned 11x11 vote over its logits (37x37), paper variant (Lmap 10)",
        dict(variant="paper", arch="dilated-vote")),
)}


def _at_budget(k: str, times: float, suffix: str) -> Arm:
    """Arm ``k`` of :data:`ARMS` at ``times`` the common budget, named ``<k>-<suffix>``."""
    steps = int(times * STUDY_BASE.steps)
    words = {0.5: "half", 2: "twice", 4: "four times"}[times]
    return replace(ARMS[k], name=f"{k}-{suffix}", base=k, steps=steps,
                   label=f"({k}) at {words} the common budget ({steps} steps)")


#: The convergence check: arms a and c-h at twice the common budget, b-e at half of it, a at four times it
#: (same seeds, same schedule shape; see the module docstring).
BUDGET_ARMS: dict[str, Arm] = {a.name: a for a in (
    *(_at_budget(k, 2, "long") for k in ("a", "c", "d", "e", "f", "g", "h")),
    *(_at_budget(k, 0.5, "half") for k in ("b", "c", "d", "e")),
    _at_budget("a", 4, "xlong"),
)}


def _supervised_by(name: str, supervision: str, words: str) -> Arm:
    """Arm d supervised by ``supervision``, on a 1000-step schedule stopped at its half (claim C5)."""
    return replace(ARMS["d"], name=name, base="d", steps=1000, holdout_metrics=("qabf",),
                   label=f"(d) supervised by {words}; 1000-step schedule, its first half (500 steps)",
                   overrides=dict(ARMS["d"].overrides, supervision=supervision, stop_at=500, eval_every=50,
                                  checkpoint_every=50))


#: The guided block's supervision (claim C5, notebook 09): arm d supervised by MI and by ``S2 > S1``, same
#: seeds, on a 1000-step schedule stopped at its half, the held-out QAB/F logged every 50 steps.
SUPERVISION_ARMS: dict[str, Arm] = {a.name: a for a in (
    _supervised_by("label-mi", "initial_mask", "MI, the guided block's initial mask (the paper)"),
    _supervised_by("label-s", "subtraction", "S2 > S1, the subtraction maps without the guided filter"),
)}
_ALL_ARMS = {**ARMS, **PLUS_ARMS, **BUDGET_ARMS, **SUPERVISION_ARMS}


def _fused_qabf(g1, g2, fused) -> float:
    """QAB/F of a fused grey image of grey sources, all float in [0, 1]."""
    from smfuse.evaluation.metrics import qabf

    return qabf(g1, g2, fused)


#: Held-out scores an arm can log (:attr:`Arm.holdout_metrics`): name -> fn(g1, g2, fused).
HOLDOUT_METRICS = {"qabf": _fused_qabf}


def _check_arm(arm: str) -> None:
    if arm not in _ALL_ARMS:
        raise ValueError(f"unknown arm {arm!r}; choose from {', '.join(_ALL_ARMS)}")


def arm_record(name: str) -> Arm:
    """The record of any arm of the study (:data:`ARMS`, :data:`PLUS_ARMS` or :data:`BUDGET_ARMS`)."""
    _check_arm(name)
    return _ALL_ARMS[name]


def budget_runs(base: str) -> list[Arm]:
    """The runs of one arm of :data:`ARMS` at every budget it is trained at, the shortest first.

    Examples
    --------
    >>> [(a.name, a.steps) for a in budget_runs("a")]
    [('a', 3000), ('a-long', 6000), ('a-xlong', 12000)]
    """
    if base not in ARMS:
        raise ValueError(f"unknown ablation arm {base!r}; choose from {', '.join(ARMS)}")
    return sorted((a for a in {**ARMS, **BUDGET_ARMS}.values() if a.base == base), key=lambda a: a.steps)


def run_at(base: str, steps: int) -> Arm | None:
    """The run of arm ``base`` at a budget of ``steps`` (None when the study has none)."""
    return next((a for a in budget_runs(base) if a.steps == steps), None)


#: The arm whose configuration each shipped variant is trained with; ``smfuse/runtime/trained``
#: holds seed 0 of it, and every number about a shipped variant is read over its seeds.
SHIPPED_ARMS = {"code": "b", "paper": "d"}

#: Where the committed study runs are kept (``results/study`` of this checkout).
RESULTS_DIR = Path(__file__).resolve().parents[2] / "results" / "study"


def arm_config(arm: str, seed: int, **overrides) -> TrainConfig:
    """The configuration of one run of the study (an arm of :data:`ARMS`, :data:`PLUS_ARMS` or :data:`BUDGET_ARMS`).

    ``overrides`` change the arm's own settings too (the tests shrink every arm this way).
    """
    _check_arm(arm)
    return STUDY_BASE.replace(seed=seed, **{**_ALL_ARMS[arm].settings, **overrides})


def run_dir(root: str | os.PathLike, arm: str, seed: int) -> Path:
    """``root/<arm>/seed-<k>``."""
    return Path(root) / arm / f"seed-{seed}"


def _stopped_at(folder: Path) -> int | None:
    """The step a run stopped at (its configuration's ``stop_at``), if its log reached it; else None."""
    import json

    try:
        stop = json.loads((folder / "config.json").read_text()).get("stop_at")
        with open(folder / "log.csv", newline="") as f:
            last = max((int(r["step"]) for r in csv.DictReader(f)), default=0)
    except (OSError, ValueError, KeyError):
        return None
    return stop if stop and last >= stop else None


def finished_runs(results: str | os.PathLike, arms=None) -> dict[tuple[str, int], Path]:
    """The finished runs in ``results`` (``(arm, seed) -> folder``).

    A run is finished when its weights (``final.pt``) are there, or, for a run stopped by
    its configuration's ``stop_at`` (:data:`SUPERVISION_ARMS`), when its log reaches that step.
    ``arms``: names to look for; default the ablation study's (:data:`ARMS`).
    """
    out = {}
    for arm in (ARMS if arms is None else arms):
        for d in sorted((Path(results) / arm).glob("seed-*")):
            if (d / "final.pt").is_file() or _stopped_at(d):
                out[(arm, int(d.name.split("-", 1)[1]))] = d
    return out


def seed_runs(arm: str, results: str | os.PathLike | None = None, seeds=None) -> list[tuple[int, Path]]:
    """The finished runs of one arm, ``[(seed, folder), ...]`` in seed order.

    Parameters
    ----------
    arm : str
        A key of :data:`ARMS` (e.g. ``SHIPPED_ARMS["paper"]``) or :data:`PLUS_ARMS`.
    results : path, optional
        Default :data:`RESULTS_DIR`.
    seeds : iterable of int, optional
        Only these seeds (default: every finished seed).
    """
    _check_arm(arm)
    runs = finished_runs(RESULTS_DIR if results is None else results, [arm])
    keep = None if seeds is None else set(seeds)
    return sorted((s, d) for (a, s), d in runs.items() if a == arm and (keep is None or s in keep))


def arm_methods(arm: str, results: str | os.PathLike | None = None, name: str | None = None,
                seeds=None) -> dict:
    """The fusion methods of one arm's finished seeds, ``{seed: Method}``.

    Each is a :func:`smfuse.evaluation.methods.smfuse_method` named ``<name> seed <k>`` (``name``
    defaults to ``arm <arm>``). Empty when the arm's runs are not in ``results``
    (default :data:`RESULTS_DIR`). ``seeds``: only these (default every finished seed).
    """
    from smfuse.evaluation.methods import smfuse_method

    label = name or f"arm {arm}"
    return {s: smfuse_method(str(d / "final.pt"), name=f"{label} seed {s}")
            for s, d in seed_runs(arm, results, seeds)}


def seed_methods(variant: str, results: str | os.PathLike | None = None) -> dict:
    """The fusion methods of a shipped variant's study seeds, ``{seed: Method}``.

    The shipped weights (``smfuse/runtime/trained/smfuse_<variant>.pt``) are seed 0 of the arm
    :data:`SHIPPED_ARMS` names; these are its runs at the study's seeds (:data:`SEEDS`), each a
    :func:`smfuse.evaluation.methods.smfuse_method` named ``smfuse_<variant> seed <k>``, so that every
    number about the shipped variant can be given as ``mean ± sd (n=K seeds)``, the same K runs in
    every chapter. Further seeds of an arm, trained where the study's seeds cannot decide a
    claim of the training study (C4, C5, C8), are read only by the chapters that decide those
    claims (06 and 09 read every finished run of the arms they compare). Empty when the
    study's runs are not in ``results``.
    """
    if variant not in SHIPPED_ARMS:
        raise ValueError(f"unknown variant {variant!r}; choose from {', '.join(SHIPPED_ARMS)}")
    return arm_methods(SHIPPED_ARMS[variant], results, name=f"smfuse_{variant}", seeds=SEEDS)


def study_wall_time(results: str | os.PathLike | None = None, jobs: int = 2, seeds=SEEDS) -> dict:
    """What the whole study (every arm x seed) costs, from the committed runs' logs.

    ``seeds``: the seeds counted (default the study's, :data:`SEEDS`); runs at further
    seeds add evidence, not cost to the study, and a command training them as a whole is
    timed in ``study_commands.csv`` (:func:`run_study`).

    Returns
    -------
    dict
        ``runs`` (finished), ``train_seconds`` (sum of each run's training seconds from
        its log), ``wall_seconds`` (``train_seconds / jobs``: the wall time of the study
        run ``jobs`` side by side, one core each, as ``smfuse study --jobs 2`` does),
        ``median_run`` and ``slowest_run`` (seconds).
    """
    runs = {k: d for k, d in finished_runs(RESULTS_DIR if results is None else results).items() if k[1] in seeds}
    secs = []
    for d in runs.values():
        with open(d / "log.csv", newline="") as f:
            rows = list(csv.DictReader(f))
        secs.append(float(rows[-1]["seconds"]) if rows else 0.0)
    return {"runs": len(secs), "train_seconds": sum(secs), "wall_seconds": sum(secs) / max(1, jobs),
            "median_run": float(statistics.median(secs)) if secs else 0.0, "slowest_run": max(secs, default=0.0)}


def _one(arm: str, seed: int, work: str, results: str, threads: int | None, overrides: dict) -> dict:
    """Train (or resume) one run, then copy its artefacts into ``results``."""
    from smfuse.runtime.train import train

    cfg = arm_config(arm, seed, threads=threads, **overrides)
    metrics = {k: HOLDOUT_METRICS[k] for k in _ALL_ARMS[arm].holdout_metrics}
    wdir, rdir = run_dir(work, arm, seed), run_dir(results, arm, seed)
    done = (wdir / "final.pt").is_file() or bool(cfg.stop_at and _stopped_at(wdir))
    resume = (wdir / "checkpoint.pt").is_file() and not done
    t0 = time.perf_counter()
    if not done:
        res = train(cfg, wdir, resume=resume, overwrite=not resume, progress=False, holdout_metrics=metrics)
        seconds = res["seconds"]
    else:
        seconds = float("nan")
    tmp = rdir.with_name(rdir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    # a run stopped by its configuration (stop_at) keeps its log and configuration, not its weights
    for name in ("log.csv", "config.json") if cfg.stop_at else ("final.pt", "log.csv", "config.json"):
        shutil.copy2(wdir / name, tmp / name)
    shutil.rmtree(rdir, ignore_errors=True)
    tmp.rename(rdir)
    return {"arm": arm, "seed": seed, "seconds": seconds, "wall": time.perf_counter() - t0, "resumed": resume}


def _append_rows(path: Path, fieldnames: list[str], rows: list[dict]) -> None:
    """Append ``rows`` to the CSV file ``path``, writing its header first if the file is new."""
    new = not path.exists()
    with open(path, "a", newline="") as f:
        w = csv.DictWriter(f, fieldnames=fieldnames)
        if new:
            w.writeheader()
        w.writerows(rows)


def run_study(*, arms: list[str] | None = None, seeds: list[int] | None = None, jobs: int = 1,
              threads: int | None = None, work: str | os.PathLike = "runs/study",
              results: str | os.PathLike = "results/study", overrides: dict | None = None, echo=print) -> list[dict]:
    """Train every missing run of the study.

    Parameters
    ----------
    arms, seeds : lists, optional
        Default: the ablation arms (:data:`ARMS`), seeds 0, 1, 2; name arms of
        :data:`PLUS_ARMS` to train those.
    jobs : int
        Runs side by side, each on ``torch.get_num_threads() // jobs`` threads.
    threads : int, optional
        Threads of each run instead (e.g. 1 with ``jobs=1`` beside another study).
    work : path
        Checkpoints of runs in progress (git-ignored).
    results : path
        Where finished runs are kept (committed).
    overrides : dict, optional
        Changes to every run's configuration (for tests; the study itself uses none).
    echo : callable
        Progress messages.

    Returns
    -------
    list of dict
        One row per run trained now: arm, seed, seconds (training), wall, resumed.

    Notes
    -----
    Each run's row is appended to ``study_runs.csv`` in ``results``; the command itself to
    ``study_commands.csv`` there (start, arms, seeds, runs, jobs, wall seconds, and
    ``whole_study``: whether this one command trained every arm of :data:`ARMS` at as many
    seeds as :data:`SEEDS` holds (those, or as many others) from nothing, so that its wall
    time is the study's).
    """
    import torch

    arms = list(arms or ARMS)
    seeds = list(SEEDS if seeds is None else seeds)
    for a in arms:
        _check_arm(a)
    if jobs < 1:
        raise ValueError(f"jobs must be >= 1, got {jobs}")
    if threads is not None and threads < 1:
        raise ValueError(f"threads must be >= 1, got {threads}")
    done = finished_runs(results, arms)
    # seed-major: every arm gets its first seed before any arm its second
    todo = [(a, s) for s in seeds for a in arms if (a, s) not in done]
    echo(f"study: {len(todo)} run(s) to train, {len(arms) * len(seeds) - len(todo)} already in {results}")
    if not todo:
        return []
    from smfuse.runtime.precision import native_bf16

    if not native_bf16("cuda" if torch.cuda.is_available() else "cpu") and any(
            arm_config(a, s).precision == "bf16" for a, s in todo):
        echo("study: this machine does not compute bfloat16 natively (no AVX512-BF16 or AMX): the study's bf16 "
             "runs will take several times longer than on one that does (smfuse.runtime.precision)")
    if threads is None:
        threads = max(1, torch.get_num_threads() // jobs) if jobs > 1 else None
    rows, t0 = [], time.perf_counter()
    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    if jobs == 1:
        for a, s in todo:
            rows.append(_one(a, s, str(work), str(results), threads, overrides or {}))
            echo(f"study: arm {a} seed {s} done in {rows[-1]['wall']:.0f} s")
    else:
        with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
            futs = [pool.submit(_one, a, s, str(work), str(results), threads, overrides or {}) for a, s in todo]
            for f in futs:
                rows.append(f.result())
                echo(f"study: arm {rows[-1]['arm']} seed {rows[-1]['seed']} done in {rows[-1]['wall']:.0f} s")
    wall = time.perf_counter() - t0
    _append_rows(Path(results) / "study_runs.csv", ["arm", "seed", "seconds", "wall", "resumed", "jobs"],
                 [{**r, "seconds": f"{r['seconds']:.1f}", "wall": f"{r['wall']:.1f}", "jobs": jobs} for r in rows])
    # the study's cost: every ablation arm at as many seeds as the study has (its own, or as
    # many new ones), all trained by this command from nothing
    whole = (set(arms) == set(ARMS) and len(set(seeds)) == len(SEEDS) and len(todo) == len(ARMS) * len(SEEDS)
             and not any(r["resumed"] for r in rows))
    _append_rows(Path(results) / "study_commands.csv",
                 ["started", "arms", "seeds", "runs", "jobs", "threads", "wall", "whole_study"],
                 [{"started": started, "arms": " ".join(arms), "seeds": " ".join(map(str, seeds)), "runs": len(rows),
                   "jobs": jobs, "threads": threads or "", "wall": f"{wall:.1f}", "whole_study": whole}])
    echo(f"study: {len(rows)} run(s) in {wall:.0f} s wall ({jobs} side by side)")
    return rows
