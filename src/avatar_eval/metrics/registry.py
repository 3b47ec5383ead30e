"""Metric and suite registry with "did you mean" errors (pyiqa / lm-eval-harness style)."""

from __future__ import annotations

import difflib
import importlib
from typing import Iterable

from ..errors import UnknownNameError
from .base import Metric

_METRICS: dict[str, type[Metric]] = {}
_SUITES: dict[str, list[str]] = {}
_SUITE_DOCS: dict[str, str] = {}

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
]
_loaded = False


def add_metric_module(module: str) -> None:
    """Let another package (or a later part of this one) register metrics lazily."""
    global _loaded
    if module not in _METRIC_MODULES:
        _METRIC_MODULES.append(module)
        _loaded = False


def _load() -> None:
    global _loaded
    if _loaded:
        return
    _loaded = True
    for mod in list(_METRIC_MODULES):
        importlib.import_module(mod)


def register(cls: type[Metric]) -> type[Metric]:
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    if cls.name in _METRICS and _METRICS[cls.name] is not cls:
        raise ValueError(f"metric {cls.name!r} registered twice")
    _METRICS[cls.name] = cls
    return cls


def register_suite(name: str, metrics: Iterable[str], doc: str = "") -> None:
    _SUITES[name] = list(metrics)
    _SUITE_DOCS[name] = doc


def _suggest(name: str, candidates: Iterable[str]) -> str:
    cands = list(candidates)
    close = difflib.get_close_matches(name, cands, n=3, cutoff=0.5)
    if not close:
        close = [c for c in cands if name.lower() in c.lower()][:3]
    return f" Did you mean: {', '.join(close)}?" if close else ""


def get_metric_class(name: str) -> type[Metric]:
    _load()
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
        if n in _SUITES:
            out.extend(_SUITES[n])
        elif n in _METRICS:
            out.append(n)
        else:
            raise UnknownNameError(
                f"unknown metric or suite {n!r}.{_suggest(n, list(_SUITES) + list(_METRICS))}"
            )
    seen: set[str] = set()
    return [m for m in out if not (m in seen or seen.add(m))]
