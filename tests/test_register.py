"""The claims register: well formed, and the committed results measure each claim once, in its own notebook."""

import json
from pathlib import Path

import numpy as np
import pytest

from smfuse.reproduce import register

ROOT = Path(__file__).resolve().parents[1]


def test_register_is_well_formed():
    claims, facts = register.claims(), register.facts()
    assert len({c.id for c in claims} | {f.id for f in facts}) == len(claims) + len(facts)
    for c in claims:
        assert c.claim and c.where and c.notebook
        if c.kind == "statistical":
            assert c.metric and c.data and c.comparison and c.margin_why and c.margin_set
            assert c.margin_set.startswith(("before", "after")), c.id
        if c.kind == "not testable":
            assert c.why, c.id
    # the paper's four "combined strengths", convergence and run time each have a claim
    text = " ".join(c.claim.lower() for c in claims)
    for word in ("chromatic", "patch", "small regions", "convergence", "run time", "state of the art"):
        assert word in text, word


def test_decide_takes_the_registers_rule():
    c = register.claim("C12")  # margin -0.001: not below the strongest peer by more than 0.001
    v = register.decide("C12", np.full(10, -0.0005) + np.linspace(-1e-5, 1e-5, 10), subject="authors")
    assert c.margin == -0.001 and v.verdict == "supported" and v.rule == c.rule
    with pytest.raises(ValueError, match="not 'method'"):
        register.decide("C12", np.zeros(3), subject="method")
    with pytest.raises(ValueError, match="not testable"):
        register.decide("C14", np.zeros(3), subject="retrain")
    with pytest.raises(ValueError, match="no claim 'C99'"):
        register.claim("C99")
    assert register.check("F1", 38339, 38339).verdict == "supported"
    assert register.check("F1", 38338, 38339).verdict == "refuted"


def _committed_rows():
    rows = []
    for p in sorted((ROOT / "results").glob("[0-9][0-9]-*/claims.json")):
        rows += json.loads(p.read_text())
    return rows


def test_committed_results_measure_every_claim_once_in_its_notebook():
    rows = _committed_rows()
    by_id = {}
    for r in rows:
        if r.get("id"):
            by_id.setdefault(r["id"], set()).add(r["notebook"])
    for c in register.claims():
        if c.kind == "not testable":
            assert c.id not in by_id, f"{c.id} is not testable here, yet a notebook measures it"
            continue
        assert by_id.get(c.id) == {c.notebook}, f"{c.id}: measured by {by_id.get(c.id)}, the register says {c.notebook}"
        subjects = {r["subject"] for r in rows if r.get("id") == c.id}
        assert subjects == set(c.subjects), f"{c.id}: subjects {subjects}, the register says {c.subjects}"
    for f in register.facts():
        assert by_id.get(f.id) == {f.notebook}, f"{f.id}: checked by {by_id.get(f.id)}, the register says {f.notebook}"
