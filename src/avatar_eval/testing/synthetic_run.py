"""A run directory made of synthetic records over real clips, for report tests and benchmarks.

:func:`write_synthetic_run` writes ``records.jsonl`` and ``run.json`` (what ``avatar-eval run``
writes, with the fields reports read: the manifest, each metric's ``Metric.info()``-like entry,
config, weights, libraries) for ``n_samples`` samples x models x metrics. Values are drawn from
a seeded generator (each model a shifted normal), so the numbers mean nothing: they exist to
render. Samples cycle over the given real clips, so frame strips are decoded from real video.
Every ``skip_every``-th record is skipped (reason ``undefined``), every ``error_every``-th an
error, and every ``flag_every``-th clip carries a degenerate-input flag.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..metrics.naming import metric_fields
from ..results.schema import GT_MODEL, Record
from ..results.store import RecordStore

__all__ = ["write_synthetic_run"]


def write_synthetic_run(
    out: str | os.PathLike[str],
    clips: Sequence[str | os.PathLike[str]],
    *,
    models: Sequence[str] = ("alpha", "beta"),
    metrics: Mapping[str, bool | None] | None = None,
    n_samples: int = 6,
    seed: int = 0,
    skip_every: int = 0,
    error_every: int = 0,
    flag_every: int = 0,
    regions: Mapping[str, str] | None = None,
) -> Path:
    """Write the run into ``out`` and return it. ``metrics``: name -> higher_is_better (None =
    closer to GT); a registered metric gets its region (metrics/naming.py fields). ``regions``: sample id ->
    a region boxes file to put in the manifest (drawn on the strips)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    metrics = dict(metrics or {"theval.lip_dynamics": None, "extras.sharpness": True})
    rng = np.random.default_rng(seed)
    all_models = [GT_MODEL, *models]
    samples = [f"clip{i:04d}" for i in range(n_samples)]
    manifest = []
    for i, s in enumerate(samples):
        video = str(Path(clips[i % len(clips)]).resolve())
        entry: dict[str, object] = {"id": s, "gt": video, "models": {m: video for m in models}}
        if regions and s in regions:
            entry["regions"] = str(regions[s])
        manifest.append(entry)
    info = {}
    for n, hib in metrics.items():
        f = metric_fields(n)  # a registered name (or an old one): its fields; else a free-form name
        region = f.region if f is not None else "full"
        info[n] = {"name": n, "version": "1", "higher_is_better": hib, "protocol": f.family if f else "",
                   "variant": f.variant if f else "", "family": f.family if f else "",
                   "quantity": f.quantity if f else "", "estimator": f.estimator if f else "",
                   "requires": [], "weights": [], "level": "sample", "region": region,
                   "units": "px" if n.endswith("lip_dynamics") else "", "description": f"synthetic {n}"}
    recs: list[Record] = []
    k = 0
    for mi, model in enumerate(all_models):
        for si, s in enumerate(samples):
            flags = {"frozen_video": {"still_fraction": 1.0}} if flag_every and si % flag_every == flag_every - 1 \
                and model != GT_MODEL else None
            for n in metrics:
                k += 1
                region = info[n]["region"]
                if skip_every and k % skip_every == 0:
                    recs.append(Record(model, s, n, "skipped", metric_version="1", region=region, reason="undefined",
                                       message=f"{n}: no speech in the clip (synthetic)"))
                elif error_every and k % error_every == 0:
                    recs.append(Record(model, s, n, "error", metric_version="1", region=region,
                                       message="InputError: synthetic failure"))
                else:
                    v = float(1.0 + 0.1 * mi + 0.05 * rng.standard_normal())
                    recs.append(Record(model, s, n, "ok", value=v, metric_version="1", region=region,
                                       details={"n_frames": 100, **({"flags": flags} if flags else {})}))
    store_path = out / "records.jsonl"
    if store_path.exists():
        store_path.unlink()
    RecordStore(store_path).extend(recs)
    run = {"avatar_eval_version": "synthetic", "created": "2026-01-01T00:00:00+0000",
           "updated": "2026-01-01T00:00:00+0000",
           "config": {"metrics": list(metrics), "workers": 1, "options": {}, "theval_variant": "paper",
                      "reference": None, "keep_errors": False},
           "metrics": info, "manifest_hash": "synthetic", "manifest": manifest, "models": list(models),
           "has_gt": True, "weights": {}, "libraries": {"numpy": np.__version__}}
    (out / "run.json").write_text(json.dumps(run, indent=2) + "\n")
    return out
