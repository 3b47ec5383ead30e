"""Stored THEval GT reference rows (the m_GT of the final score when a run has no GT clips).

A :class:`ReferenceSet` holds one GT value per THEval slot **and the metric name each value is
valid for**: THEval's public code and its paper define several metrics differently (see
``/work/shared/reference/protocols.md``), so a GT value measured with the public code (our
``*.compat`` metrics) cannot normalise a paper-variant metric. :func:`theval_score
<avatar_eval.protocols.theval_score.theval_score>` refuses such a mismatch unless forced.

Built-in sets
-------------
``theval-official-example``
    The ``GT`` row of ``examples/gt_metrics.csv`` in the official repository (GitHub
    Newbyl/THEval, commit cfe23fe): the THEval evaluation set's GT videos measured with the
    public code. Valid for the ``compat`` family (``theval.*.compat`` for mouth / face quality and
    the four landmark/audio metrics; ``theval.global_aesthetics``; ``theval.head_motion`` =
    FaceXFormer pose). The values describe THEval's own evaluation set: normalising models
    evaluated on other clips against them compares different data.

No paper GT row: the paper's Table 1 (reproduced in the official README's leaderboard) lists
only the 17 models' *normalised* scores and final scores; no raw GT row was found in a public
source, so no ``paper`` reference set is built in. Compute GT values from your own GT clips
(model ``"gt"`` in a run) instead.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from ..errors import UnknownNameError

__all__ = [
    "OFFICIAL_COLUMNS",
    "REFERENCE_SETS",
    "ReferenceSet",
    "get_reference",
    "list_references",
    "reference_from_csv",
]

#: official THEval CSV column name -> our slot name (order of the official table)
OFFICIAL_COLUMNS: Mapping[str, str] = MappingProxyType(
    {
        "Global aesthetic": "global_aesthetics",
        "Mouth quality": "mouth_quality",
        "Face quality": "face_quality",
        "Lip dynamics": "lip_dynamics",
        "Head motion dynamics": "head_motion",
        "Eyebrow dynamics": "eyebrow_dynamics",
        "Silent lip stability": "silent_lip_stability",
        "Lip sync": "lip_sync",
    }
)


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", " ", str(name).strip().lower()).strip()


_COLUMN_ALIASES = {_norm(k): v for k, v in OFFICIAL_COLUMNS.items()}
_COLUMN_ALIASES.update({_norm(v): v for v in OFFICIAL_COLUMNS.values()})
_COLUMN_ALIASES.update({"global aesthetics": "global_aesthetics", "lip sync": "lip_sync", "lipsync": "lip_sync"})


@dataclass(frozen=True)
class ReferenceSet:
    """GT values per THEval slot and the metric name each value is valid for."""

    name: str
    #: slot -> GT value (raw metric value of the GT videos, dataset mean)
    values: Mapping[str, float]
    #: slot -> metric name the value was measured with (e.g. ``theval.lip_dynamics.compat``)
    metrics: Mapping[str, str]
    #: the variant family the set is valid for ("compat", "paper", ...)
    variant: str
    #: where the numbers come from (repository, file, commit / paper table)
    source: str
    description: str = ""
    #: which evaluation set the GT values describe
    dataset: str = ""
    extra: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = set(self.values) - set(self.metrics)
        if missing:
            raise ValueError(f"reference {self.name!r}: no metric name given for slot(s) {sorted(missing)}")
        for slot, v in self.values.items():
            if not isinstance(v, (int, float)) or not math.isfinite(float(v)):
                raise ValueError(f"reference {self.name!r}: value of {slot} must be a finite number, got {v!r}")
        object.__setattr__(self, "values", MappingProxyType({k: float(v) for k, v in self.values.items()}))
        object.__setattr__(self, "metrics", MappingProxyType(dict(self.metrics)))

    def describe(self) -> str:
        return f"{self.name} ({self.variant} variant family; source: {self.source})"


_COMPAT_METRICS = {
    "global_aesthetics": "theval.global_aesthetics",
    "mouth_quality": "theval.mouth_quality.compat",
    "face_quality": "theval.face_quality.compat",
    "lip_dynamics": "theval.lip_dynamics.compat",
    "head_motion": "theval.head_motion",
    "eyebrow_dynamics": "theval.eyebrow_dynamics.compat",
    "silent_lip_stability": "theval.silent_lip_stability.compat",
    "lip_sync": "theval.lip_sync.compat",
}

_OFFICIAL_EXAMPLE = ReferenceSet(
    name="theval-official-example",
    values={
        "global_aesthetics": 4.6842,
        "mouth_quality": 23.835,
        "face_quality": 0.4425,
        "lip_dynamics": 1.716603,
        "head_motion": 18.46757,
        "eyebrow_dynamics": 0.006777,
        "silent_lip_stability": 0.0263,
        "lip_sync": 0.2528,
    },
    metrics=_COMPAT_METRICS,
    variant="compat",
    source="GitHub Newbyl/THEval, examples/gt_metrics.csv, row 'GT' (commit cfe23fe)",
    description=(
        "GT row shipped with the official THEval code: the THEval evaluation set's real videos "
        "measured with the public scripts (compat behaviour; head motion with FaceXFormer)."
    ),
    dataset="THEval evaluation set (the paper's curated real videos)",
)

#: built-in reference sets by name
REFERENCE_SETS: Mapping[str, ReferenceSet] = MappingProxyType({_OFFICIAL_EXAMPLE.name: _OFFICIAL_EXAMPLE})


def list_references() -> list[ReferenceSet]:
    return [REFERENCE_SETS[k] for k in sorted(REFERENCE_SETS)]


def get_reference(name: str | ReferenceSet) -> ReferenceSet:
    """A built-in reference set by name (a :class:`ReferenceSet` passes through)."""
    if isinstance(name, ReferenceSet):
        return name
    try:
        return REFERENCE_SETS[name]
    except KeyError:
        import difflib

        close = difflib.get_close_matches(str(name), list(REFERENCE_SETS), n=3, cutoff=0.4)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise UnknownNameError(
            f"unknown THEval reference set {name!r}.{hint} Known: {', '.join(sorted(REFERENCE_SETS))}"
        ) from None


def reference_from_csv(
    path: str | os.PathLike[str],
    *,
    variant: str,
    metrics: Mapping[str, str],
    name: str | None = None,
    gt_row: str = "GT",
    source: str | None = None,
    dataset: str = "",
) -> ReferenceSet:
    """Read a GT row from a THEval-format CSV (``Model,Global aesthetic,...``; row ``GT``).

    ``variant`` and ``metrics`` (slot -> metric name each value was measured with) must be given:
    a table of numbers does not say which implementation produced it. Columns may use the
    official names or our slot names; slots absent from the CSV are simply not in the set.
    """
    import pandas as pd

    path = Path(path)
    df = pd.read_csv(path)
    key_col = "Model" if "Model" in df.columns else df.columns[0]
    rows = df[df[key_col].astype(str) == gt_row]
    if len(rows) != 1:
        raise ValueError(f"{path}: expected exactly one row {gt_row!r} in column {key_col!r}, found {len(rows)}")
    row = rows.iloc[0]
    values: dict[str, float] = {}
    for col in df.columns:
        if col == key_col:
            continue
        slot = _COLUMN_ALIASES.get(_norm(col))
        if slot is None:
            raise ValueError(f"{path}: unknown THEval column {col!r}")
        values[slot] = float(row[col])
    unknown = set(values) - set(metrics)
    if unknown:
        raise ValueError(f"{path}: say which metric each value was measured with; missing for {sorted(unknown)}")
    return ReferenceSet(
        name=name or path.stem,
        values=values,
        metrics={k: v for k, v in metrics.items() if k in values},
        variant=variant,
        source=source or str(path),
        dataset=dataset,
    )
