"""The comparison claims, read off the benchmark's per-pair table (notebook 05).

The benchmark (:mod:`smfuse.evaluation.benchmark`) scores every method on every pair; this
module turns its per-pair table into the paired effects the verdict rule decides
(:mod:`smfuse.reproduce.claims`, through the register's rule, :mod:`smfuse.reproduce.register`),
and into the cells of the claims table. A *subject* is the released weights (one method,
a fixed subject: effects ``(N,)``) or our retrain (the training seeds of one configuration,
each a method: effects ``(K, N)``; one method in hand is one seed).

- :func:`subject_effects`: ``metric(subject) - metric(reference)`` per seed and pair;
- :func:`strongest_peer_table`: on each set and metric, the peer with the best mean, and the
  verdict of "SMFuse is not below it" (register claim C12) for each subject, with the
  initial mask MI beside it;
- :func:`score_cell`: a subject's mean (``mean ± sd (n=K seeds)`` over seeds) for the claims
  table.
"""

from __future__ import annotations

from typing import Iterable, Mapping

import numpy as np
import pandas as pd

from smfuse.evaluation.benchmark import finite, paired_effects, strongest, summarise
from smfuse.reproduce.claims import Verdict, mean_sd, not_measured

__all__ = ["subject_effects", "score_cell", "strongest_peer_table", "LABELS", "CLAIM", "TABLE_COLUMNS"]

#: How the claims table names the metrics.
LABELS = {"qabf": "QAB/F", "qmi": "QMI", "qy": "QY", "qcb": "QCB", "qncie": "QNCIE", "ssim": "SSIM (sum)",
          "psnr": "PSNR (truth)", "ssim_gt": "SSIM (truth)", "mask_accuracy": "mask accuracy"}
#: The register's claim that SMFuse is best or competitive against the state of the art.
CLAIM = "C12"
#: The columns of :func:`strongest_peer_table`'s table.
TABLE_COLUMNS = ("dataset", "metric", "subject", "methods", "strongest_peer", "peer_mean", "mi_mean", "subject_mean",
                 "effect", "lo", "hi", "verdict", "n_pairs", "n_seeds", "mi_effect", "mi_verdict")


def _has(per_pair: pd.DataFrame, dataset: str, methods: Iterable[str], metric: str) -> bool:
    d = per_pair[(per_pair.dataset == dataset) & per_pair.method.isin(list(methods))]
    return metric in per_pair.columns and set(d.method) == set(methods) and d[metric].notna().any()


def subject_effects(per_pair: pd.DataFrame, dataset: str, metric: str, subject: Iterable[str], reference: str, *,
                    pairs: Iterable[str] | None = None) -> np.ndarray | None:
    """``metric(subject) - metric(reference)`` per seed (row) and pair (column); ``None`` where either did not run.

    Parameters
    ----------
    per_pair : pandas.DataFrame
        :attr:`smfuse.evaluation.benchmark.Benchmark.per_pair`.
    subject : iterable of str
        The subject's methods: one (the released weights, or one model) or several (seeds).
    reference : str
        The method compared with.
    pairs : iterable of str, optional
        Only these pairs (e.g. the ones the study held out of training).

    Returns
    -------
    (K, N) ndarray or None
    """
    subject = list(subject)
    if not subject or not _has(per_pair, dataset, [*subject, reference], metric):
        return None
    eff = paired_effects(per_pair, dataset, metric, subject, reference)
    if pairs is not None:
        eff = eff[[p for p in eff.columns if p in set(pairs)]]
    return eff.to_numpy() if eff.shape[1] else None


def score_cell(per_pair: pd.DataFrame, dataset: str, subject: Iterable[str], *, metrics=("qabf", "qmi"),
               pairs: Iterable[str] | None = None, minus: str | None = None) -> str | None:
    """A subject's mean over pairs, per metric: ``QAB/F 0.7578`` for one method, ``mean ± sd (n=K seeds)`` for seeds.

    With ``minus``, the gain over that method's mean on the same pairs. ``None`` when not measured.
    """
    subject = list(subject)
    parts = []
    for key in metrics:
        if not subject or not _has(per_pair, dataset, subject if minus is None else [*subject, minus], key):
            return None
        d = per_pair[per_pair.dataset == dataset]
        if pairs is not None:
            d = d[d.pair.isin(list(pairs))]
        d = d[finite(d[key])]
        means = np.array([d.loc[d.method == m, key].mean() for m in subject])
        if minus is not None:
            means = means - d.loc[d.method == minus, key].mean()
        gain = " gain" if minus is not None else ""
        text = mean_sd(means) if len(subject) > 1 else f"{means[0]:{'+' if minus else ''}.4f}"
        parts.append(f"{LABELS.get(key, key)}{gain} {text}")
    return "; ".join(parts)


def strongest_peer_table(per_pair: pd.DataFrame, *, datasets: Iterable[str], metrics: Iterable[str],
                         subjects: Mapping[str, Iterable[str]], peers: Iterable[str], mi: str = "initial_mask",
                         claim: str = CLAIM) -> tuple[pd.DataFrame, dict]:
    """SMFuse against the strongest peer, on each set and metric, for each subject.

    The strongest peer of a set and metric is the peer with the best mean there (over the
    pairs it was scored on: the same pairs as every other method of that set). The effect
    is ``metric(SMFuse) - metric(strongest peer)`` per pair (and seed), decided by the
    register's rule for ``claim`` (:func:`smfuse.reproduce.register.decide`: direction and
    margin fixed there). MI, the initial mask used directly, is decided beside it as a
    fixed subject against the same peer.

    Parameters
    ----------
    per_pair : pandas.DataFrame
        :attr:`smfuse.evaluation.benchmark.Benchmark.per_pair`.
    datasets, metrics : iterable of str
        The sets (as labelled in the table) and metrics to decide; a metric a set has no
        scores of (``psnr`` without the truth) is left out there.
    subjects : mapping
        The register's subject (``'authors'``, ``'retrain'``) -> its methods (one, or the
        seeds); a subject with no methods, or not measured on a set, is ``not measured``.
    peers : iterable of str
        The candidates for the strongest peer.
    mi : str
        The method shown beside it.

    Returns
    -------
    table : pandas.DataFrame
        One row per (set, metric, subject): ``strongest_peer``, ``peer_mean``, ``mi_mean``,
        ``subject_mean`` (mean over seeds and pairs), ``effect``, ``lo``, ``hi``,
        ``verdict``, ``n_pairs``, ``n_seeds``, ``mi_effect`` and ``mi_verdict``.
    verdicts : dict
        ``(set, metric, subject) -> Verdict`` for the claims table.
    """
    from smfuse.reproduce import register

    peers = list(peers)
    summary = summarise(per_pair, keys=[m for m in metrics if m in per_pair.columns])
    rows, verdicts = [], {}
    for d in datasets:
        for key in [k for k in metrics if k in set(summary.metric[summary.dataset == d])]:  # the set's scores
            peer = strongest(summary, d, key, peers)
            for subject, methods in subjects.items():
                methods = list(methods)
                eff = None if peer is None else subject_effects(per_pair, d, key, methods, peer)
                if eff is None:
                    why = (f"no peer ran on {d}: smfuse data fetch peers" if peer is None else
                           f"the {subject} subject's weights did not run on {d}: "
                           + ("smfuse data fetch authors" if subject == "authors" else "smfuse study --arms d"))
                    v = not_measured(why, rule=register.claim(claim).rule)
                else:
                    v = register.decide(claim, eff if subject == "retrain" or eff.shape[0] > 1 else eff[0],
                                        subject=subject)
                verdicts[d, key, subject] = v
                mi_eff = None if peer is None else subject_effects(per_pair, d, key, [mi], peer)
                mi_v = None if mi_eff is None else register.decide(claim, mi_eff[0], subject="authors")
                rows.append(_row(per_pair, d, key, subject, methods, peer, mi, eff, v, mi_eff, mi_v))
    return pd.DataFrame(rows, columns=TABLE_COLUMNS), verdicts


def _row(per_pair, d, key, subject, methods, peer, mi, eff, v: Verdict, mi_eff, mi_v) -> dict:
    sel = per_pair[(per_pair.dataset == d)]

    def mean_of(names):
        s = sel.loc[sel.method.isin(names), key] if key in sel.columns else pd.Series(dtype=float)
        s = s[finite(s)]
        return float(s.mean()) if len(s) else float("nan")

    measured = eff is not None
    return {"dataset": d, "metric": key, "subject": subject, "methods": ", ".join(methods),
            "strongest_peer": peer or "", "peer_mean": mean_of([peer]) if peer else float("nan"),
            "mi_mean": mean_of([mi]), "subject_mean": mean_of(methods) if measured else float("nan"),
            "effect": v.estimate if measured else float("nan"), "lo": v.low if measured else float("nan"),
            "hi": v.high if measured else float("nan"), "verdict": v.verdict,
            "n_pairs": eff.shape[1] if measured else 0, "n_seeds": eff.shape[0] if measured else 0,
            "mi_effect": float(mi_eff.mean()) if mi_eff is not None else float("nan"),
            "mi_verdict": mi_v.verdict if mi_v is not None else "not measured"}
