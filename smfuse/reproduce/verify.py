"""Did a run reproduce the committed results? A reproduction's folder compared with ``results/``.

A reproduction answers one question: does running the code again give the numbers that are
committed? :func:`verify` reads what each notebook of a run wrote (``RUN/NN-name/claims.json``
and its CSV tables) and the same files of the committed ``results/``, and holds every
reported number to a tolerance stated for it in :data:`TOLERANCES`:

* each claim: the same verdict word (supported, refuted, inconclusive, not measured), and its
  estimate, interval and counts (``estimate``, ``low``, ``high``, ``n_pairs``, ``n_seeds``:
  from the claim's ``detail`` when both sides record it, else read back from the verdict
  text, to its printed precision);
* each CSV table, cell by cell: numbers within their tolerance, text identical, rows matched
  by their text columns (a pair's name, a method) and else by position.

Nothing of SUMMARY.md is read: its format is the report's, not a contract.

Each claim ends as **reproduced** (same verdict, every number within its tolerance, its
evidence table included), **differs** (another verdict, a number beyond its tolerance, a
text cell that changed, a row or claim that is new), **could not be checked** (this run did
not measure it: its verdict is *not measured*, its notebook failed or did not run, or numbers
of its evidence are absent from this run), or **timing** (a claim about speed on this
machine: reported, not compared).

The report, ``RUN/REPRODUCTION.md`` (the answer first, then a table per claim and per
table, the tolerances and the wall times), with ``RUN/reproduction.csv`` (one row per claim
and per table) and ``RUN/reproduction.json`` (everything, for scripts) beside it. Where
claims could not be checked because data is missing, the report gives the one command that
fetches it (``smfuse data fetch lytro authors ...``).

Exit status (:func:`verify` returns it; ``python -m smfuse.reproduce --profile full`` ends
with it)::

    0  REPRODUCED  every claim and every number of the notebooks that ran reproduced
    1  DIFFERS     something differs (a verdict, a number beyond its tolerance, a text)
    3  INCOMPLETE  nothing differs, but something could not be checked (data missing,
                   a notebook failed or did not run)

(2 is a usage error of the command line.) A difference outweighs what is missing: a run
that both differs and is incomplete exits 1.

``python -m smfuse.reproduce.verify RUN [--against results]`` verifies a finished run again.
"""

from __future__ import annotations

import argparse
import csv
import fnmatch
import json
import math
import os
import re
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path

# not smfuse.reproduce.report's REPO_ROOT: importing that module loads torch, which the site does not need
REPO_ROOT = Path(__file__).resolve().parents[2]

__all__ = ["verify", "plan", "Tolerance", "Rule", "TOLERANCES", "tolerance_for", "compare_tables", "fetch_command",
           "REPRODUCED", "DIFFERS", "INCOMPLETE", "STATUS_NAMES", "REPORT_MD", "REPORT_CSV", "REPORT_JSON",
           "Verification", "main"]

REPRODUCED, DIFFERS, INCOMPLETE = 0, 1, 3
STATUS_NAMES = {REPRODUCED: "REPRODUCED", DIFFERS: "DIFFERS", INCOMPLETE: "INCOMPLETE"}
REPORT_MD, REPORT_CSV, REPORT_JSON = "REPRODUCTION.md", "reproduction.csv", "reproduction.json"

# the outcome of one claim or one table
OK, DIFF, UNCHECKED, TIMED = "reproduced", "differs", "could not be checked", "timing"
_ABSENT = {"", "nan", "NaN", "n/a", "None", "none", "not measured"}
_VERDICT_WORDS = ("supported", "refuted", "inconclusive", "not measured")


# ----------------------------------------------------------------------------- tolerances


@dataclass(frozen=True)
class Tolerance:
    """How closely a rerun must give one kind of number.

    A number passes when ``|run - committed| <= atol + rtol * |committed|``; a ``timing``
    is not compared, only reported.

    Attributes
    ----------
    kind : str
        ``exact``, ``float64``, ``fixed weights``, ``trained`` or ``timing``.
    atol, rtol : float
        Absolute and relative tolerance (both 0: bit-identical).
    reason : str
        Why this tolerance, in a sentence.
    """

    kind: str
    atol: float = 0.0
    rtol: float = 0.0
    reason: str = ""

    @property
    def compared(self) -> bool:
        return self.kind != "timing"

    def allowed(self, committed: float) -> float:
        """The largest difference allowed from ``committed``."""
        return self.atol + self.rtol * abs(committed)

    def text(self) -> str:
        """``exact``, ``1e-12``, ``1e-06 + 1e-06 x |value|``, ``not compared (timing)``."""
        if not self.compared:
            return "not compared (timing)"
        if self.atol == 0 and self.rtol == 0:
            return "exact"
        if self.atol == self.rtol:
            return f"{self.atol:.0e} (absolute and relative)"
        parts = [f"{self.atol:g} absolute"] if self.atol else []
        parts += [f"{self.rtol:.0%} relative"] if self.rtol else []
        return " + ".join(parts)


@dataclass(frozen=True)
class Rule:
    """Which tolerance holds for a notebook's file and column (``fnmatch`` patterns)."""

    notebook: str
    file: str
    column: str
    tolerance: Tolerance

    def matches(self, notebook: str, file: str, column: str) -> bool:
        return (fnmatch.fnmatchcase(notebook, self.notebook) and fnmatch.fnmatchcase(file, self.file)
                and fnmatch.fnmatchcase(column, self.column))


EXACT = Tolerance("exact", reason="counts, settings and values read from committed files (checkpoint metadata, "
                                  "the study's logs): the same bytes in, the same numbers out")
FLOAT64 = Tolerance("float64", atol=1e-12, rtol=1e-12,
                    reason="numpy float64 on fixed images (the guided block, the filters, the closed forms): "
                           "bit-identical on one machine; 1e-12 leaves room only for the order in which another "
                           "CPU's vector units add")
FIXED_WEIGHTS = Tolerance("fixed weights", atol=1e-6, rtol=1e-6,
                          reason="the mask generator in float32 on fixed weights (shipped, the study's, the "
                                 "authors'), then float64 metrics: bit-identical on one machine and torch build; "
                                 "another CPU's float32 kernels round differently (about 1e-7), which 1e-6 "
                                 "absorbs; a changed mask moves these numbers by more")
TRAINED_AGREEMENT = Tolerance("trained", atol=0.02,
                              reason="trained in this run (600 steps, bfloat16 where the CPU computes it natively, "
                                     "else float32): another machine trains another network; MF/MI agreement "
                                     "within 0.02")
TRAINED_LOSS = Tolerance("trained", rtol=0.10,
                         reason="trained in this run (600 steps, bfloat16 where the CPU computes it natively, "
                                "else float32): another machine trains another network; losses within 10 %")
TIMING = Tolerance("timing", reason="wall time or speed on this machine: reported, not compared")

#: The tolerance of every reported number: the first rule that matches (notebook, file, column) holds.
#: ``claims.json`` stands for a claim's estimate, interval and counts.
TOLERANCES: tuple[Rule, ...] = (
    Rule("*", "claims.json", "n_pairs", EXACT),
    Rule("*", "claims.json", "n_seeds", EXACT),
    Rule("08-beyond-the-paper", "speed.csv", "*", TIMING),
    Rule("04-training", "log.csv", "step", EXACT),
    Rule("04-training", "log.csv", "seconds", TIMING),
    Rule("04-training", "log.csv", "patches_per_s", TIMING),
    Rule("04-training", "log.csv", "*agreement", TRAINED_AGREEMENT),
    Rule("04-training", "log.csv", "*", TRAINED_LOSS),
    Rule("04-training", "shipped_weights.csv", "*", EXACT),
    Rule("04-training", "time_to_quality.csv", "*", EXACT),
    Rule("03-mask-generator", "parameters.csv", "*", EXACT),
    Rule("01-repeated-blur", "*", "*", FLOAT64),
    Rule("02-guided-block", "*", "*", FLOAT64),
    Rule("06-ablations", "label_range.csv", "*", FLOAT64),
    Rule("*", "*", "*", FIXED_WEIGHTS),
)


def tolerance_for(notebook: str, file: str, column: str, rules: tuple[Rule, ...] = TOLERANCES) -> Tolerance:
    """The tolerance of one number: the first of ``rules`` that matches.

    Parameters
    ----------
    notebook : str
        ``NN-name``.
    file : str
        The table's file name, or ``claims.json`` for a claim's numbers.
    column : str
        The column (a claim's ``estimate``, ``low``, ``high``, ``n_pairs``, ``n_seeds``).
    """
    for rule in rules:
        if rule.matches(notebook, file, column):
            return rule.tolerance
    raise ValueError(f"no tolerance rule matches {notebook}/{file}:{column}; end the rules with ('*', '*', '*')")


# ----------------------------------------------------------------------------- one number at a time


@dataclass
class Tally:
    """What comparing a set of numbers found.

    ``worst``: ``(ratio, difference, tolerance text, where)`` of the number closest to (or
    furthest beyond) its tolerance; ratio ``inf`` for any difference where none is allowed.
    """

    compared: int = 0
    timing: int = 0
    missing: int = 0
    differ: int = 0
    examples: list = field(default_factory=list)  # the first differences, one line each
    missing_examples: list = field(default_factory=list)
    worst: tuple | None = None
    timing_pairs: list = field(default_factory=list)  # (committed, run) of the timings

    def add(self, other: "Tally") -> None:
        self.compared += other.compared
        self.timing += other.timing
        self.missing += other.missing
        self.differ += other.differ
        self.examples.extend(other.examples[:5 - min(5, len(self.examples))])
        self.missing_examples.extend(other.missing_examples[:3 - min(3, len(self.missing_examples))])
        self.timing_pairs.extend(other.timing_pairs)
        self._worst(other.worst)

    def _worst(self, cand) -> None:
        if cand is not None and (self.worst is None or cand[0] > self.worst[0]):
            self.worst = cand

    def number(self, committed: float, run: float, tol: Tolerance, where: str, *, printed: float = 0.0) -> None:
        """Compare one number; ``printed``: the rounding unit of numbers read back from text."""
        if not tol.compared:
            self.timing += 1
            if math.isfinite(committed) and math.isfinite(run):
                self.timing_pairs.append((committed, run))
            return
        self.compared += 1
        if math.isnan(committed) and math.isnan(run) or committed == run:
            diff = 0.0
        else:
            diff = abs(run - committed) if math.isfinite(committed) and math.isfinite(run) else math.inf
        allowed = tol.allowed(committed) if math.isfinite(committed) else 0.0
        tol_text = tol.text()
        if printed:
            # a number read back from text has only its printed digits: where the tolerance is below half
            # of the last digit, the printed text must be the same; else one unit more is allowed
            decimals = max(0, round(-math.log10(printed)))
            if allowed < printed / 2:
                allowed, tol_text = 0.0, f"identical to {decimals} decimals, as printed"
            else:
                allowed, tol_text = allowed + printed, f"{tol_text}, + 1 in the last of {decimals} printed decimals"
        ratio = 0.0 if diff == 0 else (diff / allowed if allowed > 0 else math.inf)
        self._worst((ratio, diff, tol_text, where))
        if ratio > 1:
            self.differ += 1
            if len(self.examples) < 5:
                self.examples.append(f"{where}: {committed:.10g} -> {run:.10g} (|difference| {_num(diff)}; "
                                     f"tolerance: {tol_text})")

    def text_cell(self, committed: str, run: str, where: str) -> None:
        self.compared += 1
        if committed != run:
            self.differ += 1
            self._worst((math.inf, math.inf, "identical text", where))
            if len(self.examples) < 5:
                self.examples.append(f"{where}: {_short(committed)!r} -> {_short(run)!r}")
        else:
            self._worst((0.0, 0.0, "identical text", where))

    def absent(self, n: int, where: str) -> None:
        self.missing += n
        if len(self.missing_examples) < 3:
            self.missing_examples.append(where)

    def new(self, where: str) -> None:
        self.differ += 1
        self._worst((math.inf, math.inf, "absent from the committed results", where))
        if len(self.examples) < 5:
            self.examples.append(f"{where}: new in this run, absent from the committed results")

    def worst_text(self) -> str:
        """``0 (bit-identical)``, ``2.2e-16 <= 1e-12 (file: column, row)`` or ``... > ...``."""
        if self.worst is None:
            return ""
        ratio, diff, tol, where = self.worst
        if diff == 0:
            return "0 (identical)"
        if diff == math.inf:
            return f"changed: {tol} ({where})"
        return f"{_num(diff)} {'<=' if ratio <= 1 else '>'} {tol} ({where})"

    def timing_text(self) -> str:
        pairs = [(c, r) for c, r in self.timing_pairs if c > 0]
        if not pairs:
            return ""
        ratios = sorted(r / c for c, r in pairs)
        return f"{len(self.timing_pairs)} timings, this run / committed: median {ratios[len(ratios) // 2]:.2f}"


def _num(x: float) -> str:
    if x == 0:
        return "0"
    if not math.isfinite(x):
        return str(x)
    return f"{x:.3g}" if 1e-3 <= abs(x) < 1e6 else f"{x:.2e}"


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _float(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


# ----------------------------------------------------------------------------- tables


def _read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return [], []
    header = rows[0]
    # an unnamed column (a pandas index, a second level) gets its position as its name
    header = [h if h else f"column {i + 1}" for i, h in enumerate(header)]
    return header, [r + [""] * (len(header) - len(r)) for r in rows[1:]]


def _row_keys(header: list[str], rows: list[list[str]]) -> list[tuple]:
    """Each row's key: its text columns (a pair's name, a method), then its place among equal keys."""
    text_cols = [j for j in range(len(header))
                 if rows and all(_float(r[j]) is None and r[j] not in _ABSENT for r in rows)]
    keys, seen = [], {}
    for r in rows:
        k = tuple(r[j] for j in text_cols)
        seen[k] = seen.get(k, 0) + 1
        keys.append((k, seen[k]))
    return keys


def _row_name(key: tuple) -> str:
    text, n = key
    return (" / ".join(text) + (f" #{n}" if n > 1 else "")) if text else f"row {n}"


def compare_tables(committed: Path, run: Path, notebook: str, *, rules: tuple[Rule, ...] = TOLERANCES) -> Tally:
    """Compare one CSV table of the committed results with the same table of a run, cell by cell.

    Rows are matched by their text columns (and, among rows alike in those, by order);
    columns by name. Numbers are held to :func:`tolerance_for` of their column; text must
    be identical. A committed number that the run leaves empty (``n/a``, NaN, a missing row,
    column or file) could not be checked; a row or column new in the run differs.

    Parameters
    ----------
    committed, run : Path
        The two CSV files (``run`` need not exist).
    notebook : str
        ``NN-name``, for the tolerance rules.

    Returns
    -------
    Tally
    """
    tally = Tally()
    name = committed.name
    header_c, rows_c = _read_csv(committed)
    def comparable(row: list[str]) -> int:  # the values of a row that would be compared (timings are not)
        return sum(1 for col, v in zip(header_c, row)
                   if v not in _ABSENT and tolerance_for(notebook, name, col, rules).compared)

    if not run.is_file():
        tally.absent(sum(comparable(r) for r in rows_c), f"{name} (absent from this run)")
        return tally
    header_r, rows_r = _read_csv(run)
    for col in header_r:
        if col not in header_c:
            tally.new(f"{name}: column {col}")
    keys_c, keys_r = _row_keys(header_c, rows_c), _row_keys(header_c, [_align(r, header_r, header_c)
                                                                       for r in rows_r])
    by_key = dict(zip(keys_r, rows_r))
    for key in keys_r:
        if key not in set(keys_c):
            tally.new(f"{name}: {_row_name(key)}")
    for key, row_c in zip(keys_c, rows_c):
        row_r = by_key.get(key)
        where_row = f"{name}: {_row_name(key)}"
        if row_r is None:
            tally.absent(comparable(row_c), f"{where_row} (absent from this run)")
            continue
        for j, col in enumerate(header_c):
            vc = row_c[j]
            tol = tolerance_for(notebook, name, col, rules)
            if col not in header_r:
                if vc not in _ABSENT and tol.compared:
                    tally.absent(1, f"{name}: column {col} (absent from this run)")
                continue
            vr = row_r[header_r.index(col)]
            where = f"{where_row}, {col}"
            if vc in _ABSENT:
                if vr not in _ABSENT and vr != vc:
                    tally.new(where)
                continue
            if vr in _ABSENT:
                if tol.compared:
                    tally.absent(1, where)
                continue
            fc, fr = _float(vc), _float(vr)
            if fc is not None and fr is not None:
                tally.number(fc, fr, tol, where)
            elif tol.compared:
                tally.text_cell(vc, vr, where)
    return tally


def _align(row: list[str], header_r: list[str], header_c: list[str]) -> list[str]:
    """A run's row in the committed table's column order (for keys): absent columns empty."""
    return [row[header_r.index(c)] if c in header_r else "" for c in header_c]


# ----------------------------------------------------------------------------- claims

_INTERVAL = re.compile(r"\(\s*([+-]?[0-9.]+(?:e[+-]?\d+)?)\s*\[\s*([+-]?[0-9.]+(?:e[+-]?\d+)?)\s*,\s*"
                       r"([+-]?[0-9.]+(?:e[+-]?\d+)?)\s*\]\s*;\s*(\d+)\s+pairs?(?:\s*x\s*(\d+)\s+seeds?)?", re.I)


def verdict_word(claim: dict) -> str:
    """The verdict's first word(s): supported, refuted, inconclusive or not measured (``''`` if none)."""
    text = (claim.get("verdict") or "").strip().lower()
    return next((w for w in _VERDICT_WORDS if text.startswith(w)), "")


def _claim_numbers(claim: dict) -> tuple[dict, float]:
    """A claim's estimate, interval and counts, and the rounding unit they were read with.

    From ``detail`` (full precision) when recorded, else read back from the verdict text
    (``supported (+0.1765 [+0.1499, +0.2036]; 24 pairs)``), whose digits set the unit.
    """
    d = claim.get("detail") or {}
    if all(k in d for k in ("estimate", "low", "high")):
        out = {k: (math.nan if d.get(k) is None else float(d[k])) for k in ("estimate", "low", "high")}
        for k in ("n_pairs", "n_seeds"):
            if d.get(k) is not None:
                out[k] = float(d[k])
        return out, 0.0
    m = _INTERVAL.search(claim.get("verdict") or "")
    if not m:
        return {}, 0.0
    est, lo, hi, n_pairs, n_seeds = m.groups()
    digits = max(len(x.split(".")[1].split("e")[0]) if "." in x else 0 for x in (est, lo, hi))
    out = {"estimate": float(est), "low": float(lo), "high": float(hi), "n_pairs": float(n_pairs)}
    if n_seeds:
        out["n_seeds"] = float(n_seeds)
    return out, 10.0 ** -digits


def _masked(text: str) -> str:
    """A claim's text with its numbers masked, to find the same claim in another run."""
    return re.sub(r"[+-]?\d[\d,]*(?:\.\d+)?(?:e[+-]?\d+)?", "#", " ".join((text or "").split()))


def _pair_claims(committed: list[dict], run: list[dict]) -> list[tuple[dict | None, dict | None]]:
    """Match the committed claims of a notebook with the run's: the same text up to its numbers
    (and register id and subject), in order; the rest in order of appearance."""
    def key(c):
        return (c.get("id", ""), c.get("subject", ""), _masked(c.get("claim", "")))

    free = list(range(len(run)))
    pairs, unmatched = [], []
    for c in committed:
        j = next((j for j in free if key(run[j]) == key(c)), None)
        if j is None:
            unmatched.append(c)
            pairs.append([c, None])
        else:
            free.remove(j)
            pairs.append([c, run[j]])
    # claims whose wording changed: paired in order, so that the change shows as a difference
    for p in pairs:
        if p[1] is None and free:
            p[1] = run[free.pop(0)]
    pairs.extend([None, run[j]] for j in free)
    return [tuple(p) for p in pairs]


@dataclass
class ClaimCheck:
    """One claim, the committed one beside this run's."""

    notebook: str
    claim: str
    committed_verdict: str
    run_verdict: str
    same_verdict: bool
    status: str
    numbers: Tally
    reason: str = ""
    file: str = ""

    def row(self) -> dict:
        return {"kind": "claim", "notebook": self.notebook, "item": self.claim, "file": self.file,
                "committed_verdict": self.committed_verdict, "run_verdict": self.run_verdict,
                "same_verdict": self.same_verdict, "numbers_compared": self.numbers.compared,
                "numbers_missing": self.numbers.missing, "numbers_differing": self.numbers.differ,
                "worst_difference": self.numbers.worst_text(), "status": self.status, "reason": self.reason}


@dataclass
class TableCheck:
    """One CSV table of a notebook, committed against this run."""

    notebook: str
    file: str
    status: str
    numbers: Tally
    tolerances: str

    def row(self) -> dict:
        return {"kind": "table", "notebook": self.notebook, "item": self.file, "file": self.file,
                "committed_verdict": "", "run_verdict": "", "same_verdict": "",
                "numbers_compared": self.numbers.compared, "numbers_missing": self.numbers.missing,
                "numbers_differing": self.numbers.differ, "worst_difference": self.numbers.worst_text(),
                "status": self.status,
                "reason": "; ".join(self.numbers.examples[:2] + self.numbers.missing_examples[:1]
                                    + ([self.numbers.timing_text()] if self.numbers.timing_pairs else []))}


def _table_status(t: Tally) -> str:
    if t.differ:
        return DIFF
    if t.missing:
        return UNCHECKED
    if t.compared == 0 and t.timing:
        return TIMED
    return OK


def _check_claim(notebook: str, committed: dict | None, run: dict | None, tables: dict, failed: str,
                 rules: tuple[Rule, ...]) -> ClaimCheck:
    text = (committed or run or {}).get("claim", "")
    file = (committed or run or {}).get("file", "") or ""
    cv = verdict_word(committed) if committed else ""
    rv = verdict_word(run) if run else ""
    tally = Tally()
    if committed is None:
        tally.new(f"claim {_short(text)!r}")
        return ClaimCheck(notebook, text, "", run.get("verdict", ""), False, DIFF, tally,
                          "new in this run: absent from the committed results", file)
    if run is None:
        why = failed or "this run recorded no such claim"
        tally.absent(1, f"claim {_short(text)!r}")
        return ClaimCheck(notebook, text, committed.get("verdict", ""), "", False, UNCHECKED, tally, why, file)
    timing = bool(file) and not tolerance_for(notebook, file, "*", rules).compared
    reasons = []
    if _masked(committed.get("claim", "")) != _masked(run.get("claim", "")):
        tally.text_cell(committed.get("claim", ""), run.get("claim", ""), "claim text")
        reasons.append("the claim's wording changed")
    if rv == "not measured":  # nothing of this run to compare, whatever the committed verdict
        tally.absent(1, "verdict")
        reason = "this run did not measure it: its verdict says why"
        return ClaimCheck(notebook, text, committed.get("verdict", ""), run.get("verdict", ""), cv == rv, UNCHECKED,
                          tally, reason, file)
    nc, unit_c = _claim_numbers(committed)
    nr, unit_r = _claim_numbers(run)
    if bool(unit_c) != bool(unit_r):  # one side has full precision, the other only the text
        nc, unit_c = _claim_numbers({"verdict": committed.get("verdict", "")})
        nr, unit_r = _claim_numbers({"verdict": run.get("verdict", "")})
    unit = max(unit_c, unit_r)
    for k in ("estimate", "low", "high", "n_pairs", "n_seeds"):
        if k not in nc and k not in nr:
            continue
        where = f"claim's {k}"
        if k not in nr:
            tally.absent(1, where)
            continue
        if k not in nc:
            tally.new(where)
            continue
        tol = TIMING if timing else tolerance_for(notebook, "claims.json", k, rules)
        tally.number(nc[k], nr[k], tol, where, printed=unit if k in ("estimate", "low", "high") else 0.0)
    if file and file in tables:
        tally.add(tables[file].numbers)
    same = cv == rv
    if timing:
        status = TIMED
        reasons.append("a claim about speed on this machine: reported, not compared")
    elif not same or tally.differ:
        status = DIFF
        if not same:
            reasons.insert(0, f"verdict {cv or '(none)'} -> {rv or '(none)'}")
        reasons.extend(tally.examples[:2])
    elif tally.missing:
        status = UNCHECKED
        reasons.append(f"{tally.missing} number(s) of its evidence absent from this run, e.g. "
                       f"{tally.missing_examples[0] if tally.missing_examples else '?'}")
    else:
        status = OK
    return ClaimCheck(notebook, text, committed.get("verdict", ""), run.get("verdict", ""), same, status, tally,
                      "; ".join(reasons), file)


# ----------------------------------------------------------------------------- the whole run


@dataclass
class Verification:
    """What :func:`verify` found.

    Attributes
    ----------
    status : int
        :data:`REPRODUCED`, :data:`DIFFERS` or :data:`INCOMPLETE`.
    claims, tables : list
        One :class:`ClaimCheck` per claim, one :class:`TableCheck` per CSV table.
    notebooks : list of str
        The notebooks compared.
    fetch : str or None
        The command that fetches the missing data, when claims could not be checked for it.
    report : Path
        ``REPRODUCTION.md`` (with ``reproduction.csv`` and ``reproduction.json`` beside it).
    """

    status: int
    claims: list
    tables: list
    notebooks: list
    fetch: str | None
    report: Path | None = None

    def counts(self) -> dict:
        out = {s: 0 for s in (OK, DIFF, UNCHECKED, TIMED)}
        for c in self.claims:
            out[c.status] += 1
        return out

    def line(self) -> str:
        """One line for a log: the answer, the counts, the report."""
        n = self.counts()
        tables = {s: sum(t.status == s for t in self.tables) for s in (OK, DIFF, UNCHECKED)}
        text = (f"reproduction: {STATUS_NAMES[self.status]} (exit {self.status}): {len(self.claims)} claims, "
                f"{n[OK]} reproduced, {n[DIFF]} differ, {n[UNCHECKED]} could not be checked"
                + (f", {n[TIMED]} timing (not compared)" if n[TIMED] else "")
                + f"; {len(self.tables)} tables, {tables[OK]} reproduced, {tables[DIFF]} differ, "
                  f"{tables[UNCHECKED]} could not be checked")
        return text


def plan(results: str | os.PathLike | None = None, *, rules: tuple[Rule, ...] = TOLERANCES) -> list[dict]:
    """What a run is held to, table by table: the committed results' CSV tables and their tolerances.

    Parameters
    ----------
    results : path, optional
        The committed results (default ``results/``).

    Returns
    -------
    list of dict
        One per notebook folder ``NN-name``, in order: ``notebook``, ``claims`` (how many it
        records) and ``tables``, a list of ``{'file', 'values', 'tolerances'}`` where
        ``tolerances`` maps each tolerance's text to the columns it holds for.
    """
    results = Path(results) if results is not None else REPO_ROOT / "results"
    out = []
    for nb in sorted(p for p in results.glob("[0-9][0-9]-*") if p.is_dir()):
        claims_file = nb / "claims.json"
        n_claims = len(json.loads(claims_file.read_text())) if claims_file.is_file() else 0
        tables = []
        for f in sorted(nb.glob("*.csv")):
            if f.name == "claims.csv":
                continue
            header, rows = _read_csv(f)
            by_tol: dict[str, list[str]] = {}
            for col in header:
                by_tol.setdefault(tolerance_for(nb.name, f.name, col, rules).text(), []).append(col)
            tables.append({"file": f.name, "values": sum(1 for r in rows for v in r if v not in _ABSENT),
                           "tolerances": by_tol})
        out.append({"notebook": nb.name, "claims": n_claims, "tables": tables})
    return out


def fetch_command(root: str | os.PathLike | None = None) -> str | None:
    """The one command that fetches every real data set not (wholly) in the data folder, or None."""
    from smfuse.data import fetch

    missing = [n for n in fetch.SETS if fetch.set_status(n, root)["state"] != "present"]
    return f"smfuse data fetch {' '.join(missing)}" if missing else None


def verify(run: str | os.PathLike, against: str | os.PathLike | None = None, *, notebooks=None,
           failed: dict | None = None, rules: tuple[Rule, ...] = TOLERANCES, write: bool = True,
           profile: str = "full") -> Verification:
    """Compare a run's folder with the committed results and write the reproduction report.

    Parameters
    ----------
    run : path
        The run's folder (``RUN/NN-name/claims.json`` and tables).
    against : path, optional
        The committed results (default ``results/`` of the checkout).
    notebooks : list of str, optional
        The notebooks that were selected for the run (``NN-name``); default: every notebook
        folder of the run. Each is compared, whether it ran or not.
    failed : dict, optional
        Notebook -> why it has no results (it failed, or did not run); its claims could not
        be checked.
    rules : tuple of Rule
        The tolerances (default :data:`TOLERANCES`).
    write : bool
        Write ``REPRODUCTION.md``, ``reproduction.csv`` and ``reproduction.json`` into ``run``.
    profile : str
        Named in the report.

    Returns
    -------
    Verification
        ``status`` is the exit status: :data:`REPRODUCED` (0), :data:`DIFFERS` (1) or
        :data:`INCOMPLETE` (3).
    """
    from smfuse.reproduce.report import load_claims

    run = Path(run)
    against = Path(against) if against is not None else REPO_ROOT / "results"
    if not run.is_dir():
        raise ValueError(f"run folder {run} does not exist; give the folder a reproduction wrote")
    if not against.is_dir():
        raise ValueError(f"committed results {against} do not exist; give the folder to compare with (--against)")
    if notebooks is None:
        notebooks = sorted(p.name for p in run.iterdir() if p.is_dir() and re.match(r"\d\d-", p.name))
    failed = dict(failed or {})
    claims, tables = [], []
    for nb in notebooks:
        c_dir, r_dir = against / nb, run / nb
        why = failed.get(nb, "")
        if not why and not (r_dir / "claims.json").is_file():
            why = "this run wrote no claims.json for the notebook"
        table_checks = {}
        if not why:
            for f in sorted(c_dir.glob("*.csv")) if c_dir.is_dir() else []:
                if f.name == "claims.csv":  # the same claims as claims.json
                    continue
                t = compare_tables(f, r_dir / f.name, nb, rules=rules)
                cols = _read_csv(f)[0]
                tols = sorted({tolerance_for(nb, f.name, c, rules).text() for c in cols} - {"exact"}) or ["exact"]
                table_checks[f.name] = TableCheck(nb, f.name, _table_status(t), t, ", ".join(tols))
            for f in sorted(r_dir.glob("*.csv")):
                if f.name != "claims.csv" and not (c_dir / f.name).is_file():
                    t = Tally()
                    t.new(f"{f.name} (absent from the committed results)")
                    table_checks[f.name] = TableCheck(nb, f.name, DIFF, t, "")
        tables.extend(table_checks.values())
        committed_claims = load_claims(c_dir)
        run_claims = [] if why else load_claims(r_dir)
        if not committed_claims and not run_claims:
            continue
        for cc, rc in _pair_claims(committed_claims, run_claims):
            claims.append(_check_claim(nb, cc, rc, table_checks, why, rules))
    statuses = {c.status for c in claims} | {t.status for t in tables}
    status = DIFFERS if DIFF in statuses else INCOMPLETE if (UNCHECKED in statuses or failed) else REPRODUCED
    unmeasured = [c for c in claims if c.status == UNCHECKED and verdict_word({"verdict": c.run_verdict})
                  == "not measured"]
    fetch = fetch_command() if unmeasured or any(t.status == UNCHECKED for t in tables) else None
    result = Verification(status, claims, tables, list(notebooks), fetch)
    if write:
        result.report = _write_report(result, run, against, failed, rules, profile)
    return result


# ----------------------------------------------------------------------------- the report


def _md(text) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _shown(path: Path) -> str:
    try:
        return Path(path).resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return Path(path).name


def _write_report(v: Verification, run: Path, against: Path, failed: dict, rules, profile: str) -> Path:
    n = v.counts()
    title = {REPRODUCED: "reproduced", DIFFERS: "differs from the committed results",
             INCOMPLETE: "incomplete"}[v.status]
    lines = [f"# Reproduction report: {title}", "",
             f"This run (`{_shown(run)}`, profile {profile}; notebooks {', '.join(v.notebooks) or 'none'}) compared "
             f"with the committed results (`{_shown(against)}`): **{STATUS_NAMES[v.status]}**, exit status "
             f"{v.status}. Of {len(v.claims)} claims, {n[OK]} reproduced, {n[DIFF]} differ, {n[UNCHECKED]} could "
             f"not be checked" + (f", {n[TIMED]} are timings (reported, not compared)" if n[TIMED] else "") + "; "
             f"{sum(t.numbers.compared for t in v.tables)} numbers in {len(v.tables)} tables compared, "
             f"{sum(t.numbers.differ for t in v.tables)} beyond their tolerance, "
             f"{sum(t.numbers.missing for t in v.tables)} absent from this run.", ""]
    if failed:
        lines += [f"Notebooks without results in this run: "
                  + "; ".join(f"{k} ({_md(w)})" for k, w in failed.items()) + ".", ""]
    unchecked = [c for c in v.claims if c.status == UNCHECKED]
    if unchecked or any(t.status == UNCHECKED for t in v.tables):
        lines += [f"**Could not be checked:** {len(unchecked)} claims"
                  + (f" ({', '.join(sorted({c.notebook[:2] for c in unchecked}))})" if unchecked else "")
                  + ", because this run did not measure them (verdict *not measured*: the data or weights they "
                    "need are missing) or has no results for them."]
        if v.fetch:
            lines += [f"Fetch what is missing with `{v.fetch}`, then run `python -m smfuse.reproduce --profile "
                      "full` again.", ""]
        else:
            lines += ["Every data set is in the data folder; each claim's reason says what else is missing.", ""]
    lines += ["Statuses: *reproduced*: the same verdict and every number within its tolerance (the claim's "
              "estimate, interval and counts, and its evidence table); *differs*: another verdict, a number "
              "beyond its tolerance or a changed text; *could not be checked*: this run did not measure it; "
              "*timing*: speed on this machine, reported and not compared.", "",
              "## Claims", "",
              "| notebook | claim | committed verdict | this run's verdict | same? | numbers compared | "
              "worst difference vs tolerance | status |",
              "|---|---|---|---|---|---:|---|---|"]
    for c in v.claims:
        why = ""
        if c.status == UNCHECKED:
            why = f" ({_md(c.reason)})"
        elif c.status == DIFF:
            why = (f" ({_md(c.reason.split(';')[0])})" if c.reason.startswith("verdict") else " (see below)")
        lines.append(f"| {c.notebook[:2]} | {_md(_short(c.claim, 120))} | {_md(c.committed_verdict) or '—'} | "
                     f"{_md(c.run_verdict) or '—'} | {'yes' if c.same_verdict else 'no'} | {c.numbers.compared} | "
                     f"{_md(c.numbers.worst_text()) or '—'} | **{c.status}**{why} |")
    if not v.claims:
        lines.append("| | (no claims) | | | | | | |")
    lines += ["", "## Tables", "",
              "Every CSV table the notebooks wrote, cell by cell (the claims' evidence included).", "",
              "| notebook | table | tolerance | numbers compared | absent from this run | worst difference vs "
              "tolerance | status |",
              "|---|---|---|---:|---:|---|---|"]
    for t in v.tables:
        note = "see below" if t.status == DIFF else t.numbers.timing_text()
        lines.append(f"| {t.notebook[:2]} | {_md(t.file)} | {_md(t.tolerances)} | {t.numbers.compared} | "
                     f"{t.numbers.missing} | {_md(t.numbers.worst_text()) or '—'} | **{t.status}**"
                     + (f" ({_md(note)})" if note else "") + " |")
    differing = [(f"{c.notebook[:2]} · claim {_short(c.claim, 80)!r}", c.reason, c.numbers) for c in v.claims
                 if c.status == DIFF] + [(f"{t.notebook[:2]} · {t.file}", "", t.numbers) for t in v.tables
                                         if t.status == DIFF]
    if differing:
        lines += ["", "## What differs", "",
                  "The first differences of each claim and table (a claim's list includes its evidence table's).", ""]
        for name, reason, tally in differing:
            first = [reason.split(";")[0]] if reason.startswith("verdict") else []
            lines.append(f"- **{_md(name)}**: {_md('; '.join(first + tally.examples[:3]))}"
                         + (f" ({tally.differ} numbers in all)" if tally.differ > 3 else ""))
    lines += ["", "## Tolerances", "",
              "The first rule that matches a number's notebook, file and column holds (`claims.json`: a claim's "
              "estimate, interval and counts; numbers read back from a verdict's text are compared at its printed "
              "precision). A number passes when |this run - committed| <= absolute + relative x |committed|.", "",
              "| notebook | file | column | tolerance | why |", "|---|---|---|---|---|"]
    for r in rules:
        lines.append(f"| {r.notebook} | {r.file} | {r.column} | {r.tolerance.text()} | {_md(r.tolerance.reason)} |")
    lines += ["", "## Wall time (reported, not compared)", ""]
    lines += _wall_time(run, against, v.notebooks)
    lines += ["", "## Exit status", "",
              "0: everything reproduced; 1: something differs (a difference outweighs what is missing); 3: "
              "incomplete, nothing differs but something could not be checked.", ""]
    path = run / REPORT_MD
    path.write_text("\n".join(lines))
    rows = [c.row() for c in v.claims] + [t.row() for t in v.tables]
    with open(run / REPORT_CSV, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=_CSV_FIELDS)
        w.writeheader()
        w.writerows(rows)
    doc = {"status": v.status, "status_name": STATUS_NAMES[v.status], "run": _shown(run), "against": _shown(against),
           "profile": profile, "notebooks": v.notebooks, "failed": failed, "fetch": v.fetch, "counts": n,
           "claims": [c.row() for c in v.claims], "tables": [t.row() for t in v.tables],
           "tolerances": [{**{k: getattr(r, k) for k in ("notebook", "file", "column")},
                           **asdict(r.tolerance), "text": r.tolerance.text()} for r in rules]}
    (run / REPORT_JSON).write_text(json.dumps(doc, indent=1) + "\n")
    return path


_CSV_FIELDS = ["kind", "notebook", "item", "file", "committed_verdict", "run_verdict", "same_verdict",
               "numbers_compared", "numbers_missing", "numbers_differing", "worst_difference", "status", "reason"]


def _wall_time(run: Path, against: Path, notebooks: list[str]) -> list[str]:
    def read(p: Path) -> dict:
        if not p.is_file():
            return {}
        with open(p, newline="") as f:
            return {r.get("notebook", ""): r.get("seconds", "") for r in csv.DictReader(f)}

    mine, theirs = read(run / "timings.csv"), read(against / "timings.csv")
    lines = ["| notebook | committed (s) | this run (s) |", "|---|---:|---:|"]
    for nb in notebooks:
        lines.append(f"| {nb} | {theirs.get(nb, '') or '—'} | {mine.get(nb, '') or '—'} |")
    return lines


# ----------------------------------------------------------------------------- command line


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m smfuse.reproduce.verify",
        description="Compare a finished run with the committed results and write RUN/REPRODUCTION.md. "
                    "Exit status: 0 everything reproduced, 1 something differs, 3 incomplete (something could "
                    "not be checked), 2 a usage error.")
    p.add_argument("run", help="the run's folder (e.g. runs/full-20260101-120000)")
    p.add_argument("--against", help="the committed results (default: results/ of the checkout)")
    args = p.parse_args(argv)
    try:
        v = verify(args.run, args.against)
    except ValueError as exc:
        print(f"smfuse verify: error: {exc}", file=sys.stderr)
        return 2
    print(v.line())
    if v.fetch:
        print(f"missing data: {v.fetch}")
    print(f"report: {_shown(v.report)}")
    return v.status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
