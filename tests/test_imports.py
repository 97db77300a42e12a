"""The package's import graph: no circle (module-level and deferred imports alike), and the floors.

The graph is read from the source (every ``import`` statement, wherever it stands), so
an import deferred into a function counts as much as one at the top.
"""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "smfuse"

# The floors follow the folders (README's layout): a module may import its own floor and
# those below, never one above. A folder's entry covers every module in it.
FLOORS = {
    "smfuse.io": 0,               # the input contract
    "smfuse.method": 1,           # the method itself, in paper order
    "smfuse.data": 1,             # data sets and fetching
    "smfuse.runtime": 2,          # training harness, fast path, precision, weight formats, inference
    "smfuse.evaluation": 3,       # metrics, baselines, peers, the method registry
    "smfuse.reproduce": 4,        # claims, report, papermill, site, course, study
    "smfuse.cli": 5, "smfuse.__main__": 5,
}


def _modules() -> dict[str, Path]:
    mods = {}
    for p in PACKAGE.rglob("*.py"):
        parts = ("smfuse",) + p.relative_to(PACKAGE).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = p
    return mods


def _graph(mods: dict[str, Path]) -> dict[str, set[str]]:
    """Module -> the package modules it imports (a ``from X import name`` of a submodule counts)."""
    graph = {}
    for mod, path in mods.items():
        package = mod if path.name == "__init__.py" else mod.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    src = ".".join(base + ([node.module] if node.module else []))
                else:
                    src = node.module or ""
                names = [src] + [f"{src}.{a.name}" for a in node.names]
            else:
                continue
            targets |= {n for n in names if n in mods and n != mod}
        graph[mod] = targets - {"smfuse"}  # the package face (__version__) may be read by anyone
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    found, state, stack = [], {}, []

    def visit(u):
        state[u] = "open"
        stack.append(u)
        for v in sorted(graph[u]):
            if state.get(v) == "open":
                found.append(stack[stack.index(v):] + [v])
            elif v not in state:
                visit(v)
        stack.pop()
        state[u] = "done"

    for m in sorted(graph):
        if m not in state:
            visit(m)
    return found


def _floor(mod: str) -> int | None:
    while mod:
        if mod in FLOORS:
            return FLOORS[mod]
        mod = mod.rpartition(".")[0]
    return None


def test_the_checker_sees_deferred_imports_and_circles(tmp_path, monkeypatch):
    pkg = tmp_path / "smfuse"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from .b import g\n")
    (pkg / "b.py").write_text("from smfuse import a\n")
    monkeypatch.setitem(globals(), "PACKAGE", pkg)
    graph = _graph(_modules())
    assert graph == {"smfuse": set(), "smfuse.a": {"smfuse.b"}, "smfuse.b": {"smfuse.a"}}
    assert _cycles(graph) == [["smfuse.a", "smfuse.b", "smfuse.a"]]


def test_no_import_circle():
    mods = _modules()
    assert {"smfuse.cli", "smfuse.runtime.distributed", "smfuse.runtime.weights", "smfuse.runtime.tensorbundle"} <= set(mods)
    cycles = _cycles(_graph(mods))
    assert not cycles, "import circles: " + "; ".join(" -> ".join(c) for c in cycles)


def test_no_module_imports_one_above_it():
    graph = _graph(_modules())
    unplaced = sorted(m for m in graph if m != "smfuse" and _floor(m) is None)
    assert not unplaced, f"give these modules a floor in FLOORS (and ARCHITECTURE.md): {unplaced}"
    upward = [f"{m} (floor {_floor(m)}) imports {t} (floor {_floor(t)})"
              for m, ts in sorted(graph.items()) if m != "smfuse" for t in sorted(ts) if _floor(t) > _floor(m)]
    assert not upward, "; ".join(upward)
    assert graph["smfuse.runtime.tensorbundle"] == set()  # the bundle codec stands on nothing of ours
    method = {t for m, ts in graph.items() if m.startswith("smfuse.method") for t in ts}
    assert method <= {m for m in graph if m.startswith("smfuse.method")} | {"smfuse.io"}  # the method reads alone
