"""smfuse.reproduce.summary: the report's reader verdicts, answer and claims table come from the rows, by rule."""

import json

import numpy as np
from smfuse.reproduce import register, report, summary
from smfuse.reproduce.claims import decide, not_measured


def _v(values, direction="greater"):
    return decide(np.asarray(values, dtype=float), direction=direction)


GOOD = [0.010, 0.012, 0.009, 0.011, 0.010, 0.013]  # clearly above 0
BAD = [-0.010, -0.012, -0.009, -0.011, -0.010, -0.013]  # clearly below 0
MIXED = [0.02, -0.02, 0.01, -0.01, 0.015, -0.015]  # straddles 0


def test_reader_verdict_words():
    assert summary.reader_verdict([_v(GOOD)]) == "reproduced"
    assert summary.reader_verdict([_v(GOOD), _v(BAD)]) == "partly reproduced"
    assert summary.reader_verdict([_v(BAD)]) == "not reproduced"
    assert summary.reader_verdict([_v(MIXED)]) == "not reproduced"
    assert summary.reader_verdict([not_measured("no data: fetch it")]) == "not measured"
    assert summary.reader_verdict([not_measured("x"), _v(GOOD)]) == "reproduced"


def _run(tmp_path, rows):
    rep = report.Report("07-ground-truth", tmp_path / "07-ground-truth")
    for text, v, kw in rows:
        rep.claim(text, verdict=v, **kw)
    return summary.write_summary(tmp_path, ["07-ground-truth"], header=["Profile **test**.", ""],
                                 timings=["| notebook | status | seconds |"]).read_text()


def test_report_joins_rows_to_the_register_and_counts_only_the_papers_claims(tmp_path):
    text = _run(tmp_path, [
        ("MF beats MI on the truth", _v(BAD), dict(id="C6", subject="authors")),
        ("MF beats MI on the truth, ours", _v(MIXED), dict(id="C6", subject="retrain")),
        ("accurate mask", _v(GOOD), dict(id="C1", subject="authors")),
        ("38,339 parameters", not_measured("no weights"), dict(id="F1")),
        ("arm a converged", _v(GOOD), dict(section="appendix")),
    ])
    lines = text.splitlines()
    c6 = next(line for line in lines if line.startswith("| C6 |"))
    assert "**not reproduced** (refuted)" in c6 and "**not reproduced** (undecided)" in c6
    c1 = next(line for line in lines if line.startswith("| C1 |"))
    assert "**reproduced**" in c1
    # every claim of the register has a row, the untestable ones say why
    for c in register.claims():
        assert any(line.startswith(f"| {c.id} |") for line in lines), c.id
    c14 = next(line for line in lines if line.startswith("| C14 |"))
    assert "not testable here" in c14
    # the answer counts the paper's claims only (the appendix row does not enter it)
    n = len(register.claims())
    assert f"Of the paper's {n} claims, 1 are reproduced, 0 partly reproduced, 1 not reproduced" in text
    assert "(C6) is not reproduced on the authors' model" in text
    assert text.index("## The answer") < text.index("## The paper's claims") < text.index("## Appendix")
    appendix = text[text.index("## Appendix"):text.index("## Beyond the paper")]
    assert "arm a converged" in appendix and "arm a converged" not in text[:text.index("## Appendix")]


def test_holm_turns_a_lone_pass_into_undecided_in_a_family(tmp_path):
    # supported alone (one-sided p below 0.025) but not in a family of six (Holm asks p < 0.025 / 6 of the smallest)
    marginal = [0.004, 0.001, 0.003, -0.0005, 0.002, 0.0025]
    alone = _v(marginal)
    assert alone.verdict == "supported" and 0.025 / 6 < alone.p < 0.025, alone
    rows = [("MF beats MI", alone, dict(id="C6", subject="authors"))]
    rows += [(f"other {k}", _v(MIXED), dict(id="C7", subject="authors")) for k in range(5)]
    c6 = next(line for line in _run(tmp_path, rows).splitlines() if line.startswith("| C6 |"))
    assert "not reproduced** (undecided)" in c6


def test_claims_json_records_the_verdict_numbers(tmp_path):
    _run(tmp_path, [("MF beats MI", _v(BAD), dict(id="C6", subject="authors"))])
    row = json.loads((tmp_path / "07-ground-truth" / "claims.json").read_text())[0]
    assert row["detail"]["verdict"] == "refuted" and row["detail"]["high"] < 0
