"""The result record: one per (model, sample, metric).

Contract shared by the runner, the report code and the study app.
``status`` is one of ``ok`` / ``skipped`` / ``error``:

* ``ok``: ``value`` is a finite float (or ``None`` only for non-scalar metrics with ``details``).
* ``skipped``: the metric did not produce a number on purpose; ``reason`` says why:
  ``weights_unavailable`` (message names the file looked for and how to get it),
  ``undefined`` (e.g. lip-sync on a clip without speech), ``no_reference`` (GT missing), ...
* ``error``: an exception on bad input or a bug; ``message`` says what happened.

Distribution-level metrics (FID, FVD, ...) write one record with ``sample_id == DATASET``.

``fingerprint`` is the resume fingerprint (:mod:`avatar_eval.results.resume`): a hash of what the
value was computed from. A rerun reuses a record only when it matches; records written before it
existed carry ``None`` and are recomputed.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["ok", "skipped", "error"]
STATUSES: tuple[str, ...] = ("ok", "skipped", "error")
DATASET = "__dataset__"
GT_MODEL = "gt"


@dataclass
class Record:
    model: str
    sample_id: str
    metric: str
    status: Status
    value: float | None = None
    metric_version: str = ""
    region: str = "full"
    reason: str | None = None
    message: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float | None = None
    fingerprint: str | None = None

    @property
    def key(self) -> str:
        return record_key(self.model, self.sample_id, self.metric)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["key"] = self.key
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Record":
        d = dict(d)
        d.pop("key", None)
        return cls(**d)

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {self.status!r}")
        if self.status == "ok" and self.value is not None:
            self.value = float(self.value)
            if not math.isfinite(self.value):
                raise ValueError(
                    f"{self.metric}: an ok record must hold a finite value, got {self.value}; "
                    "raise MetricUndefined instead"
                )
        if self.status != "ok" and self.value is not None:
            raise ValueError(f"{self.metric}: a {self.status} record carries no value")


def record_key(model: str, sample_id: str, metric: str) -> str:
    return f"{model}\x1f{sample_id}\x1f{metric}"
