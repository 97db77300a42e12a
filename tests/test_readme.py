"""README.md: at most 8 KB, its answer is the report's answer word for word, and every link it gives exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _answer(text: str) -> str:
    """The paragraph under '## The answer' (README: between its markers)."""
    m = re.search(r"<!-- answer:.*?-->\n(.*?)\n<!-- /answer -->", text, re.S)
    if m:
        return m.group(1).strip()
    m = re.search(r"^## The answer\s*\n\n(.*?)\n\n", text, re.S | re.M)
    assert m, "no '## The answer' paragraph"
    return m.group(1).strip()


def test_readme_is_short_and_leads_with_the_answer():
    assert len(README.encode("utf-8")) <= 8192
    head = "\n".join(README.splitlines()[:40])
    assert "## The answer" in head and "## Two commands" in head


def test_readme_quotes_the_committed_reports_answer():
    summary = (ROOT / "results" / "SUMMARY.md").read_text(encoding="utf-8")
    assert _answer(README) == _answer(summary), "copy the answer of results/SUMMARY.md into README.md"


def test_readme_links_exist():
    for target in re.findall(r"\]\(([^)#]+)\)", README):
        if not target.startswith("http"):
            assert (ROOT / target).exists(), target
