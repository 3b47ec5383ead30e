"""How a report lays out its leaderboards: one section per protocol, metrics as rows.

:func:`protocol_groups` orders the (metric, region, level) rows of a summary into titled sections
for :func:`avatar_eval.results.export.leaderboard_rows` (which the Markdown, CSV and HTML
leaderboards all read):

* **THEval**: the eight metrics in the paper's Table 3 order (quality, naturalness,
  synchronization), the paper metric of a slot, then its ``.compat`` twin and other estimators,
  then any other ``theval.*`` metric;
* **JWB-DH**: one section per region in the paper's Table 2 order (whole body, face, hands, left
  hand, right hand, mouth), metrics in the table's column order (FID, FVD, SSIM, PSNR, E-FID,
  CSIM, VBench dimensions, identity, hands), the ``compat`` variant in sections of its own;
* everything else: one section per naming family (``sync``, ``motion`` ...), metrics the registry
  does not know (and ``run.json`` does not describe) last ("Other metrics").

Sections are chosen from each metric's naming fields (metrics/naming.py: ``run.json``'s ``metrics``
entry, else the registry), never by splitting names.
"""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ..metrics.naming import metric_fields
from ..protocols.jwbdh import REGION_LABEL, REGION_ORDER, _metric_rank, table_cell
from ..protocols.theval_score import SLOTS, all_theval_metric_names
from ..results.export import Group, column_label

__all__ = ["protocol_groups", "protocol_of", "section_anchor"]


def protocol_of(metric: str, run_metrics: dict | None = None) -> str:
    """``"theval"``, ``"jwbdh"`` (a cell of the JWB-DH table), the metric's naming family, or ``""``
    (a metric neither ``run_metrics`` nor the registry describes)."""
    f = metric_fields(metric, run_metrics)
    if metric in all_theval_metric_names() or (f is not None and f.family == "theval"):
        return "theval"
    if table_cell(metric, run_metrics) is not None:
        return "jwbdh"
    return f.family if f is not None else ""


def _theval_rank(metric: str, run_metrics: dict | None = None) -> tuple[int, int, str]:
    """Table 3 slot of a THEval metric: its paper metric, then the compat twin, then any other
    variant of the slot's quantity (``theval.head_motion.offline``), read from the fields."""
    for i, s in enumerate(SLOTS):
        if metric == s.paper:
            return (i, 0, metric)
        if metric == s.compat:
            return (i, 1, metric)
    f = metric_fields(metric, run_metrics)
    if f is not None:
        for i, s in enumerate(SLOTS):
            slot = metric_fields(s.paper)
            if slot is not None and (slot.family, slot.quantity) == (f.family, f.quantity):
                return (i, 2, metric)
    return (len(SLOTS), 0, metric)


def _index(order: list[str], x: str) -> int:
    return order.index(x) if x in order else len(order)


def protocol_groups(keys: Iterable[tuple[str, str, str]] | pd.DataFrame,
                    run_metrics: dict | None = None) -> list[Group]:
    """Sections of a leaderboard for the (metric, region, level) ``keys`` (or a summary frame);
    ``run_metrics``: ``run.json``'s ``metrics`` (fields as the run recorded them)."""
    if isinstance(keys, pd.DataFrame):
        keys = [] if keys.empty else keys[["metric", "region", "level"]].drop_duplicates().itertuples(
            index=False, name=None)
    keys = sorted(set(keys))
    proto = {k[0]: protocol_of(k[0], run_metrics) for k in keys}
    theval = sorted((k for k in keys if proto[k[0]] == "theval"), key=lambda k: (_theval_rank(k[0], run_metrics), k))
    groups: list[Group] = []
    if theval:
        groups.append(("THEval", [(m, r, lev, column_label(m, r, lev)) for m, r, lev in theval]))
    jw: dict[tuple[int, str], list[tuple[tuple[int, str], tuple[str, str, str]]]] = {}
    cells = {}
    for k in keys:
        if proto[k[0]] != "jwbdh":
            continue
        cell = cells[k[0]] = table_cell(k[0], run_metrics)
        assert cell is not None
        var_rank = 0 if cell.variant == "default" else 1
        jw.setdefault((var_rank, cell.variant), []).append(((_index(REGION_ORDER, cell.region), cell.region),
                                                            (k[0], k[1], k[2])))
    for (_, variant), items in sorted(jw.items()):
        by_region: dict[tuple[int, str], list[tuple[str, str, str]]] = {}
        for reg, k in items:
            by_region.setdefault(reg, []).append(k)
        for (_, region), ks in sorted(by_region.items()):
            ks.sort(key=lambda k: (_metric_rank(cells[k[0]].metric), k))
            suffix = "" if variant == "default" else f" ({variant})"
            title = f"JWB-DH{suffix} · {REGION_LABEL.get(region, region)}"
            # the region is in the section title and in the name: the label is the name
            groups.append((title, [(m, r, lev, m if lev == "sample" else f"{m} ({lev})") for m, r, lev in ks]))
    other: dict[str, list[tuple[str, str, str]]] = {}
    for k in keys:
        p = proto[k[0]]
        if p not in ("theval", "jwbdh"):
            other.setdefault(p, []).append(k)
    for p, ks in sorted(other.items(), key=lambda kv: (kv[0] == "", kv[0])):
        groups.append((p or "Other metrics", [(m, r, lev, column_label(m, r, lev)) for m, r, lev in ks]))
    return groups


def section_anchor(title: str) -> str:
    """An HTML id for a section title."""
    return "sec-" + "".join(c if c.isalnum() else "-" for c in title.lower()).strip("-")
