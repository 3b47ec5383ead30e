"""Metric and suite registry with "did you mean" errors (pyiqa / lm-eval-harness style).

:func:`origin` says where a metric is defined (file and line, as lm-evaluation-harness's
``origin()``), for ``avatar-eval metrics NAME``.
"""

from __future__ import annotations

import ast
import difflib
import importlib
import sys
import warnings
from collections.abc import Iterable
from functools import cache
from typing import NamedTuple

from ..errors import UnknownNameError
from .base import Metric
from .naming import check_name

_METRICS: dict[str, type[Metric]] = {}
#: metric name -> (file, line) of the register() call, first frame outside this module
_REGISTERED_AT: dict[str, tuple[str, int]] = {}
_SUITES: dict[str, list[str]] = {}
_SUITE_DOCS: dict[str, str] = {}

#: Deprecated aliases (one release): old name -> name in the naming grammar (metrics/naming.py).
#: ``get_metric``, ``resolve_metrics`` (``--suite``), suite lists and ``avatar-eval metrics OLD``
#: accept an old name with a ``DeprecationWarning``; records are written under the new name;
#: ``avatar-eval report`` maps the records of an old run directory through this table.
DEPRECATED_NAMES: dict[str, str] = {
    "hands.hkc.dwpose": "hands.hkc",
    "hands.hkc.mediapipe": "hands.hkc.offline",
    "hands.hkv.dwpose": "hands.hkv",
    "hands.hkv.mediapipe": "hands.hkv.offline",
    "idc": "identity.idc",
    "identity.csim.arcface": "identity.csim",
    "identity.csim.dlib": "identity.csim.offline",
    "jwbdh.face.csim_arcface": "jwbdh.csim.face",
    "jwbdh.face.csim_dlib": "jwbdh.csim.face.offline",
    "jwbdh.face.edge_fid": "jwbdh.edge_fid.face",
    "jwbdh.face.edge_fid.compat": "jwbdh.edge_fid.face.compat",
    "jwbdh.face.expression_fid": "jwbdh.expression_fid.face",
    "jwbdh.face.fid": "jwbdh.fid.face",
    "jwbdh.face.fid.compat": "jwbdh.fid.face.compat",
    "jwbdh.face.fvd": "jwbdh.fvd.face",
    "jwbdh.face.fvd.compat": "jwbdh.fvd.face.compat",
    "jwbdh.face.lpips": "jwbdh.lpips.face",
    "jwbdh.face.lpips_vgg": "jwbdh.lpips_vgg.face",
    "jwbdh.face.pixel_csim": "jwbdh.pixel_csim.face",
    "jwbdh.face.pixel_csim.compat": "jwbdh.pixel_csim.face.compat",
    "jwbdh.face.psnr": "jwbdh.psnr.face",
    "jwbdh.face.psnr.compat": "jwbdh.psnr.face.compat",
    "jwbdh.face.ssim": "jwbdh.ssim.face",
    "jwbdh.face.ssim.compat": "jwbdh.ssim.face.compat",
    "jwbdh.full.edge_fid": "jwbdh.edge_fid",
    "jwbdh.full.edge_fid.compat": "jwbdh.edge_fid.compat",
    "jwbdh.full.fid": "jwbdh.fid",
    "jwbdh.full.fid.compat": "jwbdh.fid.compat",
    "jwbdh.full.fvd": "jwbdh.fvd",
    "jwbdh.full.fvd.compat": "jwbdh.fvd.compat",
    "jwbdh.full.lpips": "jwbdh.lpips",
    "jwbdh.full.lpips_vgg": "jwbdh.lpips_vgg",
    "jwbdh.full.pixel_csim": "jwbdh.pixel_csim",
    "jwbdh.full.pixel_csim.compat": "jwbdh.pixel_csim.compat",
    "jwbdh.full.psnr": "jwbdh.psnr",
    "jwbdh.full.psnr.compat": "jwbdh.psnr.compat",
    "jwbdh.full.ssim": "jwbdh.ssim",
    "jwbdh.full.ssim.compat": "jwbdh.ssim.compat",
    "jwbdh.hands.edge_fid": "jwbdh.edge_fid.hands",
    "jwbdh.hands.edge_fid.compat": "jwbdh.edge_fid.hands.compat",
    "jwbdh.hands.fid": "jwbdh.fid.hands",
    "jwbdh.hands.fid.compat": "jwbdh.fid.hands.compat",
    "jwbdh.hands.fvd": "jwbdh.fvd.hands",
    "jwbdh.hands.fvd.compat": "jwbdh.fvd.hands.compat",
    "jwbdh.hands.lpips": "jwbdh.lpips.hands",
    "jwbdh.hands.lpips_vgg": "jwbdh.lpips_vgg.hands",
    "jwbdh.hands.pixel_csim": "jwbdh.pixel_csim.hands",
    "jwbdh.hands.pixel_csim.compat": "jwbdh.pixel_csim.hands.compat",
    "jwbdh.hands.psnr": "jwbdh.psnr.hands",
    "jwbdh.hands.psnr.compat": "jwbdh.psnr.hands.compat",
    "jwbdh.hands.ssim": "jwbdh.ssim.hands",
    "jwbdh.hands.ssim.compat": "jwbdh.ssim.hands.compat",
    "jwbdh.left_hand.edge_fid": "jwbdh.edge_fid.left_hand",
    "jwbdh.left_hand.fid": "jwbdh.fid.left_hand",
    "jwbdh.left_hand.fvd": "jwbdh.fvd.left_hand",
    "jwbdh.left_hand.lpips": "jwbdh.lpips.left_hand",
    "jwbdh.left_hand.lpips_vgg": "jwbdh.lpips_vgg.left_hand",
    "jwbdh.left_hand.pixel_csim": "jwbdh.pixel_csim.left_hand",
    "jwbdh.left_hand.psnr": "jwbdh.psnr.left_hand",
    "jwbdh.left_hand.ssim": "jwbdh.ssim.left_hand",
    "jwbdh.right_hand.edge_fid": "jwbdh.edge_fid.right_hand",
    "jwbdh.right_hand.fid": "jwbdh.fid.right_hand",
    "jwbdh.right_hand.fvd": "jwbdh.fvd.right_hand",
    "jwbdh.right_hand.lpips": "jwbdh.lpips.right_hand",
    "jwbdh.right_hand.lpips_vgg": "jwbdh.lpips_vgg.right_hand",
    "jwbdh.right_hand.pixel_csim": "jwbdh.pixel_csim.right_hand",
    "jwbdh.right_hand.psnr": "jwbdh.psnr.right_hand",
    "jwbdh.right_hand.ssim": "jwbdh.ssim.right_hand",
    "lmd.face": "landmarks.lmd.face",
    "lmd.mouth": "landmarks.lmd.mouth",
    "sync.av_offset.wide": "sync.av_offset_wide",
    "theval.head_motion.mesh_pose": "theval.head_motion.offline",
    "vbench.dynamic_degree.dis": "vbench.dynamic_degree.offline",
    "vbench.dynamic_degree.dis.face": "vbench.dynamic_degree.face.offline",
    "vbench.dynamic_degree.dis.face.compat": "vbench.dynamic_degree.face.offline_compat",
    "vbench.dynamic_degree.dis.hands": "vbench.dynamic_degree.hands.offline",
    "vbench.dynamic_degree.dis.hands.compat": "vbench.dynamic_degree.hands.offline_compat",
    "vbench.dynamic_degree.dis.left_hand": "vbench.dynamic_degree.left_hand.offline",
    "vbench.dynamic_degree.dis.right_hand": "vbench.dynamic_degree.right_hand.offline",
    "vbench.motion_smoothness.dis": "vbench.motion_smoothness.offline",
    "vbench.motion_smoothness.dis.face": "vbench.motion_smoothness.face.offline",
    "vbench.motion_smoothness.dis.face.compat": "vbench.motion_smoothness.face.offline_compat",
    "vbench.motion_smoothness.dis.hands": "vbench.motion_smoothness.hands.offline",
    "vbench.motion_smoothness.dis.hands.compat": "vbench.motion_smoothness.hands.offline_compat",
    "vbench.motion_smoothness.dis.left_hand": "vbench.motion_smoothness.left_hand.offline",
    "vbench.motion_smoothness.dis.right_hand": "vbench.motion_smoothness.right_hand.offline",
}

#: modules that register metrics when imported; imported lazily on first lookup
_METRIC_MODULES = [
    "avatar_eval.metrics.theval",
    "avatar_eval.metrics.theval_quality",
    "avatar_eval.metrics.jwbdh",
    "avatar_eval.metrics.identity",
    "avatar_eval.metrics.hands",
    "avatar_eval.metrics.vbench",
    "avatar_eval.metrics.syncnet",
    "avatar_eval.metrics.idc",
    "avatar_eval.metrics.qalign",
    "avatar_eval.speech.metric",
    "avatar_eval.metrics.extras",
    "avatar_eval.metrics.av_offset",
    "avatar_eval.metrics.nr_quality",
]
_loaded = False


def add_metric_module(module: str) -> None:
    """Let another package (or a later part of this one) register metrics lazily."""
    global _loaded
    if module not in _METRIC_MODULES:
        _METRIC_MODULES.append(module)
        _loaded = False


#: comma-separated modules of plugin metrics, imported with the built-in ones in every process
#: (the driver, local worker processes, Ray workers: the Ray engine forwards it)
METRIC_MODULES_ENV = "AVATAR_EVAL_METRIC_MODULES"


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    import os

    extra = [m.strip() for m in os.environ.get(METRIC_MODULES_ENV, "").split(",") if m.strip()]
    for mod in [*_METRIC_MODULES, *[m for m in extra if m not in _METRIC_MODULES]]:
        importlib.import_module(mod)


def register(cls: type[Metric]) -> type[Metric]:
    """Add ``cls`` to the registry; ``ValueError`` when its name is not the naming grammar's name
    of its fields (metrics/naming.py), is a deprecated alias, or is taken."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    check_name(cls)
    if cls.name in DEPRECATED_NAMES:
        raise ValueError(f"metric {cls.name!r} is a deprecated alias of {DEPRECATED_NAMES[cls.name]!r}")
    if cls.name in _METRICS and _METRICS[cls.name] is not cls:
        raise ValueError(f"metric {cls.name!r} registered twice")
    _METRICS[cls.name] = cls
    if cls.name not in _REGISTERED_AT:
        _REGISTERED_AT[cls.name] = _caller_outside_registry()
    return cls


def _caller_outside_registry() -> tuple[str, int]:
    f = sys._getframe(1)
    while f is not None and f.f_code.co_filename == __file__:
        f = f.f_back
    return (f.f_code.co_filename, f.f_lineno) if f is not None else ("", 0)


def register_suite(name: str, metrics: Iterable[str], doc: str = "") -> None:
    _SUITES[name] = list(metrics)
    _SUITE_DOCS[name] = doc


def _suggest(name: str, candidates: Iterable[str]) -> str:
    cands = list(candidates)
    close = difflib.get_close_matches(name, cands, n=3, cutoff=0.5)
    if not close:
        close = [c for c in cands if name.lower() in c.lower()][:3]
    return f" Did you mean: {', '.join(close)}?" if close else ""


def canonical_name(name: str) -> str:
    """The current name of ``name``: itself, or the new name of a deprecated alias (no warning)."""
    return DEPRECATED_NAMES.get(name, name)


def is_registered(name: str) -> bool:
    _load()
    return name in _METRICS


def deprecation_message(old: str) -> str:
    return f"`{old}` is deprecated; use `{DEPRECATED_NAMES[old]}`"


def _undeprecate(name: str) -> str:
    """``name``, or the new name of a deprecated alias with a ``DeprecationWarning``."""
    if name in DEPRECATED_NAMES and name not in _METRICS and name not in _SUITES:
        warnings.warn(deprecation_message(name), DeprecationWarning, stacklevel=3)
        return DEPRECATED_NAMES[name]
    return name


def get_metric_class(name: str) -> type[Metric]:
    """The class of metric ``name`` (a deprecated old name warns and gives the new one's class)."""
    _load()
    name = _undeprecate(name)
    try:
        return _METRICS[name]
    except KeyError:
        raise UnknownNameError(
            f"unknown metric {name!r}.{_suggest(name, _METRICS)} (`avatar-eval metrics` lists them)"
        ) from None


def get_metric(name: str) -> Metric:
    return get_metric_class(name)()


def list_metrics(protocol: str | None = None) -> list[type[Metric]]:
    _load()
    out = [m for m in _METRICS.values() if protocol is None or m.protocol == protocol]
    return sorted(out, key=lambda m: m.name)


def list_suites() -> dict[str, str]:
    _load()
    return dict(_SUITE_DOCS)


def resolve_metrics(names: Iterable[str]) -> list[str]:
    """Expand suite names and metric names into a de-duplicated metric list (order kept)."""
    _load()
    out: list[str] = []
    for n in names:
        n = _undeprecate(n)
        if n in _SUITES:
            out.extend(_undeprecate(m) for m in _SUITES[n])
        elif n in _METRICS:
            out.append(n)
        else:
            raise UnknownNameError(
                f"unknown metric or suite {n!r}.{_suggest(n, list(_SUITES) + list(_METRICS))}"
            )
    seen: set[str] = set()
    return [m for m in out if not (m in seen or seen.add(m))]


# --------------------------------------------------------------------------- origin


class Origin(NamedTuple):
    """Where a metric is defined: ``path:line``, how that line was found, and whether the name is
    in the source as a literal.

    ``how`` is one of

    * ``"class"``: the ``class`` statement of the metric's own class;
    * ``"literal"``: a line holding the name as a string literal (a variant-table row, a
      ``name=...`` keyword), not counting suite lists (``register_suite(...)``, lists of names);
    * ``"table-row"``: the name is assembled in code (from the metric's naming fields, or from a
      template such as ``f"{family}.{q}"``); the line is the row of the table (a tuple inside a
      list/tuple) whose first item is the metric's ``quantity`` and which names its ``estimator``
      (vbench's ``_DIMENSIONS``), or that supplies one of the template's parts;
    * ``"template"``: the line of that template (no table row found);
    * ``"registered"``: the ``register()`` call (nothing better found).

    ``literal`` is True when ``grep '"NAME"'`` finds the name where it is defined (the module of
    its class or of its ``register()`` call; suite lists do not count).
    """

    path: str
    line: int
    how: str
    literal: bool

    def __str__(self) -> str:
        return f"{self.path}:{self.line}"


def origin(name: str) -> Origin:
    """File and line where metric ``name`` is defined (see :class:`Origin` for the search order).

    Searched: the file of the module that created the metric's class, then the file of its
    ``register()`` call."""
    cls = get_metric_class(name)
    name = cls.name
    mod = sys.modules.get(cls.__module__)
    path = getattr(mod, "__file__", None) or ""
    site = _REGISTERED_AT.get(name, ("", 0))
    files = [f for f in dict.fromkeys([path, site[0]]) if f.endswith(".py")]
    sources = [(f, src) for f in files if (src := _parsed(f)) is not None]
    lits = [(f, line) for f, src in sources if (line := src.literal_line(name)) is not None]
    literal = bool(lits)
    if sources and sources[0][0] == path:
        own = sources[0][1].class_line(cls.__qualname__)
        if own is not None:
            return Origin(path, own, "class", literal)
    if lits:
        return Origin(lits[0][0], lits[0][1], "literal", True)
    for f, src in sources:
        row = src.field_row(cls.quantity, cls.estimator, site[1] if f == site[0] else 0)
        if row is not None:
            return Origin(f, row, "table-row", False)
    for f, src in sources:
        tpl = src.template_match(name)
        if tpl is not None:
            line, parts = tpl
            row = src.table_row(parts, line)
            return Origin(f, row, "table-row", False) if row is not None else Origin(f, line, "template", False)
    if site[0]:
        return Origin(site[0], site[1], "registered", False)
    return Origin(path, 1, "registered", False)


class _Source:
    """The AST of one module file, with parent links, for :func:`origin`."""

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.parent: dict[ast.AST, ast.AST] = {}
        #: string constant -> its nodes; f-strings; table rows (a tuple inside a list / tuple,
        #: first item a string) by that first item
        self.strings: dict[str, list[ast.Constant]] = {}
        self.templates: list[ast.JoinedStr] = []
        self.rows: dict[str, list[int]] = {}
        #: the string items of each table row, by its first item: (line, items)
        self.row_items: dict[str, list[tuple[int, set[str]]]] = {}
        for node in ast.walk(tree):
            for child in ast.iter_child_nodes(node):
                self.parent[child] = node
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                self.strings.setdefault(node.value, []).append(node)
            elif isinstance(node, ast.JoinedStr):
                self.templates.append(node)
        for node in ast.walk(tree):
            if (isinstance(node, ast.Tuple) and node.elts and isinstance(self.parent.get(node), (ast.List, ast.Tuple))
                    and isinstance(node.elts[0], ast.Constant) and isinstance(node.elts[0].value, str)):
                self.rows.setdefault(node.elts[0].value, []).append(node.lineno)
                items = {e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)}
                self.row_items.setdefault(node.elts[0].value, []).append((node.lineno, items))

    def class_line(self, qualname: str) -> int | None:
        """Line of the ``class`` statement of ``qualname`` (nested classes: ``Outer.Inner``)."""
        body: list[ast.stmt] = self.tree.body
        node: ast.ClassDef | None = None
        for part in qualname.split("."):
            node = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == part), None)
            if node is None:
                return None
            body = node.body
        return node.lineno if node is not None else None

    def _in_suite_list(self, node: ast.AST) -> bool:
        p = self.parent.get(node)
        while p is not None:
            if isinstance(p, ast.Call) and _call_name(p) == "register_suite":
                return True
            if isinstance(p, (ast.List, ast.Set)) and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in p.elts
            ):
                return True
            if isinstance(p, ast.stmt):
                return False
            p = self.parent.get(p)
        return False

    def literal_line(self, name: str) -> int | None:
        """The best line holding ``"name"`` as a literal: a ``name=`` keyword or assignment first,
        then any other use outside suite lists."""
        hits = [n for n in self.strings.get(name, []) if not self._in_suite_list(n)]
        if not hits:
            return None

        def named(n: ast.AST) -> bool:
            p = self.parent.get(n)
            if isinstance(p, ast.keyword) and p.arg == "name":
                return True
            return isinstance(p, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "name" for t in p.targets)

        best = [n for n in hits if named(n)] or hits
        return min(n.lineno for n in best)

    def template_match(self, name: str) -> tuple[int, list[str]] | None:
        """(line, parts) of the f-string that builds ``name`` (``f"jwbdh.{r}.{q}"``).

        The line is the matching template with the most literal characters; ``parts`` are the
        values its placeholders can take, over every matching template and every way the name
        splits (``vbench.dynamic_degree.dis.face`` gives ``dynamic_degree.dis``, ``face``,
        ``dynamic_degree``, ``dis.face``, ...)."""
        family = name.split(".", 1)[0] + "."
        best: tuple[int, int] | None = None
        parts: list[str] = []
        for n in self.templates:
            if not n.values:
                continue
            first = n.values[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)
                    and first.value.startswith(family)):
                continue
            pieces = [v.value if isinstance(v, ast.Constant) else None for v in n.values]
            if None not in pieces:
                continue  # no placeholder: a literal, handled by literal_line
            fills = _fills(pieces, name)
            if not fills:
                continue
            for fill in fills:
                parts.extend(f for f in fill if f not in parts)
            n_lit = sum(len(p) for p in pieces if p is not None)
            if best is None or n_lit > best[0] or (n_lit == best[0] and n.lineno < best[1]):
                best = (n_lit, n.lineno)
        return (best[1], parts) if best is not None else None

    def field_row(self, quantity: str, estimator: str, near: int) -> int | None:
        """Line of the table row whose first item is ``quantity`` and which holds ``estimator``
        (any row of the quantity when the metric has no estimator), the nearest to line ``near``."""
        rows = [line for line, items in self.row_items.get(quantity, []) if not estimator or estimator in items]
        return min(rows, key=lambda line: (abs(line - near), line)) if rows else None

    def table_row(self, parts: list[str], near: int) -> int | None:
        """Line of a table row (a tuple inside a list or tuple) whose first item is one of
        ``parts``: the longest part wins, then the row nearest to line ``near`` (the template)."""
        rows = {p: self.rows[p] for p in parts if p in self.rows}
        if not rows:
            return None
        return min(rows[max(rows, key=len)], key=lambda line: (abs(line - near), line))


def _fills(pieces: list[str | None], name: str) -> list[tuple[str, ...]]:
    """Every way ``name`` matches a template: literal pieces (str) and placeholders (None, each
    a non-empty string); one tuple of placeholder values per way."""
    if not pieces:
        return [()] if not name else []
    head, rest = pieces[0], pieces[1:]
    if head is not None:
        return _fills(rest, name[len(head):]) if name.startswith(head) else []
    out: list[tuple[str, ...]] = []
    for i in range(1, len(name) + 1):
        out.extend((name[:i], *tail) for tail in _fills(rest, name[i:]))
    return out


def _call_name(call: ast.Call) -> str:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""


@cache
def _parsed(path: str) -> _Source | None:
    try:
        with open(path, encoding="utf-8") as f:
            return _Source(ast.parse(f.read(), filename=path))
    except (OSError, SyntaxError, ValueError):
        return None
