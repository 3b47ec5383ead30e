"""Each metric's direction and units for a report, read from the run's ``run.json``.

A run writes ``Metric.info()`` of every metric it computes into ``run.json["metrics"][name]``
(:func:`avatar_eval.pipeline.runner.write_run_json`). Reports take a metric's direction
(``higher_is_better``) and ``units`` from there, i.e. from the code that computed the records,
not from the code installed when the report is made. Only a name missing from ``run.json`` (or a
run directory without one) falls back to the installed registry, and :func:`metric_metadata` says
so in its warnings (``build_reports`` puts them into ``report.json``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ..results.export import Direction, direction_of, metric_direction

if TYPE_CHECKING:  # pragma: no cover
    from ..results.schema import Record

__all__ = ["MetricMeta", "metric_metadata", "run_metrics_info"]

Source = Literal["run.json", "registry", "unknown"]


@dataclass(frozen=True)
class MetricMeta:
    """What a report shows about one metric."""

    name: str
    #: "higher" / "lower" / "gt" (closer to GT is better) / "unknown"
    direction: Direction
    #: unit of the value ("" = unitless or not stated)
    units: str
    #: where direction and units come from
    source: Source

    def to_dict(self) -> dict[str, str]:
        return {"direction": self.direction, "units": self.units, "source": self.source}


def read_run_json(run_dir: str | os.PathLike[str]) -> dict[str, Any] | None:
    """``run_dir/run.json`` as a dict; ``None`` when it is absent or unreadable."""
    p = Path(run_dir) / "run.json"
    try:
        meta = json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) else None


def run_metrics_info(run_dir: str | os.PathLike[str]) -> dict[str, dict[str, Any]] | None:
    """``run.json["metrics"]`` of ``run_dir`` (name -> ``Metric.info()`` at run time, keyed by the
    current names: :func:`canonical_run_metrics`); ``None`` when there is no readable ``run.json``
    or it records no metrics."""
    meta = read_run_json(run_dir)
    metrics = meta.get("metrics") if meta is not None else None
    if not isinstance(metrics, dict):
        return None
    return canonical_run_metrics(metrics)


def canonical_run_metrics(metrics: Any) -> dict[str, dict[str, Any]]:
    """``run.json``'s ``metrics`` keyed by current names: a run written before the naming grammar
    holds deprecated names (metrics/registry.py ``DEPRECATED_NAMES``); an entry under the new name
    wins over one under its old name."""
    from ..metrics.registry import canonical_name

    if not isinstance(metrics, dict):
        return {}
    out: dict[str, dict[str, Any]] = {}
    for k, v in metrics.items():
        if isinstance(v, dict) and (canonical_name(str(k)) not in out or canonical_name(str(k)) == k):
            out[canonical_name(str(k))] = v
    return out


def canonical_records(records: Iterable[Record]) -> list[Record]:
    """``records`` with deprecated metric names replaced by the current ones (an old run directory
    renders under the new names; the values are untouched). The region is the current metric's
    (the naming grammar moved a few: ``theval.face_quality`` no longer says ``face``)."""
    from dataclasses import replace

    from ..metrics.registry import DEPRECATED_NAMES, canonical_name, get_metric_class, is_registered

    out = []
    for r in records:
        if r.metric in DEPRECATED_NAMES:
            new = canonical_name(r.metric)
            region = get_metric_class(new).region if is_registered(new) else r.region
            r = replace(r, metric=new, region=region)
        out.append(r)
    return out


def metric_metadata(
    run_dir: str | os.PathLike[str] | None, names: Iterable[str]
) -> tuple[dict[str, MetricMeta], list[str]]:
    """Direction and units of ``names`` (metrics of a run's records), and warnings.

    From ``run_dir/run.json`` when it records the metric (a recorded ``higher_is_better`` of
    ``null`` means "closer to GT"); otherwise from the installed registry (``source="registry"``,
    named in a warning), or ``"unknown"`` when the metric is not registered either.
    """
    names = sorted(set(names))
    recorded = run_metrics_info(run_dir) if run_dir is not None else None
    out: dict[str, MetricMeta] = {}
    fallback: list[str] = []
    for n in names:
        info = (recorded or {}).get(n)
        if info is not None and "higher_is_better" in info:
            out[n] = MetricMeta(n, direction_of(info["higher_is_better"]), str(info.get("units") or ""), "run.json")
            continue
        fallback.append(n)
        d = metric_direction(n)
        out[n] = MetricMeta(n, d, _registry_units(n) if d != "unknown" else "",
                            "registry" if d != "unknown" else "unknown")
    warnings: list[str] = []
    if fallback:
        where = "run.json" if recorded is not None else "run.json (none in the run directory)"
        reg = [n for n in fallback if out[n].source == "registry"]
        unk = [n for n in fallback if out[n].source == "unknown"]
        parts = []
        if reg:
            parts.append(f"taken from the installed registry for {', '.join(reg)}")
        if unk:
            parts.append(f"unknown for {', '.join(unk)} (not registered either)")
        warnings.append(f"direction and units not recorded in {where}: " + "; ".join(parts))
    return out, warnings


def _registry_units(name: str) -> str:
    from ..metrics.registry import get_metric_class

    try:
        return str(getattr(get_metric_class(name), "units", "") or "")
    except Exception:  # noqa: BLE001 - metric_direction already logged why the class is missing
        return ""
