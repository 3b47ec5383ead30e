"""``avatar-eval merge``: join shard runs (``avatar-eval run --shard I/N``) into one run directory.

A shard computes the samples whose :func:`~avatar_eval.pipeline.runner.shard_of` is its index,
with the full manifest recorded in its ``run.json``. The merge

1. refuses shards whose run-level configuration (options, THEval variant, reference, metric
   versions: the resume configuration), metric list, manifest hash or shard count differ, naming
   what differs and where; refuses a shard given twice or missing;
2. takes every record of every shard once (the latest line of a key within a shard, as the store
   does), plus the shards' cached clip features (``features/``);
3. runs :func:`~avatar_eval.pipeline.runner.run` on the full manifest in ``reduce_only`` mode: it
   reuses every record (same fingerprints) and only reduces dataset metrics (FID/FVD) from the
   features, and writes ``run.json`` with ``merged_from``.

Hence a merged run holds the records of one unsharded run, value for value.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..results.resume import config_changes, run_config_fingerprint
from ..results.schema import Record
from ..results.store import RecordStore, atomic_write_text, dumps_record, read_records
from .manifest import Manifest, Sample
from .runner import RunConfig, run


class ShardMismatch(InputError):
    """Shards of different configurations, or an incomplete set of shards."""


def _meta(d: Path) -> dict[str, Any]:
    p = d / "run.json"
    if not p.is_file():
        raise InputError(f"{d}: no run.json (not a run directory)")
    try:
        return json.loads(p.read_text())
    except ValueError as e:
        raise InputError(f"{p}: not valid JSON ({e})") from None


def _describe(meta: dict[str, Any]) -> dict[str, Any]:
    c = meta.get("config") or {}
    return {"resume": (meta.get("resume") or {}).get("config") or {}, "metrics": sorted(c.get("metrics") or []),
            "manifest_hash": meta.get("manifest_hash"), "shard_count": (c.get("shard") or {}).get("count")}


def _differences(a: dict[str, Any], b: dict[str, Any]) -> list[str]:
    out = list(config_changes(a["resume"], b["resume"]))
    if a["metrics"] != b["metrics"]:
        only_a = sorted(set(a["metrics"]) - set(b["metrics"]))
        only_b = sorted(set(b["metrics"]) - set(a["metrics"]))
        out.append(f"metrics: only in the first {only_a}, only here {only_b}")
    if a["manifest_hash"] != b["manifest_hash"]:
        out.append(f"manifest hash: {str(a['manifest_hash'])[:12]} vs {str(b['manifest_hash'])[:12]} "
                   "(another manifest or changed files)")
    if a["shard_count"] != b["shard_count"]:
        out.append(f"shard count: {a['shard_count']} vs {b['shard_count']}")
    return out


def check_shards(dirs: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """The shards in index order, after every consistency check (:class:`ShardMismatch`)."""
    if not dirs:
        raise InputError("merge needs at least one shard directory")
    metas = []
    for d in dirs:
        m = _meta(d)
        sh = (m.get("config") or {}).get("shard")
        if not isinstance(sh, dict):
            raise ShardMismatch(f"{d} is not a shard run (run.json has no config.shard: made without --shard I/N)")
        metas.append((d, m, int(sh["index"]), int(sh["count"])))
    first_d, first, _, count = metas[0]
    ref = _describe(first)
    for d, m, _, _ in metas[1:]:
        diff = _differences(ref, _describe(m))
        if diff:
            raise ShardMismatch(f"{d} and {first_d} were run with different configurations: " + "; ".join(diff))
    seen: dict[int, Path] = {}
    for d, _, i, _ in metas:
        if i in seen:
            raise ShardMismatch(f"shard {i}/{count} given twice: {seen[i]} and {d}")
        seen[i] = d
    missing = sorted(set(range(count)) - set(seen))
    if missing:
        raise ShardMismatch(f"shards {', '.join(f'{i}/{count}' for i in missing)} missing (given: "
                            f"{', '.join(f'{i}/{count}' for i in sorted(seen))})")
    return [(d, m) for d, m, _, _ in sorted(metas, key=lambda t: t[2])]


def _copy_features(src: Path, dst: Path) -> int:
    if not src.is_dir():
        return 0
    dst.mkdir(parents=True, exist_ok=True)
    n = 0
    for f in sorted(src.glob("*.npy")):
        t = dst / f.name  # named by fingerprint: the same name is the same features
        if t.exists():
            continue
        tmp = dst / f".{f.name}.{os.getpid()}.tmp"
        shutil.copy2(f, tmp)
        os.replace(tmp, t)
        n += 1
    return n


def merge_shards(shard_dirs: list[str], out_dir: str, progress: bool = True) -> tuple[RecordStore, RunConfig]:
    dirs = [Path(d) for d in shard_dirs]
    shards = check_shards(dirs)
    out = Path(out_dir)
    first = shards[0][1]
    if (out / "run.json").exists() and (out / "records.jsonl").exists():
        # merging into a run directory that holds records: the same configuration only
        diff = config_changes(_describe(_meta(out))["resume"], _describe(first)["resume"])
        if diff:
            raise ShardMismatch(f"{out} holds records of another configuration: " + "; ".join(diff))
    out.mkdir(parents=True, exist_ok=True)

    merged: dict[str, Record] = {r.key: r for r in read_records(out / "records.jsonl")}
    n_features = 0
    for d, _ in shards:
        for r in read_records(d / "records.jsonl"):  # a key's latest line within a shard wins
            merged[r.key] = r
        n_features += _copy_features(d / "features", out / "features")
    atomic_write_text(out / "records.jsonl", "".join(dumps_record(r) + "\n" for r in merged.values()))

    c = first.get("config") or {}
    manifest = Manifest([Sample(**s) for s in first.get("manifest") or []], source="merge")
    cfg = RunConfig(metrics=list(c.get("metrics") or []), out_dir=str(out), workers=1,
                    options=dict(c.get("options") or {}), theval_variant=c.get("theval_variant", "paper"),
                    reference=c.get("reference"), keep_errors=True, reduce_only=True)
    store = run(manifest, cfg, progress=progress)

    meta = json.loads((out / "run.json").read_text())
    meta["merged_from"] = [{"dir": str(d), "shard": (m.get("config") or {}).get("shard"),
                            "engine": (m.get("config") or {}).get("engine"),
                            "last_run": m.get("last_run"),
                            "resume_fingerprint": run_config_fingerprint((m.get("resume") or {}).get("config") or {})}
                           for d, m in shards]
    meta["merged_features_copied"] = n_features
    atomic_write_text(out / "run.json", json.dumps(meta, indent=2, default=str))
    return store, cfg
