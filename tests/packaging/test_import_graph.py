"""The package's import graph: no module-level import cycles, and data flows one way
(decode → artifacts → metrics → records → aggregates → report; docs/architecture.md).

Read from the source with ``ast`` (no imports run). Module-level imports make the cycle graph
(imports inside functions are lazy, by design, and ``if TYPE_CHECKING:`` blocks never run); the
layer rules look at every import, lazy ones included.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def _modules(src: Path, package: str) -> dict[str, Path]:
    out = {}
    for f in (src / package).rglob("*.py"):
        name = ".".join(f.relative_to(src).with_suffix("").parts)
        out[name.removesuffix(".__init__")] = f
    return out


def _targets(mods: dict[str, Path], cur: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(node, ast.Import):
        names = [a.name for a in node.names]
    else:
        if node.level:
            base = cur if mods[cur].name == "__init__.py" else cur.rsplit(".", 1)[0]
            for _ in range(node.level - 1):
                base = base.rsplit(".", 1)[0]
            mod = base + ("." + node.module if node.module else "")
        else:
            mod = node.module or ""
        names = [f"{mod}.{a.name}" if f"{mod}.{a.name}" in mods else mod for a in node.names]
    out = set()
    for t in names:
        while t and t not in mods and "." in t:
            t = t.rsplit(".", 1)[0]
        if t in mods and t != cur:
            out.add(t)
    return out


def import_graph(src: Path, package: str, module_level_only: bool) -> dict[str, set[str]]:
    mods = _modules(src, package)
    graph: dict[str, set[str]] = {}
    for m, f in mods.items():
        tree = ast.parse(f.read_text("utf-8"))
        nodes: list[ast.AST] = []
        if module_level_only:
            for n in tree.body:
                if isinstance(n, ast.If) and "TYPE_CHECKING" in ast.unparse(n.test):
                    continue
                nodes.append(n)
        else:
            nodes = [n for n in ast.walk(tree)]
        deps: set[str] = set()
        for n in nodes:
            if isinstance(n, (ast.Import, ast.ImportFrom)):
                deps |= _targets(mods, m, n)
        graph[m] = deps
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    x = stack.pop()
                    on.discard(x)
                    comp.append(x)
                    if x == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_module_level_import_cycles():
    found = cycles(import_graph(SRC, "avatar_eval", module_level_only=True))
    assert found == [], f"module-level import cycles: {found}"


def test_the_cycle_check_finds_a_planted_cycle(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .sub import b\n")
    (pkg / "sub" / "b.py").write_text("from ..c import x\n")
    (pkg / "c.py").write_text("from . import a\nx = 1\n")
    (pkg / "d.py").write_text("def f():\n    from . import a\n")  # lazy: not a module-level edge
    found = cycles(import_graph(tmp_path, "pkg", module_level_only=True))
    assert found == [["pkg.a", "pkg.c", "pkg.sub.b"]]


#: stage -> packages a module of that stage must never import (any import, lazy ones included)
LATER = {
    "avatar_eval.io": ("avatar_eval.pipeline", "avatar_eval.metrics", "avatar_eval.results", "avatar_eval.report",
                       "avatar_eval.protocols", "avatar_eval.cli"),
    "avatar_eval.metrics": ("avatar_eval.pipeline.runner", "avatar_eval.results", "avatar_eval.report",
                            "avatar_eval.cli"),
    "avatar_eval.pipeline": ("avatar_eval.report", "avatar_eval.cli"),
    "avatar_eval.results": ("avatar_eval.report", "avatar_eval.cli"),
    "avatar_eval.report": ("avatar_eval.cli", "avatar_eval.pipeline.runner"),
}


def test_data_flows_one_way():
    graph = import_graph(SRC, "avatar_eval", module_level_only=False)
    bad = []
    for m, deps in graph.items():
        for stage, banned in LATER.items():
            if m == stage or m.startswith(stage + "."):
                bad += [f"{m} imports {d}" for d in deps if any(d == b or d.startswith(b + ".") for b in banned)]
    assert bad == [], "\n".join(bad)
