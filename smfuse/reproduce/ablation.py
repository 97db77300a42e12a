"""The training study's analysis: each run's scores, where each arm has converged, and the claims.

Notebook 06 (the paper's ablations) and notebook 10 (the appendix: the study's own checks)
read their numbers through this module; the protocol they apply (what each arm is, how
convergence is judged, where an arm is read, the precision and selection rules) is written
once, in :mod:`smfuse.reproduce.study`. Every function below takes the long table of
:func:`score_runs` (one row per run, data set and pair) and returns tables or claims; none
reads an arm's meaning from its name: each run's base arm, budget and precision come from its
record (:func:`smfuse.reproduce.study.arm_record`).

* :func:`score_runs`, :func:`scoring_sets`: the study's runs scored on the pairs they were
  never trained on, and by their own objective on the pairs they were trained on.
* :func:`convergence`: the plateau, halving/doubling and objective checks of every arm at
  every budget, and the budget each arm is read at (:class:`Convergence`).
* :func:`arm_claims`, :func:`run_claim`: a comparison of two arms, each read where it
  converged (notebook 06).
* :func:`plateau_claim`, :func:`doubling_claims`, :func:`halving_claim`,
  :func:`objective_claims`, :func:`collapse_claim`, :func:`all_converged_claim`,
  :func:`precision_claims`, :func:`selection_claim`: the appendix's checks (notebook 10).

Each claim builder returns :class:`ClaimRow` objects; ``row.record(rep)`` writes one into a
notebook's :class:`smfuse.reproduce.report.Report`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from smfuse.reproduce import register
from smfuse.reproduce.claims import Verdict, decide, decide_equivalence, mean_sd, not_measured
from smfuse.reproduce.effects import paired_effect
from smfuse.reproduce.study import (ARMS, BUDGET_ARMS, PRECISION_CHECKS, SELECTION_RULE, SHIPPED_ARMS, STUDY_BASE,
                                    arm_record, budget_runs, run_at)

__all__ = ["COLUMNS", "SCORES", "LOG", "OBJECTIVE", "PLATEAU_TOL", "BUDGET_TOL", "OBJECTIVE_TOL", "COLLAPSE_MARGIN",
           "READ_ARMS", "ClaimRow", "Convergence", "scoring_sets", "score_runs", "read_scores", "ablation_table",
           "convergence", "run_claim", "arm_claims", "plateau_claim", "doubling_claims", "halving_claim",
           "objective_claims", "collapse_claim", "all_converged_claim", "precision_claims", "selection_claim"]

#: The columns of the per-run table (:func:`score_runs`).
COLUMNS = ["arm", "seed", "set", "pair", "cluster", "mask_accuracy", "boundary_f", "qabf", "objective", "lgra",
           "margin", "agreement_MF_MI_train", "agreement_MF_MI_held_out", "plateau_change", "seconds"]
#: The score columns (everything but the keys).
SCORES = COLUMNS[5:]
#: The ``set`` of a run's training-log row and of its objective rows.
LOG, OBJECTIVE = "training log", "training pairs"

#: The rules of :mod:`smfuse.reproduce.study` (fixed before the convergence runs finished;
#: the collapse margin after a first look at arm f's MG).
PLATEAU_TOL = 0.01       # MF/MI agreement change over the last quarter of the steps
BUDGET_TOL = 0.01        # mask accuracy change between the runs at B/2 and B steps
OBJECTIVE_TOL = 0.01     # relative change of the objective between the runs at B/2 and B steps
COLLAPSE_MARGIN = 1e-3   # mean |MG - 0.5| below which a mask is the sign of rounding noise

#: The ablation arms the claims read (the precision checks are read beside the arms they repeat).
READ_ARMS = [k for k, a in ARMS.items() if not a.repeats]


@dataclass(frozen=True)
class ClaimRow:
    """One claim, ready to record: the arguments of :meth:`smfuse.reproduce.report.Report.claim`."""

    text: str
    verdict: Verdict
    ours: str | None = None
    published: str = "n/a"
    file: str = ""
    id: str = ""
    subject: str = ""
    section: str = ""

    def record(self, rep):
        """Record this claim in ``rep`` (a :class:`~smfuse.reproduce.report.Report`); return its row."""
        return rep.claim(self.text, verdict=self.verdict, ours=self.ours, published=self.published, file=self.file,
                         id=self.id, subject=self.subject, section=self.section)


# ----------------------------------------------------------------------------- scoring


def scoring_sets(quick: bool) -> tuple[dict, object]:
    """The pairs every run is scored on, and the pairs it trained on.

    Parameters
    ----------
    quick : bool
        The quick profile: 2 synthetic pairs (from two base images), 1 held-out Lytro pair, 1 grey
        pair, 1 training pair.

    Returns
    -------
    scored : dict of str to list of Pair
        ``synthetic`` (pairs 8-19 with a known focus map, never trained on), ``lytro held out``
        (the 6 Lytro pairs held out of every run's training) and ``grayscale`` where the data
        is there.
    trained_on : smfuse.runtime.train.TrainingSet or None
        The training pairs (not the held-out ones), for each run's own objective; None without
        the authors' training pairs.
    """
    from smfuse.data.sets import has_dataset, load_dataset, synthetic_pair
    from smfuse.runtime.train import TrainingSet

    synthetic = [synthetic_pair(i) for i in range(8, 20)]
    if quick:  # the first pair of each of the first two base images: two units, so an interval can be finite
        first: dict = {}
        for p in synthetic:
            first.setdefault(_cluster(p), p)
        synthetic = list(first.values())[:2]
    scored = {"synthetic": synthetic}
    if has_dataset("lytro") and has_dataset("train"):
        lytro = {p.name: p for p in load_dataset("lytro")}
        held = [p.meta["lytro"] for p in load_dataset("train")[-STUDY_BASE.holdout:]]
        scored["lytro held out"] = [lytro[n] for n in held][: 1 if quick else None]
    if has_dataset("grayscale"):
        scored["grayscale"] = load_dataset("grayscale", limit=1 if quick else None)
    trained_on = None
    if has_dataset("train"):
        trained_on = TrainingSet(load_dataset("train")[:-STUDY_BASE.holdout][: 1 if quick else None])
    return scored, trained_on


def _cluster(pair) -> str:
    """The unit a pair counts as: its base image (synthetic pairs cut from one image share it), else itself."""
    return str(pair.meta.get("image") or pair.name)


def score_runs(runs: dict, scored: dict, trained_on=None) -> "pd.DataFrame":
    """Score every run: one row per run, data set and pair (the columns of :data:`COLUMNS`).

    Parameters
    ----------
    runs : dict of (str, int) to path
        ``(arm, seed) -> folder`` holding ``final.pt`` and ``log.csv``
        (:func:`smfuse.reproduce.study.finished_runs`).
    scored : dict of str to list of Pair
        The pairs to fuse, by set (:func:`scoring_sets`): QAB/F on every pair; mask accuracy
        and boundary F-score (2 px) where the pair has a true focus map.
    trained_on : smfuse.runtime.train.TrainingSet, optional
        The pairs the runs trained on: each run's objective, Lgra and mean ``|MG - 0.5|`` on
        each (rows of set :data:`OBJECTIVE`).

    Returns
    -------
    pandas.DataFrame
        Besides those rows, one row per run of set :data:`LOG` from its training log: the last
        MF/MI agreement on the training and held-out pairs, the change of the agreement over
        the last quarter of the steps (``plateau_change``) and the training seconds.
    """
    import pandas as pd

    from smfuse.evaluation.metrics import boundary_fscore, mask_accuracy, qabf
    from smfuse.reproduce.study import arm_config
    from smfuse.runtime.inference import fuse
    from smfuse.runtime.train import training_objective
    from smfuse.runtime.weights import load_weights

    rows = []
    for (arm, seed), d in sorted(runs.items()):
        d = Path(d)
        model = load_weights(d / "final.pt")
        for s, pairs in scored.items():
            for p in pairs:
                out = fuse(p.a, p.b, model)
                row = {"arm": arm, "seed": seed, "set": s, "pair": p.name, "cluster": _cluster(p),
                       "qabf": qabf(p.a, p.b, out.fused)}
                if p.mask is not None:
                    row.update(mask_accuracy=mask_accuracy(out.mask, p.mask),
                               boundary_f=boundary_fscore(out.mask, p.mask))
                rows.append(row)
        if trained_on is not None:
            obj = training_objective(model, trained_on, arm_config(arm, seed))
            rows += [{"arm": arm, "seed": seed, "set": OBJECTIVE, "pair": n, "cluster": n, "objective": v,
                      "lgra": g, "margin": m}
                     for n, v, g, m in zip(trained_on.names, obj["total"], obj["gra"], obj["margin"])]
        log = pd.read_csv(d / "log.csv").dropna(subset=["agreement"])
        late = log[log.step >= 0.75 * log.step.max()].agreement
        rows.append({"arm": arm, "seed": seed, "set": LOG, "pair": "(training log)", "cluster": "(training log)",
                     "agreement_MF_MI_train": float(log.agreement.iloc[-1]),
                     "agreement_MF_MI_held_out": float(log.holdout_agreement.iloc[-1]),
                     "plateau_change": float(late.max() - late.min()), "seconds": float(log.seconds.iloc[-1])})
    return pd.DataFrame(rows, columns=COLUMNS)


def read_scores(path: str | os.PathLike, runs: dict, scored: dict, trained_on=None):
    """The per-run table another notebook of the same run wrote, if it holds exactly these runs and pairs.

    Returns the table (as :func:`score_runs` would give it) or None when ``path`` is absent or
    was written for other runs or pairs (another profile, other data), so that the caller
    scores the runs itself.
    """
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        return None
    t = pd.read_csv(path, dtype={"arm": str, "set": str, "pair": str, "cluster": str})
    if list(t.columns) != COLUMNS:
        return None
    want_pairs = {(s, p.name) for s, ps in scored.items() for p in ps}
    if trained_on is not None:
        want_pairs |= {(OBJECTIVE, n) for n in trained_on.names}
    have_runs = set(zip(t.arm, t.seed.astype(int)))
    have_pairs = set(zip(t.set, t.pair)) - {(LOG, "(training log)")}
    if have_runs != set(runs) or have_pairs != want_pairs:
        return None
    return t.astype({"seed": int})


def ablation_table(per_run) -> "pd.DataFrame":
    """Mean and sd over seeds of each run's per-set means: one row per arm (base arm, budget, precision).

    Columns: ``configuration``, ``base``, ``steps``, ``precision``, ``seeds``, then each score
    (``mask_accuracy``, ``boundary_f``, ``qabf_<set>``, ``objective_train`` ...) and its
    ``_sd``. Empty without runs.
    """
    import pandas as pd

    if not len(per_run):
        return pd.DataFrame()
    per_seed = per_run.groupby(["arm", "seed", "set"])[SCORES].mean()
    wide = per_seed.unstack("set")
    names = {("mask_accuracy", "synthetic"): "mask_accuracy", ("boundary_f", "synthetic"): "boundary_f",
             ("qabf", "synthetic"): "qabf_synthetic", ("qabf", "lytro held out"): "qabf_lytro_held_out",
             ("qabf", "grayscale"): "qabf_grayscale", ("objective", OBJECTIVE): "objective_train",
             ("lgra", OBJECTIVE): "lgra_train", ("margin", OBJECTIVE): "margin_train",
             ("agreement_MF_MI_train", LOG): "agreement_MF_MI_train",
             ("agreement_MF_MI_held_out", LOG): "agreement_MF_MI_held_out", ("plateau_change", LOG): "plateau_change"}
    kept = [c for c in names if c in wide.columns]
    wide = wide[kept].set_axis([names[c] for c in kept], axis=1)
    table = wide.groupby(level="arm").agg(["mean", "std"])
    table.columns = [c if s == "mean" else f"{c}_sd" for c, s in table.columns]
    records = [arm_record(a) for a in table.index]
    table.insert(0, "seeds", wide.groupby(level="arm").size())
    for i, (name, values) in enumerate((("configuration", [r.label for r in records]),
                                        ("base", [r.base for r in records]), ("steps", [r.steps for r in records]),
                                        ("precision", [r.precision for r in records]))):
        table.insert(i, name, values)
    return table


# ----------------------------------------------------------------------------- convergence


def _logs(per_run, run: str) -> np.ndarray:
    rows = per_run[(per_run["set"] == LOG) & (per_run["arm"] == run)]
    return rows["plateau_change"].dropna().to_numpy(dtype=np.float64)


def _plateau(per_run, run: str, rule: str = "") -> Verdict | None:
    """The plateau rule on one run's seeds: mean of (tolerance - change over the last quarter) > 0."""
    ch = _logs(per_run, run)
    if not len(ch):
        return None
    return decide((PLATEAU_TOL - ch)[:, None], direction="greater", pairs_random=False, rule=rule)


def _doubling(per_run, short: str, long: str, rule: str = ""):
    """Mask accuracy of ``long`` minus ``short`` within :data:`BUDGET_TOL` (verdict, effect), or (None, None)."""
    e = paired_effect(per_run, long, short, "mask_accuracy", ["synthetic"])
    if e is None:
        return None, None
    return decide_equivalence(e.effects, tol=BUDGET_TOL, clusters=e.clusters, rule=rule), e


def _objective(per_run, short: str, long: str, rule: str = ""):
    """The runs' own objective, ``L(long) / L(short) - 1`` per seed and training pair, within
    :data:`OBJECTIVE_TOL` (verdict, effect), or (None, None)."""
    e = paired_effect(per_run, long, short, "objective", [OBJECTIVE])
    if e is None:
        return None, None
    return decide_equivalence(e.x_scores / e.y_scores - 1, tol=OBJECTIVE_TOL, rule=rule), e


@dataclass
class Convergence:
    """Where each arm has converged, by the rules of :mod:`smfuse.reproduce.study`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per arm of :data:`~smfuse.reproduce.study.ARMS` and budget at or above the
        common one: ``arm``, ``steps``, ``run``, ``precision``, the verdicts ``plateau``,
        ``doubling`` (against the run at half the budget) and ``objective_doubling`` with
        their estimates, and ``converged`` (by the mask: plateau or doubling supported) and
        ``objective_converged``.
    read_at : dict of str to str
        Arm -> the run its claims read (absent: converged nowhere; read at the common budget).
    by_objective : set of str
        The arms read where their objective, not their mask, converged.
    deciding : dict of str to Verdict
        Arm -> the verdict that shows it converged where it is read.
    objective : dict of str to Verdict or None
        Run -> the verdict of its objective's doubling (None where not measured).
    """

    table: "pd.DataFrame"
    read_at: dict = field(default_factory=dict)
    by_objective: set = field(default_factory=set)
    deciding: dict = field(default_factory=dict)
    objective: dict = field(default_factory=dict)

    def run_of(self, arm: str) -> str:
        """The run an arm's claims read: where it converged, else the arm itself (the common budget)."""
        return self.read_at.get(arm, arm)

    def converged(self, run: str) -> bool:
        """Whether the mask of ``run`` (a row of :attr:`table`) plateaued or passed the doubling test."""
        return bool(self.table.loc[self.table.run == run, "converged"].any())


def convergence(per_run) -> Convergence:
    """Apply the convergence rules to every arm at every budget; say where each arm is read.

    An arm is read at the first budget (from the common one up) where its mask plateaued or
    its doubling test holds; failing that, where its objective's doubling test holds
    (:attr:`Convergence.by_objective`); failing both, nowhere (:attr:`Convergence.read_at`
    lacks it). The precision checks (g, h) get rows but are not read: they stand beside the
    arms they repeat.

    Parameters
    ----------
    per_run : pandas.DataFrame
        The table of :func:`score_runs`.
    """
    import pandas as pd

    rows, out = [], Convergence(table=None)
    for k in ARMS:
        chain = budget_runs(k)
        for i, run in enumerate(chain):
            if run.steps < ARMS[k].steps:  # a run below the common budget is only the short side of a doubling
                continue
            shorter = chain[i - 1].name if i else None
            pv = _plateau(per_run, run.name)
            dv, _ = _doubling(per_run, shorter, run.name) if shorter else (None, None)
            ov, _ = _objective(per_run, shorter, run.name) if shorter else (None, None)
            out.objective[run.name] = ov
            rows.append({"arm": k, "steps": run.steps, "run": run.name, "precision": run.precision,
                         "plateau": "not measured" if pv is None else pv.verdict,
                         "plateau_change": float(_logs(per_run, run.name).mean()) if pv else float("nan"),
                         "doubling": "not measured" if dv is None else dv.verdict,
                         "doubling_change": float("nan") if dv is None else dv.estimate,
                         "objective_doubling": "not measured" if ov is None else ov.verdict,
                         "objective_change": float("nan") if ov is None else ov.estimate,
                         "converged": any(v is not None and v.verdict == "supported" for v in (pv, dv)),
                         "objective_converged": ov is not None and ov.verdict == "supported"})
            if rows[-1]["converged"] and k in READ_ARMS and k not in out.read_at:
                out.read_at[k] = run.name
                out.deciding[k] = next(v for v in (pv, dv) if v is not None and v.verdict == "supported")
        settled = [r["run"] for r in rows if r["arm"] == k and r["objective_converged"]]
        if k in READ_ARMS and k not in out.read_at and settled:
            out.read_at[k] = settled[0]
            out.by_objective.add(k)
            out.deciding[k] = out.objective[settled[0]]
    out.table = pd.DataFrame(rows, columns=["arm", "steps", "run", "precision", "plateau", "plateau_change",
                                            "doubling", "doubling_change", "objective_doubling", "objective_change",
                                            "converged", "objective_converged"])
    return out


# ----------------------------------------------------------------------------- comparisons of arms


def _sets_text(sets) -> str:
    return " and ".join(f"{s} pairs" for s in sets)


def run_claim(per_run, text: str, x: str, y: str, col: str, sets, *, cid: str = "", direction: str = "greater",
              section: str = "", published: str = "qualitative (paper)", conv: Convergence | None = None) -> ClaimRow:
    """One claim: the paired effect of score ``col``, run ``x`` minus run ``y``, on the pairs of ``sets``.

    Parameters
    ----------
    per_run : pandas.DataFrame
        The table of :func:`score_runs`.
    text : str
        The claim.
    x, y : str
        Two runs (arms of the study, at the budgets to compare).
    col, sets :
        The score and the sets of pairs it is read on.
    cid : str
        A statistical claim of the register (``"C4"``): decided by
        :func:`smfuse.reproduce.register.decide` with its direction and margin, for our
        retrain; else decided by ``direction`` against 0.
    section : str
        The report's section (default: ``paper`` for a register claim, ``beyond`` otherwise;
        ``appendix`` for the study's own checks).
    conv : Convergence, optional
        When given, the claim says whether each run converged (``[... both converged]``).
    """
    rule = (register.claim(cid).rule if cid else
            f"mean over seeds and {_sets_text(sets)} of {col}(arm {x}) - {col}(arm {y}) "
            f"{'>' if direction == 'greater' else '<'} 0")
    if conv is not None:
        unsettled = [r for r in (x, y) if not conv.converged(r)]
        text += f" [{'not converged: ' + ', '.join(unsettled) if unsettled else 'both converged'}]"
    meta = dict(id=cid, subject="retrain" if cid else "", section=section or ("paper" if cid else "beyond"),
                published=published)
    e = paired_effect(per_run, x, y, col, sets)
    if e is None:
        why = f"arms {y} and {x} are not both in results/study: smfuse study --arms {y} {x}"
        return ClaimRow(text, not_measured(why, rule=rule), **meta)
    if cid:
        v = register.decide(cid, e.effects, subject="retrain", clusters=e.clusters)
    else:
        v = decide(e.effects, direction=direction, clusters=e.clusters, rule=rule)
    return ClaimRow(text, v, ours=f"arm {y} -> {x}: {e.text()}", file="ablation_per_pair.csv", **meta)


def arm_claims(per_run, conv: Convergence, text: str, x: str, y: str, col: str, sets, *, cid: str = "",
               direction: str = "greater", section: str = "") -> list[ClaimRow]:
    """A claim about arm ``x`` against arm ``y``, each read where it converged (:func:`convergence`).

    An arm read at a longer budget is named in the claim (``[arm d read at 6000 steps]``). An
    arm that converged nowhere is read at the common budget and the claim says so; one read
    where only its objective converged says that too; either way, where such an arm has a
    longer run the claim is read a second time with it at its longest run, so that no verdict
    rests on one budget alone. When both arms are such arms, the second reading takes both at
    their longest runs, so that neither is compared with an arm trained longer while both are
    still moving. Arguments as :func:`run_claim`.

    Returns
    -------
    list of ClaimRow
        The claim, and its second reading where there is one.
    """
    unsettled = [k for k in (x, y) if k in READ_ARMS and (k not in conv.read_at or k in conv.by_objective)]
    tags = [f"arm {k} has not converged" if k not in conv.read_at else
            f"arm {k}: its objective has converged by {arm_record(conv.read_at[k]).steps} steps, its mask has not"
            for k in unsettled]
    tags += [f"arm {k} read at {arm_record(conv.read_at[k]).steps} steps" for k in (x, y) if conv.run_of(k) != k]
    kw = dict(cid=cid, direction=direction, section=section)
    out = [run_claim(per_run, text + "".join(f" [{t}]" for t in tags), conv.run_of(x), conv.run_of(y), col, sets,
                     **kw)]
    longer = {k: budget_runs(k)[-1] for k in unsettled if budget_runs(k)[-1].name != conv.run_of(k)}
    if longer:
        again = [longer[a].name if a in longer else conv.run_of(a) for a in (x, y)]
        which = " and ".join(f"arm {k} at {r.steps} steps" for k, r in longer.items())
        its, it = ("its longest run", "its mask has") if len(longer) == 1 else ("their longest runs", "their masks have")
        out.append(run_claim(per_run, f"{text} [again with {which}, {its}; {it} not converged there either]", *again,
                             col, sets, **kw))
    return out


# ----------------------------------------------------------------------------- the appendix's checks


def _appendix(text: str, verdict: Verdict, ours=None, file: str = "") -> ClaimRow:
    return ClaimRow(text, verdict, ours=ours, file=file if verdict.verdict != "not measured" else "",
                    section="appendix")


def _times(steps: int) -> str:
    ratio = steps / STUDY_BASE.steps
    return {2: "twice", 4: "four times"}.get(ratio, f"{ratio:g} times")


def _what(k: str) -> str:
    a = ARMS[k]
    return f"Arm {k} (arm {a.repeats} in float32)" if a.repeats else f"Arm {k}"


def plateau_claim(per_run) -> ClaimRow:
    """Every arm of a-h has plateaued at the common budget; the least settled arm decides."""
    rule = (f"mean over seeds of ({PLATEAU_TOL} - change of MF/MI agreement over the last quarter of steps) > 0, "
            "for the least settled arm")
    logs = per_run[(per_run["set"] == LOG) & per_run["arm"].isin(list(ARMS))]
    text = f"Every arm of the study has plateaued at the common step budget ({STUDY_BASE.steps} steps"
    if not len(logs):
        return _appendix(text + ")", not_measured("no study runs in results/study: smfuse study", rule=rule))
    worst = logs.groupby("arm").plateau_change.mean().idxmax()
    return _appendix(f"{text}; the least settled arm is {worst})", _plateau(per_run, worst, rule),
                     ours=", ".join(f"{a} {mean_sd(g.plateau_change)}" for a, g in logs.groupby("arm")),
                     file="ablation_per_pair.csv")


def doubling_claims(per_run) -> list[ClaimRow]:
    """Each arm at each budget above the common one: doubling moves its mask accuracy by less than the tolerance."""
    out = []
    for k in ARMS:
        chain = budget_runs(k)
        for short, long in zip(chain, chain[1:]):
            if short.steps < ARMS[k].steps:
                continue
            rule = (f"mean over seeds and synthetic pairs of mask_accuracy(arm {long.name}) - "
                    f"mask_accuracy(arm {short.name}) within +-{BUDGET_TOL}")
            text = (f"{_what(k)} has converged by {_times(long.steps)} the common budget: doubling it "
                    f"({short.steps} -> {long.steps} steps) moves its mask accuracy by less than {BUDGET_TOL} "
                    "(synthetic)")
            v, e = _doubling(per_run, short.name, long.name, rule)
            if v is None:
                out.append(_appendix(text, not_measured(f"arms {short.name} and {long.name} are not both in "
                                                        f"results/study: smfuse study --arms {short.name} {long.name}",
                                                        rule=rule)))
            else:
                out.append(_appendix(text, v, file="convergence.csv",
                                     ours=f"{short.steps} -> {long.steps} steps: {e.text()}; agreement change over the "
                                          f"last quarter at {long.steps} steps {mean_sd(_logs(per_run, long.name))}"))
    return out


def halving_claim(per_run) -> ClaimRow:
    """The arms trained at half the common budget have converged at it; the least settled decides."""
    halves = [k for k in ARMS if budget_runs(k)[0].steps < ARMS[k].steps]
    rule = (f"mean over seeds and synthetic pairs of mask_accuracy(arm k) - mask_accuracy(its run at half the budget) "
            f"within +-{BUDGET_TOL}, for the arm k of {', '.join(halves)} it moves most")
    text = (f"Arms {', '.join(halves)} have converged at the common budget: halving it ({STUDY_BASE.steps} -> "
            f"{STUDY_BASE.steps // 2} steps) moves no arm's mask accuracy by {BUDGET_TOL} (synthetic; the least "
            "settled arm decides)")
    found = {k: _doubling(per_run, budget_runs(k)[0].name, k, rule) for k in halves}
    missing = [budget_runs(k)[0].name for k, (v, _) in found.items() if v is None]
    if missing:
        return _appendix(text, not_measured(f"arms {' '.join(missing)} are not in results/study: smfuse study --arms "
                                            f"{' '.join(missing)}", rule=rule))
    least = max(found, key=lambda k: max(abs(found[k][0].low), abs(found[k][0].high)))  # reaching farthest from 0
    return _appendix(f"{text}; least settled: {least}", found[least][0], file="convergence.csv",
                     ours="; ".join(f"{k} {budget_runs(k)[0].steps} -> {ARMS[k].steps} steps: {e.text()}"
                                    for k, (_, e) in found.items()))


def objective_claims(per_run, conv: Convergence) -> list[ClaimRow]:
    """For an arm whose mask settles at no budget: its own objective's doubling within :data:`OBJECTIVE_TOL`."""
    out = []
    for k in READ_ARMS:
        if k in conv.read_at and k not in conv.by_objective:
            continue
        chain = budget_runs(k)
        for short, long in zip(chain, chain[1:]):
            if short.steps < ARMS[k].steps:
                continue
            what = "Lgra" if ARMS[k].overrides.get("map_weight") == 0.0 else "its loss"
            text = (f"Arm {k}'s own training objective ({what}) has converged by {_times(long.steps)} the common "
                    f"budget, though its mask has not: doubling it ({short.steps} -> {long.steps} steps) moves the "
                    f"objective by less than {OBJECTIVE_TOL:.0%} on the whole pairs it trained on")
            rule = (f"mean over seeds and training pairs of objective(arm {long.name}) / objective(arm {short.name}) "
                    f"- 1 within +-{OBJECTIVE_TOL}")
            v, e = _objective(per_run, short.name, long.name, rule)
            if v is None:
                out.append(_appendix(text, not_measured(
                    f"arms {short.name} and {long.name} and the training pairs are needed: smfuse data fetch authors; "
                    f"smfuse study --arms {short.name} {long.name}", rule=rule)))
                continue
            moved = conv.table.loc[conv.table.run == long.name, "doubling_change"]
            out.append(_appendix(text, v, file="convergence.csv",
                                 ours=f"{short.steps} -> {long.steps} steps: {e.text(5)}; mask accuracy moved "
                                      f"{float(moved.iloc[0]) if len(moved) else float('nan'):+.4f}"))
    return out


def _sci(per_seed) -> str:
    """``mean ± sd (n=K seeds)`` in scientific notation, for numbers far below 0.001."""
    v = np.asarray(per_seed, dtype=np.float64)
    return f"{v.mean():.1e} ± {v.std(ddof=1):.1e} (n={v.size} seeds)" if v.size > 1 else mean_sd(v)


def collapse_claim(per_run, arm: str = "f", shown=("f", "f-long", "d", "d-long")) -> ClaimRow:
    """Without Lmap the mask generator's output collapses onto the threshold 0.5 (mean ``|MG - 0.5|`` < 0.001)."""
    rule = f"mean over seeds and training pairs of {COLLAPSE_MARGIN} - abs(MG - 0.5) (arm {arm}) > 0"
    text = (f"Without Lmap the mask generator's output collapses onto the threshold: arm {arm}'s MG lies within "
            f"{COLLAPSE_MARGIN} of 0.5 on average over the pairs it trained on, so its mask MF is the sign of rounding "
            "noise and cannot settle")
    e = paired_effect(per_run, arm, COLLAPSE_MARGIN, "margin", [OBJECTIVE])
    if e is None:
        return _appendix(text, not_measured(f"arm {arm} and the training pairs are needed: smfuse data fetch authors; "
                                            f"smfuse study --arms {arm}", rule=rule))
    v = decide(-e.effects, direction="greater", clusters=e.clusters, rule=rule)
    margins = {a: paired_effect(per_run, a, 0.0, "margin", [OBJECTIVE]) for a in shown}
    lgras = {a: paired_effect(per_run, a, 0.0, "lgra", [OBJECTIVE]) for a in shown}
    have = [a for a in shown if margins[a] is not None]
    return _appendix(text, v, file="ablation_per_pair.csv",
                     ours="mean abs(MG - 0.5): " + ", ".join(f"{a} {_sci(margins[a].x_per_seed)}" for a in have)
                          + "; Lgra on those pairs: " + ", ".join(f"{a} {_sci(lgras[a].x_per_seed)}" for a in have))


def all_converged_claim(per_run, conv: Convergence) -> ClaimRow:
    """Every arm the claims read has converged where it is read, by its mask or, failing that, its objective."""
    rule = (f"each arm {', '.join(READ_ARMS)} converged where it is read (MF/MI plateau or mask-accuracy doubling "
            f"within {BUDGET_TOL}; for an arm whose mask settles at no budget, its objective's doubling within "
            f"{OBJECTIVE_TOL:.0%}); the least settled arm decides")
    text = ("Every ablation arm has converged where its claims read it, by its mask or, where that never settles, its "
            "objective")
    if not (per_run["set"] == LOG).any():
        return _appendix(text, not_measured("no study runs in results/study: smfuse study", rule=rule))
    missing = [k for k in READ_ARMS if k not in conv.deciding]
    if missing:  # an arm converged nowhere decides: its objective's doubling at its longest budget, else its plateau
        k = missing[0]
        longest = budget_runs(k)[-1].name
        worst = (conv.objective.get(longest) or _plateau(per_run, longest)
                 or not_measured(f"arm {k} has no finished runs: smfuse study --arms {k}"))
    else:  # all converged: shown by the arm read by its objective, else by the one read at the longest budget
        k = min(conv.deciding, key=lambda a: (a not in conv.by_objective, -arm_record(conv.read_at[a]).steps))
        worst = conv.deciding[k]
    where = ", ".join(f"{a} at {conv.read_at[a]}" + (" (objective)" if a in conv.by_objective else "")
                      if a in conv.read_at else f"{a} nowhere" for a in READ_ARMS)
    return _appendix(f"{text} (deciding arm: {k})", replace(worst, rule=rule), ours=where, file="convergence.csv")


def precision_claims(per_run, conv: Convergence) -> list[ClaimRow]:
    """bfloat16 against float32 (:data:`~smfuse.reproduce.study.PRECISION_CHECKS`), at each budget both have.

    The tolerance is two seed standard deviations of the bfloat16 arm's per-seed means (the
    rule of :mod:`smfuse.reproduce.study`); the MF/MI agreement of the training log is one
    number per seed (no pairs behind it: ``pairs_random=False``).
    """
    measures = (("qabf", "lytro held out", "QAB/F on the held-out Lytro pairs"),
                ("agreement_MF_MI_train", LOG, "MF/MI agreement on the training pairs"))
    out = []
    for base_run in (1, 2):
        for fp32_arm, bf16_arm in PRECISION_CHECKS.items():
            fp = run_at(fp32_arm, base_run * STUDY_BASE.steps)
            bf = run_at(bf16_arm, base_run * STUDY_BASE.steps)
            if fp is None or bf is None:
                continue
            for col, s, what in measures:
                text = (f"Training in bfloat16 (the study) instead of float32 does not move {what.split(' on ')[0]} "
                        f"beyond seed noise (arm {bf.name} against {fp.name}) ({what})")
                if base_run > 1:
                    unsettled = [r.name for r in (bf, fp) if not conv.converged(r.name)]
                    text += (f" [at {bf.steps} steps, " + (f"not converged: {', '.join(unsettled)}]" if unsettled
                                                           else "both converged]"))
                rule = (f"mean over seeds and {what} of {col}(arm {bf.name}, bf16) - {col}(arm {fp.name}, fp32) within "
                        f"+-2 sd over seeds of arm {bf.name}'s per-seed means")
                e = paired_effect(per_run, bf.name, fp.name, col, [s])
                if e is None:
                    out.append(_appendix(text, not_measured(f"arms {bf.name} and {fp.name} are not both in "
                                                            f"results/study: smfuse study --arms {bf.name} {fp.name}",
                                                            rule=rule)))
                    continue
                sd = float(e.x_per_seed.std(ddof=1)) if len(e.seeds) > 1 else 0.0
                v = decide_equivalence(e.effects, tol=2 * sd, clusters=e.clusters, pairs_random=(s != LOG), rule=rule)
                out.append(_appendix(text, v, file="ablation_per_pair.csv",
                                     ours=f"fp32 {mean_sd(e.y_per_seed)}, bf16 {mean_sd(e.x_per_seed)}; tolerance "
                                          f"2 sd = {2 * sd:.4f}"))
    return out


def selection_claim(per_run) -> tuple[ClaimRow, str | None]:
    """The selection rule (:data:`~smfuse.reproduce.study.SELECTION_RULE`) between the shipped configurations.

    Returns
    -------
    claim : ClaimRow
    chosen : {'paper', 'code'} or None
        The variant with the higher mean QAB/F on the grey set; None without the runs or the set.
    """
    paper, code = SHIPPED_ARMS["paper"], SHIPPED_ARMS["code"]
    text = (f"Selection of the shipped default ({SELECTION_RULE}): the paper variant (arm {paper}) against the code "
            f"variant (arm {code}), QAB/F on the grey set [the shipped configurations, at {ARMS[paper].steps} steps as "
            "shipped]")
    row = run_claim(per_run, text, paper, code, "qabf", ["grayscale"], section="appendix", published="n/a")
    e = paired_effect(per_run, paper, code, "qabf", ["grayscale"])
    return row, (None if e is None else "paper" if e.effects.mean() > 0 else "code")
