"""The one resume rule, shared by every runner (pipeline runner, speech evaluator).

A record is **reused** only when its ``fingerprint`` equals the fingerprint of the computation that
would replace it. The fingerprint is a sha256 over

* the metric name and version,
* the options the metric reads (``Metric.reads_options`` when a metric declares it; otherwise every
  run option),
* the sha256 of the weight files it uses,
* the content hash of its input files (video, audio, reference image, regions file, GT video for
  paired metrics, ...), memoised per run by :class:`FileDigests`,
* the engine-independent settings (THEval variant, reference; never the worker count).

Then, even with a matching fingerprint:

* ``error`` records are retried, unless ``keep_errors`` (``--keep-errors``);
* ``skipped`` records with reason ``weights_unavailable`` are always retried (cheap: they fail
  fast until the weights appear);
* records without a fingerprint (written by earlier versions) are never reused.

Run level (runner only): ``run.json`` stores the run configuration (:func:`run_config`). A rerun into
the same directory whose configuration differs (options such as ``vad_model``, THEval variant,
reference, the version of a metric already in the run) is refused with :class:`RunConfigChanged`;
``--overwrite`` moves the old records aside (:func:`move_aside`) and starts afresh. The worker
count, new metrics, new samples and new models extend the run and are not changes.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ..errors import AvatarEvalError
from .schema import Record

__all__ = [
    "FINGERPRINT_SCHEMA", "RETRIED_SKIP_REASONS", "FileDigests", "RunConfigChanged", "canonical_json",
    "config_changes", "fingerprint", "move_aside", "reusable", "run_config", "run_config_fingerprint",
]

#: bump when the fingerprint payload changes shape (every record is recomputed once)
FINGERPRINT_SCHEMA = "1"
#: skipped records that are always retried (their cause may have gone away since)
RETRIED_SKIP_REASONS = frozenset({"weights_unavailable"})


def canonical_json(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def fingerprint(
    metric: str,
    version: str,
    *,
    options: Mapping[str, Any] | None = None,
    weights: Mapping[str, Any] | None = None,
    inputs: Any = None,
    settings: Mapping[str, Any] | None = None,
) -> str:
    """sha256 (hex) of everything a record's value is computed from."""
    payload = {
        "schema": FINGERPRINT_SCHEMA,
        "metric": metric,
        "version": str(version),
        "options": dict(options or {}),
        "weights": dict(weights or {}),
        "inputs": inputs,
        "settings": dict(settings or {}),
    }
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def reusable(rec: Record | None, fp: str, keep_errors: bool = False) -> bool:
    """THE resume rule: may ``rec`` stand in for a computation whose fingerprint is ``fp``?"""
    if rec is None or not rec.fingerprint or rec.fingerprint != fp:
        return False
    if rec.status == "error":
        return keep_errors
    if rec.status == "skipped" and rec.reason in RETRIED_SKIP_REASONS:
        return False
    return True


class FileDigests:
    """sha256 of input files, computed once per run (a run hashes each file at most once).

    ``None`` for no file; ``"absent:<path>"`` for a path that is not a file (it changes into a
    digest when the file appears, so records made without it are recomputed)."""

    def __init__(self) -> None:
        self._memo: dict[str, str] = {}

    def __call__(self, path: str | os.PathLike[str] | None) -> str | None:
        if path is None or str(path) == "":
            return None
        key = os.path.abspath(str(path))
        if key not in self._memo:
            if os.path.isfile(key):
                from ..pipeline.manifest import file_digest

                self._memo[key] = file_digest(key)
            else:
                self._memo[key] = f"absent:{path}"
        return self._memo[key]


# ---------------------------------------------------------------------------------------------
# run level
# ---------------------------------------------------------------------------------------------
class RunConfigChanged(AvatarEvalError):
    """A rerun into a run directory whose records were made with another configuration."""

    def __init__(self, out_dir: str | os.PathLike[str], changes: list[str]):
        self.out_dir = str(out_dir)
        self.changes = list(changes)
        lines = "\n".join(f"  {c}" for c in self.changes)
        super().__init__(
            f"{self.out_dir} holds records of another configuration; changed:\n{lines}\n"
            "A run directory holds one configuration. Write to a new --out directory, or pass "
            "--overwrite to move the old records aside (records.jsonl.<timestamp>.bak) and recompute."
        )


def run_config(options: Mapping[str, Any], theval_variant: str | None, reference: str | None,
               metric_versions: Mapping[str, str]) -> dict[str, Any]:
    """The run-level configuration stored in ``run.json`` (``resume.config``)."""
    return {
        "options": json.loads(canonical_json(dict(options))),
        "theval_variant": theval_variant,
        "reference": reference,
        "metric_versions": {k: str(v) for k, v in sorted(metric_versions.items())},
    }


def run_config_fingerprint(cfg: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(cfg).encode("utf-8")).hexdigest()


_UNSET = object()


def _show(v: Any) -> str:
    return "(unset)" if v is _UNSET else repr(v)


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    """What differs between two run configurations, as ``what: old → new`` lines.

    Options and settings must match; a metric's version must match when both runs have it (new
    metrics extend the run, metrics not rerun keep their records)."""
    out: list[str] = []
    oo, no = old.get("options") or {}, new.get("options") or {}
    for k in sorted(set(oo) | set(no)):
        a, b = oo.get(k, _UNSET), no.get(k, _UNSET)
        if a is _UNSET or b is _UNSET or canonical_json(a) != canonical_json(b):
            out.append(f"option {k}: {_show(a)} → {_show(b)}")
    for k in ("theval_variant", "reference"):
        if old.get(k) != new.get(k):
            out.append(f"{k}: {old.get(k)!r} → {new.get(k)!r}")
    ov, nv = old.get("metric_versions") or {}, new.get("metric_versions") or {}
    for k in sorted(set(ov) & set(nv)):
        if str(ov[k]) != str(nv[k]):
            out.append(f"metric {k} version: {ov[k]!r} → {nv[k]!r}")
    return out


def move_aside(paths: Iterable[str | os.PathLike[str]], stamp: str | None = None) -> list[Path]:
    """Rename each existing file to ``<name>.<timestamp>.bak`` (never deletes); returns the new paths."""
    stamp = stamp or time.strftime("%Y%m%dT%H%M%S")
    moved: list[Path] = []
    for p in map(Path, paths):
        if not p.exists():
            continue
        dst = p.with_name(f"{p.name}.{stamp}.bak")
        i = 1
        while dst.exists():
            dst = p.with_name(f"{p.name}.{stamp}-{i}.bak")
            i += 1
        os.replace(p, dst)
        moved.append(dst)
    return moved
