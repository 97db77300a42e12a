"""Test helper: a small checkout (summary with a verdict column, one notebook, one table, one figure).

Shared by the site tests and the browser test. A module of its own for the reason given in
``datahelp.py``.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path

import nbformat
import numpy as np
from PIL import Image

SUMMARY = """# Reproduction summary

Profile **quick**.

## Claims

| claim | ours | authors' weights | published | verdict | evidence |
|---|---|---|---|---|---|
| Blurring a blurred image changes it less | 9.3x | n/a | qualitative | reproduced | [curve.csv](01-demo/curve.csv) |
| The notebook itself | yes | n/a | n/a | not tested | [01-demo.ipynb](01-demo/01-demo.ipynb) |

## Wall time

| notebook | seconds |
|---|---:|
| 01-demo | 1.0 |
"""

README = """# demo

## Where the released code and the paper differ

1. **A difference** with a formula $L = L_{gra} + 10 L_{map}$.

## Data
"""


def png_bytes(width: int = 24, height: int = 16, seed: int = 0) -> bytes:
    """A small random RGB PNG."""
    rng = np.random.default_rng(seed)
    buf = io.BytesIO()
    Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def demo_notebook() -> nbformat.NotebookNode:
    """A notebook with math, a figure output, a widget view, and course cells."""
    png = base64.b64encode(png_bytes(seed=1)).decode()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2,
                                                                          "version_minor": 0}}
    fig = nbformat.v4.new_code_cell("show_figure()", execution_count=1)
    fig.outputs = [nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"})]
    widget = nbformat.v4.new_code_cell("explorer()", execution_count=2)
    widget.outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
        nbformat.v4.new_output("display_data", data={
            "application/vnd.jupyter.widget-view+json": {"model_id": "abc", "version_major": 2, "version_minor": 0},
            "text/plain": "HBox(children=(IntSlider(value=7),))"}),
    ]
    ex = nbformat.v4.new_code_cell("def stub():\n    raise NotImplementedError('EXERCISE_STUB_TEXT')")
    ex.metadata["tags"] = ["exercise"]
    so = nbformat.v4.new_code_cell("def stub():\n    return 'SOLUTION_TEXT'")
    so.metadata["tags"] = ["solution"]
    ck = nbformat.v4.new_code_cell("check(stub())  # CHECK_TEXT")
    ck.metadata["tags"] = ["exercise-check"]
    nb.cells = [nbformat.v4.new_markdown_cell("# 01 · Demo\n\nThe subtraction map $S = |I - \\mathrm{blur}(I)|$."),
                fig, widget, ex, so, ck]
    return nb


def make_checkout(root: Path) -> Path:
    """Write the small checkout under ``root`` and return it."""
    (root / "results" / "01-demo").mkdir(parents=True)
    (root / "notebooks").mkdir()
    (root / "benchmarks").mkdir()
    (root / "results" / "SUMMARY.md").write_text(SUMMARY, encoding="utf-8")
    (root / "results" / "01-demo" / "curve.csv").write_text("sigma,mean_S\n0,0.0361\n4,0.0039\n", encoding="utf-8")
    (root / "results" / "01-demo" / "curve.png").write_bytes(png_bytes(seed=2))
    (root / "results" / "benchmarks.csv").write_text("benchmark,value,unit\nfuse,1.5,MP/s\n", encoding="utf-8")
    (root / "README.md").write_text(README, encoding="utf-8")
    (root / "benchmarks" / "README.md").write_text("# Benchmarks\n\n| a | b |\n|---|---|\n| 1 | 2 |\n",
                                                   encoding="utf-8")
    nbformat.write(demo_notebook(), root / "notebooks" / "01-demo.ipynb")
    (root / "notebooks" / "reference").mkdir()
    (root / "notebooks" / "reference" / "using.md").write_text("# Using the demo\n\nRun `demo`.\n", encoding="utf-8")
    return root
