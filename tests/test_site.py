"""The static site: pages, links, math, course cells left out, refusals (no browser; see test_site_browser.py)."""

import html
import re

import pytest

from sitehelp import make_checkout, png_bytes
from smfuse.cli import main
from smfuse.reproduce.site import build_site, markdown_to_html


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    root = make_checkout(tmp_path_factory.mktemp("checkout"))
    build = build_site(root.parent / "site", root=root)
    return root, build


def test_pages_written(demo):
    root, b = demo
    site = b.out_dir
    names = sorted(p.relative_to(site).as_posix() for p in b.pages)
    assert names == ["01-demo.html", "benchmarks.html", "differences.html", "index.html", "reference-using.html",
                     "reference.html", "results/01-demo/curve.csv.html", "results/benchmarks.csv.html",
                     "verification.html"]
    assert b.pages[0] == site / "index.html"
    assert b.notebooks == ["01-demo"]
    # the figure output, the widget cell's static figure, and the thumbnail of results/01-demo/curve.png
    assert b.images == 3
    assert not list(site.parent.glob(".site.building"))


def test_landing_page_has_claims_table_with_verdicts(demo):
    _, b = demo
    idx = (b.out_dir / "index.html").read_text(encoding="utf-8")
    tables = re.findall(r"<table[^>]*>.*?</table>", idx, re.S)
    assert len(tables) == 2
    assert tables[0].startswith('<table class="claims">') and tables[1].startswith("<table>")
    head = re.search(r"<thead>(.*?)</thead>", tables[0], re.S).group(1)
    assert re.findall(r"<th[^>]*>(.*?)</th>", head) == ["claim", "ours", "authors' weights", "published",
                                                        "verdict", "evidence"]
    # the verdict word is the verdict; its colour only repeats it
    assert '<td class="verdict-reproduced">reproduced</td>' in tables[0]
    assert "<td>not tested</td>" in tables[0]
    assert "has no verdict column" not in idx


def test_links_point_at_pages(demo):
    _, b = demo
    site = b.out_dir
    idx = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="results/01-demo/curve.csv.html"' in idx
    assert 'href="01-demo.html"' in idx
    for page in b.pages:
        text = page.read_text(encoding="utf-8")
        for ref in re.findall(r'(?:href|src)="([^"#:]+)"', text):
            assert (page.parent / ref).exists(), f"{page.name}: {ref}"
    csv_page = (site / "results/01-demo/curve.csv.html").read_text(encoding="utf-8")
    assert "<td>0.0361</td>" in csv_page and 'href="curve.csv"' in csv_page
    assert (site / "results/01-demo/curve.csv").read_text().startswith("sigma,mean_S")
    assert (site / "results/01-demo/curve.png").read_bytes() == png_bytes(seed=2)


def test_notebook_page(demo):
    _, b = demo
    page = (b.out_dir / "01-demo.html").read_text(encoding="utf-8")
    imgs = re.findall(r'<img[^>]*src="([^"]+)"', page)
    outputs = [s for s in imgs if s.startswith("01-demo_files/")]
    assert len(outputs) == 2
    assert all((b.out_dir / s).read_bytes() == png_bytes(seed=1) for s in outputs)
    assert "<math" in page and "S = |I" not in page  # MathML, not TeX left for MathJax
    assert not re.search(r'<script[^>]*src="(https?:)?//', page)  # nothing fetched from the network
    for text in ("EXERCISE_STUB_TEXT", "SOLUTION_TEXT", "CHECK_TEXT", "IntSlider"):
        assert text not in page
    assert 'class="smfuse-nav"' in page and "curve.csv.html" in page
    # every code cell folds: one click on "code" shows it; outputs stay open
    code_cells = page.count('class="jp-Cell jp-CodeCell')
    assert code_cells and page.count('<details class="smfuse-code"><summary>code</summary>') == code_cells


def test_reference_pages(demo):
    _, b = demo
    ref = (b.out_dir / "reference-using.html").read_text(encoding="utf-8")
    assert "<h1" in ref and "Using the demo" in ref
    assert 'href="reference-using.html"' in (b.out_dir / "reference.html").read_text(encoding="utf-8")


def test_differences_and_benchmarks(demo):
    _, b = demo
    diff = (b.out_dir / "differences.html").read_text(encoding="utf-8")
    assert "A difference" in diff and "<math" in diff and "## Data" not in diff
    bench = (b.out_dir / "benchmarks.html").read_text(encoding="utf-8")
    assert "<td>MP/s</td>" in bench and "<td>2</td>" in bench


def test_verification_page(demo):
    _, b = demo
    page = (b.out_dir / "verification.html").read_text(encoding="utf-8")
    text = re.sub(r"<[^>]+>", "", page)
    assert "bash scripts/reproduce.sh --profile full" in text and "runs/<run>/REPRODUCTION.md" in html.unescape(text)
    assert '<a href="verification.html" class=current>Verify</a>' in page
    # the demo's one table, linked to its page, with the tolerance its columns are held to
    row = re.search(r"<tr>\s*<td>01-demo</td>.*?</tr>", page, re.S).group(0)
    assert 'href="results/01-demo/curve.csv.html"' in row
    assert "1e-06 (absolute and relative): sigma, mean_S" in row
    assert "<td>not compared (timing)</td>" in page  # the rules, with their reasons


def test_summary_without_verdicts_says_so(tmp_path):
    root = make_checkout(tmp_path / "c")
    s = root / "results" / "SUMMARY.md"
    s.write_text(s.read_text().replace(" verdict |", "").replace("|---|---|---|---|---|---|", "|---|---|---|---|---|")
                 .replace(" reproduced |", "").replace(" not tested |", ""))
    b = build_site(tmp_path / "site", root=root)
    idx = (b.out_dir / "index.html").read_text(encoding="utf-8")
    assert '<table class="claims">' in idx and "<th>verdict</th>" not in idx
    assert "has no verdict column" in idx


def test_rebuild_replaces_site(demo, tmp_path):
    root, _ = demo
    out = tmp_path / "site"
    build_site(out, root=root)
    (out / "stale.html").write_text("old")
    build_site(out, root=root)
    assert not (out / "stale.html").exists() and (out / "index.html").is_file()


def test_refusals_leave_everything_alone(demo, tmp_path):
    root, _ = demo
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("mine")
    with pytest.raises(ValueError, match="non-empty folder that holds no site"):
        build_site(busy, root=root)
    assert sorted(p.name for p in busy.iterdir()) == ["keep.txt"]
    with pytest.raises(ValueError, match="lies inside"):
        build_site(root / "results" / "site", root=root)
    assert not (root / "results" / "site").exists()
    with pytest.raises(ValueError, match="no results summary"):
        build_site(tmp_path / "out", root=tmp_path / "nowhere")
    assert not (tmp_path / "out").exists()


def test_cli_site(demo, tmp_path, capsys):
    root, _ = demo
    assert main(["site", "-o", str(tmp_path / "s"), "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert re.match(r"site: 9 pages \(1 notebooks\), 3 images, built in [\d.]+ s: .*index\.html", out)
    assert main(["site", "-o", str(tmp_path / "t"), "--root", str(tmp_path / "nowhere")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("smfuse: error:") and "no results summary" in err[0]


def test_markdown_tables_and_math():
    out = markdown_to_html("| claim | x |\n|---|---|\n| a | $x^2$ |\n\n| name | y |\n|---|---|\n| b | 1 |\n")
    assert out.count('<table class="claims">') == 1 and out.count("<table>") == 1
    assert "<msup>" in out
