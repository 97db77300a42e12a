"""The committed notebooks and results rendered into a static web site, without re-executing anything.

``smfuse site -o DIR`` (or :func:`build_site`) writes:

* ``index.html`` — the landing page: ``results/SUMMARY.md`` (the paper's claims, our numbers, the authors'
  weights, the published values, the verdicts where the summary has them, and links to the evidence);
* ``NN-name.html`` — one page per notebook, with its code, figures and tables as they were executed
  (the full-profile run in ``results/NN-name/`` when there is one, else the quick-profile outputs committed
  in ``notebooks/``), and a list of the notebook's result files;
* ``results/NN-name/FILE.csv.html`` — every CSV table of the results as an HTML table, beside the raw CSV;
* ``benchmarks.html`` — ``benchmarks/README.md`` and the table ``results/benchmarks.csv``;
* ``differences.html`` — where the released code and the paper differ (the README's section of that name);
* ``verification.html`` — how a reader verifies these results (the full reproduction and its report,
  ``runs/<run>/REPRODUCTION.md``) and what each committed table is held to (:mod:`smfuse.reproduce.verify`).

Markdown tables become HTML tables; the table whose header names a *claim* gets the class ``claims``.
Links in the summary to a result file point at its page (a notebook link at the notebook's page).

Why nbconvert and a hand-written index, and not Jupyter Book 2 / MyST or Sphinx with myst-nb:

* pip only, nothing new to install: nbconvert comes with jupyterlab (already pinned), and its own markdown
  renderer (mistune, with the math and table extensions nbconvert adds) renders the summary and the README
  sections the same way it renders the notebooks' markdown cells. Jupyter Book 2 runs the ``mystmd`` engine
  on Node.js, which is not a pip package; Sphinx with myst-nb and a theme adds half a dozen packages and a
  configuration to keep in step with the notebooks.
* no execution: the pages show the committed outputs, so a build takes seconds (about 10-20 s for seven
  notebooks on a 2-core machine) and cannot disagree with the committed results;
* readers get the notebooks exactly as JupyterLab shows them (nbconvert's ``lab`` template), and pages that
  work offline: figures are files next to the page, formulas are MathML (``latex2mathml``, rendered by the
  browser itself), and every script the template would fetch from a CDN (RequireJS, MathJax, the widget
  manager) is left out, so a page loads with no network and no console errors.

Cells tagged ``exercise``, ``solution`` or ``exercise-check`` (the course material, see
:mod:`smfuse.reproduce.course`) are left out of the pages, and so are live widget views (their static figure stays).
"""

from __future__ import annotations

import html
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlparse

__all__ = ["build_site", "SiteBuild", "markdown_to_html", "NOTEBOOK_PATTERN", "COURSE_TAGS"]

NOTEBOOK_PATTERN = "[0-9][0-9]-*.ipynb"
COURSE_TAGS = ("exercise", "solution", "exercise-check")
_WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
_FAVICON = '<link rel="icon" href="data:,">'

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1b1b1b;
       line-height: 1.5; }
nav.smfuse-nav { background: #20344c; padding: 0.5rem 1rem; position: sticky; top: 0; z-index: 100;
                 font-family: system-ui, sans-serif; font-size: 14px; line-height: 1.6; }
nav.smfuse-nav a { color: #fff; text-decoration: none; margin-right: 1rem; white-space: nowrap; }
nav.smfuse-nav a:hover { text-decoration: underline; }
nav.smfuse-nav a.current { font-weight: bold; border-bottom: 2px solid #f4c542; }
main { max-width: 1200px; margin: 0 auto; padding: 1rem 1.5rem 3rem; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #c8ccd0; padding: 0.3rem 0.5rem; vertical-align: top; text-align: left; }
th { background: #eef1f4; }
tbody tr:nth-child(even) { background: #f8f9fa; }
table.claims td:nth-child(2) { min-width: 22rem; }
.smfuse-note { background: #f4f6f8; border-left: 4px solid #20344c; padding: 0.5rem 1rem; margin: 1rem 0; }
code { background: #f2f2f2; padding: 0 0.2rem; }
.smfuse-files li { margin: 0.1rem 0; }
.smfuse-thumbs { display: flex; flex-wrap: wrap; gap: 0.5rem; }
img.smfuse-thumb { height: 110px; border: 1px solid #c8ccd0; background: #fff; }
details.smfuse-code > summary { cursor: pointer; color: #20344c; font-size: 0.8rem; padding: 0.1rem 2rem; }
.verdict-reproduced { background: #d9f2dc; }
.verdict-partly { background: #fff1c2; }
.verdict-not-reproduced { background: #f9d6d5; }
.verdict-untestable, .verdict-not-measured { background: #e8e8e8; }
"""


@dataclass
class SiteBuild:
    """What :func:`build_site` wrote.

    Attributes
    ----------
    out_dir : Path
    pages : list of Path
        Every HTML page written, the landing page first.
    notebooks : list of str
        The notebooks rendered (``"01-repeated-blur"`` ...), in order.
    images : int
        Image files referenced by the pages (figures of the notebooks and of the summary).
    seconds : float
        Wall time of the build.
    """

    out_dir: Path
    pages: list[Path] = field(default_factory=list)
    notebooks: list[str] = field(default_factory=list)
    images: int = 0
    seconds: float = 0.0


# ----------------------------------------------------------------------------- markdown and math

def _mathml(tex: str, display: bool) -> str:
    """TeX -> MathML (shown by the browser itself); the TeX as code if it cannot be converted."""
    from latex2mathml.converter import convert

    try:
        return convert(tex, display="block" if display else "inline")
    except Exception:  # an unsupported macro: show the source rather than fail the build
        return f"<code>{html.escape(tex)}</code>"


def _renderer_class():
    from nbconvert.filters.markdown_mistune import IPythonRenderer

    class _MathMLRenderer(IPythonRenderer):
        def inline_math(self, body: str) -> str:
            return _mathml(body, display=False)

        def block_math(self, body: str) -> str:
            return _mathml(body, display=True)

        def latex_environment(self, name: str, body: str) -> str:
            return _mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", display=True)

    return _MathMLRenderer


def markdown_to_html(text: str) -> str:
    """Markdown (tables, ``$...$`` and ``$$...$$`` math) to an HTML fragment.

    The renderer nbconvert uses for notebook markdown cells, with formulas written as MathML
    instead of being left for MathJax.

    Parameters
    ----------
    text : str
        Markdown source.

    Returns
    -------
    str
        HTML; tables whose header names a claim carry ``class="claims"``.
    """
    from nbconvert.filters.markdown_mistune import MarkdownWithMath

    out = MarkdownWithMath(renderer=_renderer_class()(escape=False)).render(text)
    return _mark_claims_tables(out)


_VERDICT_CLASSES = (("not testable here", "verdict-untestable"), ("not measured", "verdict-not-measured"),
                    ("partly reproduced", "verdict-partly"), ("not reproduced", "verdict-not-reproduced"),
                    ("reproduced", "verdict-reproduced"))


def _verdict_class(cell: str) -> str | None:
    text = re.sub(r"<[^>]+>", "", cell).lower()
    return next((cls for word, cls in _VERDICT_CLASSES if text.startswith(word)), None)


def _mark_claims_tables(fragment: str) -> str:
    def colour(m: re.Match) -> str:
        cls = _verdict_class(m.group(2))
        return f'<td class="{cls}"{m.group(1)}>{m.group(2)}</td>' if cls else m.group(0)

    def mark(m: re.Match) -> str:
        head = re.search(r"<thead>(.*?)</thead>", m.group(0), re.S)
        if head and re.search(r"<th[^>]*>[^<]*claim[^<]*</th>", head.group(1), re.I):
            table = m.group(0).replace("<table>", '<table class="claims">', 1)
            return re.sub(r"<td([^>]*)>(.*?)</td>", colour, table, flags=re.S)
        return m.group(0)

    return re.sub(r"<table>.*?</table>", mark, fragment, flags=re.S)


# ----------------------------------------------------------------------------- page frame

def _nav(prefix: str, notebooks: list[str], current: str) -> str:
    items = [("index.html", "Claims")] + [(f"{n}.html", n) for n in notebooks] + [
        ("benchmarks.html", "Benchmarks"), ("differences.html", "Code vs paper"), ("reference.html", "Reference"),
        ("verification.html", "Verify")]
    links = "".join(
        f'<a href="{prefix}{href}"{" class=current" if href == current else ""}>{html.escape(label)}</a>'
        for href, label in items)
    return f'<nav class="smfuse-nav">{links}</nav>'


def _page(title: str, body: str, *, prefix: str, notebooks: list[str], current: str) -> str:
    return (f"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>{html.escape(title)}</title>\n{_FAVICON}\n"
            f"<link rel=\"stylesheet\" href=\"{prefix}style.css\">\n</head>\n<body>\n"
            f"{_nav(prefix, notebooks, current)}\n<main>\n{body}\n</main>\n</body>\n</html>\n")


# ----------------------------------------------------------------------------- links

def _rewrite_links(fragment: str, *, src_dir: Path, results: Path, site: Path, page_dir: Path,
                   notebooks: list[str], copied: set[Path]) -> str:
    """Point relative links of a fragment (written beside ``src_dir``) at their pages in the site.

    A notebook link goes to the notebook's page, a CSV inside ``results`` to its table page, any
    other existing file inside ``results`` is copied into the site; other links are left alone.
    """

    def fix(m: re.Match) -> str:
        attr, ref = m.group(1), html.unescape(m.group(2))
        u = urlparse(ref)
        if u.scheme or u.netloc or ref.startswith("#") or not u.path:
            return m.group(0)
        target = (src_dir / unquote(u.path)).resolve()
        anchor = f"#{u.fragment}" if u.fragment else ""
        name = target.stem
        if target.suffix == ".ipynb" and name in notebooks:
            new = site / f"{name}.html"
        elif target.is_file() and _inside(target, results):
            rel = target.relative_to(results.resolve())
            new = site / "results" / rel
            if target.suffix == ".csv":
                new = new.with_name(new.name + ".html")
            else:
                _copy(target, new, copied)
        else:
            return m.group(0)
        return f'{attr}="{html.escape(os.path.relpath(new, page_dir))}{anchor}"'

    return re.sub(r'(href|src)="([^"]*)"', fix, fragment)


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _copy(src: Path, dst: Path, copied: set[Path]) -> None:
    if dst in copied:
        return
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(src, dst)
    copied.add(dst)


# ----------------------------------------------------------------------------- pages

def _csv_page(csv: Path, results: Path, site: Path, notebooks: list[str], copied: set[Path]) -> Path:
    import pandas as pd

    rel = csv.relative_to(results)
    raw = site / "results" / rel
    _copy(csv, raw, copied)
    page = raw.with_name(raw.name + ".html")
    prefix = "../" * (len(rel.parts))
    try:
        table = pd.read_csv(csv).to_html(index=False, na_rep="", border=0, escape=True)
    except Exception as exc:  # an empty or malformed table: say so on the page
        table = f"<p>(could not be read as a table: {html.escape(str(exc))})</p>"
    nb = rel.parts[0] if rel.parts[0] in notebooks else None
    back = (f'<p>From notebook <a href="{prefix}{nb}.html">{nb}</a>.</p>' if nb else "")
    body = (f"<h1><code>results/{html.escape(rel.as_posix())}</code></h1>\n{back}\n"
            f'<p><a href="{html.escape(raw.name)}">Download the CSV</a></p>\n{table}')
    page.write_text(_page(rel.as_posix(), body, prefix=prefix, notebooks=notebooks, current=""),
                    encoding="utf-8")
    return page


def _clean_notebook(nb) -> None:
    """Leave out course cells and live widget views (their static output stays)."""
    nb.cells = [c for c in nb.cells if not set(c.get("metadata", {}).get("tags", [])) & set(COURSE_TAGS)]
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is not None and _WIDGET_VIEW in data:
                continue  # a widget's view: nothing to show without a kernel
            kept.append(out)
        cell.outputs = kept


def _exporter():
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import MarkdownWithMath
    from nbconvert.preprocessors import ExtractOutputPreprocessor

    renderer_cls = _renderer_class()

    from jinja2 import pass_context

    class _Exporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context, source):
            cell = context.get("cell", {})
            renderer = renderer_cls(escape=False, attachments=cell.get("attachments", {}),
                                    anchor_link_text=self.anchor_link_text,
                                    exclude_anchor_links=self.exclude_anchor_links)
            return MarkdownWithMath(renderer=renderer).render(source)

    import jinja2

    ex = _Exporter(template_name="lab", extra_loaders=[jinja2.DictLoader({"smfuse_fold.html.j2": _FOLD_TEMPLATE})],
                   template_file="smfuse_fold.html.j2")
    ex.register_preprocessor(ExtractOutputPreprocessor(), enabled=True)
    return ex


# Code cells fold: a click on "code" shows the cell, so that figures, tables and prose lead the page.
_FOLD_TEMPLATE = """{%- extends 'lab/index.html.j2' -%}
{% block input_group %}
{%- if cell.cell_type == 'code' -%}
<details class="smfuse-code"><summary>code</summary>
{{ super() }}
</details>
{%- else -%}{{ super() }}{%- endif -%}
{% endblock input_group %}
"""


def _notebook_page(name: str, source: Path, origin: str, files: list[Path], results: Path, site: Path,
                   notebooks: list[str], exporter) -> tuple[Path, int]:
    import nbformat

    nb = nbformat.read(source, as_version=4)
    _clean_notebook(nb)
    files_dir = f"{name}_files"
    body, res = exporter.from_notebook_node(nb, resources={"output_files_dir": files_dir,
                                                           "metadata": {"name": name}})
    for rel, data in res.get("outputs", {}).items():
        out = site / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_bytes(data)
    # Scripts the template would fetch from the network (RequireJS, MathJax, the widget manager).
    body = re.sub(r'<script[^>]*\bsrc="(?:https?:)?//[^"]*"[^>]*>\s*</script>', "", body)
    body = re.sub(r'<script type="text/x-mathjax-config">.*?</script>', "", body, flags=re.S)
    tables, figures = [], []
    for f in files:
        href = html.escape(f"results/{f.relative_to(results).as_posix()}")
        if f.suffix == ".csv":
            tables.append(f'<li><a href="{href}.html">{html.escape(f.name)}</a></li>')
        else:
            figures.append(f'<a href="{href}" title="{html.escape(f.name)}"><img class="smfuse-thumb" '
                           f'src="{href}" alt="{html.escape(f.name)}"></a>')
    banner = (f'<div class="smfuse-note" style="margin: 1rem 2rem;"><strong>{html.escape(name)}</strong>: '
              f"{html.escape(origin)}."
              + (f"<p>Figures in <code>results/{html.escape(name)}/</code>:</p>"
                 f"<div class=\"smfuse-thumbs\">{''.join(figures)}</div>" if figures else "")
              + (f"<p>Tables:</p><ul class=\"smfuse-files\">{''.join(tables)}</ul>" if tables else "")
              + "</div>")
    head_extra = f'{_FAVICON}\n<link rel="stylesheet" href="style.css">\n'
    body = body.replace("</head>", head_extra + "</head>", 1)
    body = re.sub(r"(<body[^>]*>)", lambda m: m.group(1) + _nav("", notebooks, f"{name}.html") + banner,
                  body, count=1)
    page = site / f"{name}.html"
    page.write_text(body, encoding="utf-8")
    n_img = len(figures) + sum(1 for k in res.get("outputs", {})
                               if k.lower().endswith((".png", ".jpg", ".jpeg", ".svg", ".gif")))
    return page, n_img


def _has_verdicts(fragment: str) -> bool:
    """Whether a claims table of the fragment has a verdict column (or a reader's verdict in its cells)."""
    for table in re.findall(r'<table class="claims">.*?</table>', fragment, re.S):
        head = re.search(r"<thead>.*?</thead>", table, re.S)
        if (head and re.search(r"<th[^>]*>\s*verdict\s*</th>", head.group(0), re.I)) or 'class="verdict-' in table:
            return True
    return False


def _readme_section(readme: Path, heading: str) -> str | None:
    if not readme.is_file():
        return None
    text = readme.read_text(encoding="utf-8")
    m = re.search(rf"^##\s+{re.escape(heading)}\s*$(.*?)(?=^##\s|\Z)", text, re.M | re.S)
    return m.group(1).strip() if m else None


def build_site(out_dir: str | os.PathLike, *, root: str | os.PathLike | None = None) -> SiteBuild:
    """Render the committed notebooks and results of a checkout into a static site.

    Nothing is executed: the notebooks' saved outputs are shown as they are.

    Parameters
    ----------
    out_dir : path
        Folder to write; created if missing. Must be empty or absent, or hold a site written
        by an earlier build (an ``index.html``), which is replaced.
    root : path, optional
        The checkout: ``results/`` (``SUMMARY.md``, ``NN-name/``), ``notebooks/``, ``README.md``,
        ``benchmarks/README.md``. Default: the repository holding this package.

    Returns
    -------
    SiteBuild

    Raises
    ------
    ValueError
        ``root`` has no ``results/SUMMARY.md`` or no notebooks; ``out_dir`` is a file, or a
        non-empty folder that is not a site, or lies inside ``root``'s results or notebooks.
    """
    from smfuse.reproduce.report import REPO_ROOT

    t0 = time.perf_counter()
    root = Path(root).expanduser() if root is not None else REPO_ROOT
    results, nb_dir = root / "results", root / "notebooks"
    summary = results / "SUMMARY.md"
    if not summary.is_file():
        raise ValueError(f"{summary}: no results summary; run `smfuse reproduce` first, "
                         "or pass the root of a checkout that has results/SUMMARY.md")
    committed = {p.stem: p for p in sorted(nb_dir.glob(NOTEBOOK_PATTERN))}
    executed = {p.parent.name: p for p in sorted(results.glob("[0-9][0-9]-*/[0-9][0-9]-*.ipynb"))
                if p.stem == p.parent.name}
    notebooks = sorted(set(committed) | set(executed))
    if not notebooks:
        raise ValueError(f"no notebooks (NN-name.ipynb) under {nb_dir} or {results}")
    out = Path(out_dir).expanduser()
    if out.exists() and not out.is_dir():
        raise ValueError(f"output {out} is a file; give a folder for the site")
    for protected in (results, nb_dir):
        if _inside(out, protected) or out.resolve() == protected.resolve():
            raise ValueError(f"output {out} lies inside {protected}; write the site elsewhere (e.g. build/site)")
    if out.is_dir() and any(out.iterdir()) and not (out / "index.html").is_file():
        raise ValueError(f"output {out} is a non-empty folder that holds no site; give an empty or new folder")

    # Build into a fresh folder beside the target, then swap it in: never a half-written site.
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(out.parent) / f".{out.name}.building"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        build = _build(tmp, results, summary, committed, executed, notebooks, root)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)
    build.out_dir = out
    build.pages = [out / p.relative_to(tmp) for p in build.pages]
    build.seconds = time.perf_counter() - t0
    return build


def _build(site: Path, results: Path, summary: Path, committed: dict, executed: dict, notebooks: list[str],
           root: Path) -> SiteBuild:
    build = SiteBuild(out_dir=site, notebooks=notebooks)
    copied: set[Path] = set()
    (site / "style.css").write_text(_CSS, encoding="utf-8")

    # Every CSV of the results as a table page.
    csv_pages = {}
    for csv in sorted(results.rglob("*.csv")):
        if any(part.startswith(".") for part in csv.relative_to(results).parts):
            continue
        csv_pages[csv] = _csv_page(csv, results, site, notebooks, copied)

    # Landing page: the summary of claims.
    frag = markdown_to_html(summary.read_text(encoding="utf-8"))
    frag = _rewrite_links(frag, src_dir=summary.parent, results=results, site=site, page_dir=site,
                          notebooks=notebooks, copied=copied)
    intro = ("" if _has_verdicts(frag) else
             '<div class="smfuse-note">This summary has no verdict column yet: it was written before the '
             "reproduction graded its claims.</div>")
    index = site / "index.html"
    index.write_text(_page("SMFuse replication: claims", intro + frag, prefix="", notebooks=notebooks,
                           current="index.html"), encoding="utf-8")
    build.pages.append(index)
    build.images += frag.count("<img")

    # One page per notebook.
    exporter = _exporter()
    for name in notebooks:
        if name in executed:
            source, origin = executed[name], (f"as executed into results/{name}/ by the reproduction "
                                              "(the profile is named in results/SUMMARY.md)")
        else:
            source, origin = committed[name], "as committed in notebooks/ (quick-profile outputs)"
        files = sorted(p for p in (results / name).glob("*") if p.is_file() and p.suffix in (".csv", ".png"))
        for f in files:
            if f.suffix == ".png":
                _copy(f, site / "results" / f.relative_to(results), copied)
        page, n_img = _notebook_page(name, source, origin, files, results, site, notebooks, exporter)
        build.pages.append(page)
        build.images += n_img

    # Benchmarks.
    parts = []
    bench_readme = root / "benchmarks" / "README.md"
    bench_csv = results / "benchmarks.csv"
    if bench_csv in csv_pages:
        import pandas as pd

        parts.append('<h2>Measured (<a href="results/benchmarks.csv.html">results/benchmarks.csv</a>)</h2>')
        parts.append(pd.read_csv(bench_csv).to_html(index=False, na_rep="", border=0))
    timings = results / "timings.csv"
    if timings in csv_pages:
        import pandas as pd

        parts.append('<h2>Wall time of each notebook (<a href="results/timings.csv.html">'
                     "results/timings.csv</a>)</h2>")
        parts.append(pd.read_csv(timings).to_html(index=False, na_rep="", border=0))
    if bench_readme.is_file():
        frag = markdown_to_html(bench_readme.read_text(encoding="utf-8"))
        parts.append(_rewrite_links(frag, src_dir=bench_readme.parent, results=results, site=site,
                                    page_dir=site, notebooks=notebooks, copied=copied))
    if not parts:
        parts.append("<p>No benchmarks recorded (results/benchmarks.csv is absent).</p>")
    page = site / "benchmarks.html"
    page.write_text(_page("Benchmarks", "<h1>Benchmarks</h1>\n" + "\n".join(parts), prefix="",
                          notebooks=notebooks, current="benchmarks.html"), encoding="utf-8")
    build.pages.append(page)

    # Reference pages (notebooks/reference/*.md): one page each, and an index.
    ref_dir = root / "notebooks" / "reference"
    refs = sorted(ref_dir.glob("*.md")) if ref_dir.is_dir() else []
    listing = []
    for md in refs:
        frag = _rewrite_links(markdown_to_html(md.read_text(encoding="utf-8")), src_dir=md.parent, results=results,
                              site=site, page_dir=site, notebooks=notebooks, copied=copied)
        title = next((ln[2:].strip() for ln in md.read_text(encoding="utf-8").splitlines() if ln.startswith("# ")),
                     md.stem)
        page = site / f"reference-{md.stem}.html"
        page.write_text(_page(title, frag, prefix="", notebooks=notebooks, current="reference.html"), encoding="utf-8")
        build.pages.append(page)
        listing.append(f'<li><a href="{page.name}">{html.escape(title)}</a></li>')
    page = site / "reference.html"
    page.write_text(_page("Reference", "<h1>Reference</h1>\n<ul>" + "".join(listing) + "</ul>", prefix="",
                          notebooks=notebooks, current="reference.html"), encoding="utf-8")
    build.pages.append(page)

    # Code vs paper.
    diff_page = ref_dir / "code-vs-paper.md"
    section = (re.sub(r"^# .*\n", "", diff_page.read_text(encoding="utf-8"), count=1) if diff_page.is_file()
               else _readme_section(root / "README.md", "Where the released code and the paper differ"))
    body = ("<h1>Where the released code and the paper differ</h1>\n"
            + (markdown_to_html(section) if section else "<p>(no code-vs-paper page in this checkout.)</p>"))
    if "06-ablations" in notebooks:
        body += '\n<p>Notebook <a href="06-ablations.html">06-ablations</a> measures what each difference does.</p>'
    page = site / "differences.html"
    page.write_text(_page("Code vs paper", body, prefix="", notebooks=notebooks, current="differences.html"),
                    encoding="utf-8")
    build.pages.append(page)

    # Verify: how a reader checks these results, and what each committed table is held to.
    page = site / "verification.html"
    page.write_text(_page("Verify these results", _verification(results, csv_pages, site), prefix="",
                          notebooks=notebooks, current="verification.html"), encoding="utf-8")
    build.pages.append(page)

    build.pages.extend(csv_pages.values())
    return build


def _verification(results: Path, csv_pages: dict, site: Path) -> str:
    """The verification page: the command, the report it writes, and the committed tables' tolerances."""
    from smfuse.reproduce import verify

    intro = f"""# Verify these results

Every number on this site comes from one run of the notebooks in the full profile. To check it on your machine:

```bash
bash scripts/reproduce.sh --profile full      # or: python -m smfuse.reproduce --profile full [--only 02 ...]
```

The run fetches the data, writes a fresh folder `runs/full-YYYYmmdd-HHMMSS/` (the committed `results/` are never
rewritten) and ends with its reproduction report, `runs/<run>/{verify.REPORT_MD}`, with `{verify.REPORT_CSV}` and
`{verify.REPORT_JSON}` beside it: for every claim, the committed verdict beside your run's, whether they are the same,
how many numbers were compared and the worst difference against its tolerance, and a status: *reproduced*,
*differs*, *could not be checked* (your run did not measure it: the report names the one command that fetches
the missing data) or *timing* (speed on your machine, reported and not compared). Its exit status says the
same to a script: 0 everything reproduced, 1 something differs, 3 incomplete (something could not be checked).
`python -m smfuse.reproduce.verify runs/<run>` checks a finished run again.

## What each committed table is held to

Each number must come back within the tolerance stated for its notebook, table and column; text cells (a pair's
name, a method) must come back identical; a claim's verdict must be the same word, and its estimate, interval and
counts are held to its notebook's tolerance.
"""
    lines = [intro, "| notebook | claims | table | values | tolerance: columns |", "|---|---:|---|---:|---|"]
    for nb in verify.plan(results):
        tables = nb["tables"] or [None]
        for k, t in enumerate(tables):
            head = f"| {nb['notebook']} | {nb['claims']} |" if k == 0 else "| | |"
            if t is None:
                lines.append(head + " (no tables) | | |")
                continue
            csv_file = results / nb["notebook"] / t["file"]
            name = (f"[{t['file']}]({os.path.relpath(csv_pages[csv_file], site)})" if csv_file in csv_pages
                    else t["file"])
            tols = "; ".join(f"{tol}: {', '.join(cols)}" for tol, cols in t["tolerances"].items())
            lines.append(f"{head} {name} | {t['values']} | {tols.replace('|', '&#124;')} |")
    lines += ["", "## The tolerances, and why", "",
              "The first rule that matches a number's notebook, file and column holds (`claims.json` stands for a "
              "claim's estimate, interval and counts). A number passes when |run - committed| <= absolute + "
              "relative x |committed|.", "",
              "| notebook | file | column | tolerance | why |", "|---|---|---|---|---|"]
    for r in verify.TOLERANCES:
        lines.append(f"| {r.notebook} | {r.file} | {r.column} | {r.tolerance.text()} | {r.tolerance.reason} |")
    return markdown_to_html("\n".join(lines))
