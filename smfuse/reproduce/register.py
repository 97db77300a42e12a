"""The claims register: the paper's claims and their rules, read from ``register.toml``.

Every claim of the paper stands once, in ``register.toml`` beside this module, with how it
is operationalised (metric, data, comparison, direction, margin and why), whose claim it
tests (the authors' released model first, our retrain second) and whether its margin was
set before or after the data was seen. Its git history shows when each rule was fixed.
The notebooks take the rule from here and decide with :func:`decide`, so no claim is
stated twice; the report (:mod:`smfuse.reproduce.summary`) reads the register for the
claims table.

Examples
--------
>>> from smfuse.reproduce import register
>>> c = register.claim("C6")
>>> c.direction, c.margin, c.subjects
('greater', 0.0, ('authors', 'retrain'))
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from smfuse.reproduce.claims import Verdict, decide as _decide, exact_check

__all__ = ["Claim", "Fact", "claims", "facts", "claim", "fact", "decide", "check", "REGISTER", "KINDS"]

REGISTER = Path(__file__).with_name("register.toml")
KINDS = ("statistical", "exact", "not testable")
SUBJECTS = ("authors", "retrain", "method")


@dataclass(frozen=True)
class Claim:
    """One claim of the paper and its rule (the fields of ``register.toml``)."""

    id: str
    claim: str
    where: str
    kind: str
    notebook: str
    subjects: tuple[str, ...] = ()
    metric: str = ""
    data: str = ""
    comparison: str = ""
    direction: str = "greater"
    margin: float = 0.0
    margin_why: str = ""
    margin_set: str = ""
    evidence: str = ""
    caveat: str = ""
    why: str = ""

    @property
    def rule(self) -> str:
        """The rule in words: ``mean of <comparison> > <margin>``."""
        op = ">" if self.direction == "greater" else "<"
        return f"mean of {self.comparison} {op} {self.margin:g}"


@dataclass(frozen=True)
class Fact:
    """A fact of the code against the paper, settled by an exact check (outside the tally)."""

    id: str
    claim: str
    notebook: str


@lru_cache(maxsize=1)
def _load() -> tuple[dict[str, Claim], dict[str, Fact], str]:
    data = tomllib.loads(REGISTER.read_text(encoding="utf-8"))
    out: dict[str, Claim] = {}
    for row in data.get("claim", []):
        row = dict(row)
        row["subjects"] = tuple(row.get("subjects", ()))
        c = Claim(**row)
        if c.id in out:
            raise ValueError(f"register.toml: claim {c.id} stands twice")
        if c.kind not in KINDS:
            raise ValueError(f"register.toml: claim {c.id} has kind {c.kind!r}; expected one of {KINDS}")
        if c.kind == "not testable" and not c.why:
            raise ValueError(f"register.toml: claim {c.id} is not testable but says not why")
        if c.kind == "statistical" and (c.direction not in ("greater", "less") or not c.margin_set):
            raise ValueError(f"register.toml: claim {c.id} needs a direction and a margin_set")
        if not set(c.subjects) <= set(SUBJECTS):
            raise ValueError(f"register.toml: claim {c.id} has subjects {c.subjects}; expected some of {SUBJECTS}")
        out[c.id] = c
    fs: dict[str, Fact] = {}
    for row in data.get("fact", []):
        f = Fact(**row)
        if f.id in fs or f.id in out:
            raise ValueError(f"register.toml: {f.id} stands twice")
        fs[f.id] = f
    return out, fs, data.get("truth_set_caveat", "")


def claims() -> list[Claim]:
    """Every claim of the paper, in register order."""
    return list(_load()[0].values())


def facts() -> list[Fact]:
    """Every code-against-paper fact, in register order."""
    return list(_load()[1].values())


def claim(cid: str) -> Claim:
    """The claim ``cid`` (e.g. ``"C6"``); a ValueError names the known ids if it is not there."""
    known = _load()[0]
    if cid not in known:
        raise ValueError(f"no claim {cid!r} in the register; known: {', '.join(known)}")
    return known[cid]


def fact(fid: str) -> Fact:
    """The fact ``fid`` (e.g. ``"F1"``)."""
    known = _load()[1]
    if fid not in known:
        raise ValueError(f"no fact {fid!r} in the register; known: {', '.join(known)}")
    return known[fid]


def caveat_text(c: Claim) -> str:
    """The caveat a reader must see beside the claim's verdict (the truth sets' blur model, ...)."""
    return _load()[2] if c.caveat == "truth_set" else c.caveat


def decide(cid: str, effects, *, subject: str, clusters=None) -> Verdict:
    """Decide claim ``cid`` for one subject with the register's direction and margin.

    Parameters
    ----------
    cid : str
        A statistical claim of the register.
    effects : (N,) or (K, N) array_like
        The claim's comparison per pair (and per seed, for a retrain), as the register
        states it (e.g. ``accuracy(MF) - accuracy(MI)``).
    subject : {'authors', 'retrain', 'method'}
        Whose claim this is: the released weights and a deterministic method are fixed
        subjects; a retrain's seeds are a population (1-D effects of a retrain are one seed).
    clusters : (N,) array_like, optional
        A label per pair; pairs made from one base image share a label and count as one unit.
    """
    c = claim(cid)
    if c.kind != "statistical":
        raise ValueError(f"claim {cid} is {c.kind}; only statistical claims are decided with an interval")
    if subject not in c.subjects:
        raise ValueError(f"claim {cid} is about {c.subjects}, not {subject!r}")
    a = np.asarray(effects, dtype=np.float64)
    if subject == "retrain" and a.ndim == 1:
        a = a[None, :]
    return _decide(a, direction=c.direction, margin=c.margin, rule=c.rule, clusters=clusters,
                   seeds_random=(subject == "retrain"))


def check(fid: str, value, expected, *, tol: float = 0.0) -> Verdict:
    """Settle fact ``fid`` by an exact check: holds if ``|value - expected| <= tol``."""
    f = fact(fid)
    return exact_check(value, expected, tol=tol, rule=f.claim)
