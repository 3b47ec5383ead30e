"""Throughput of the execution engines: local process pool vs Ray, 1 and 2 workers.

    PYTHONPATH=src python benchmarks/engine_throughput.py [--clips 12] [--workers 1,2] [--engines local,ray]
        [--suite sharpness.cpbd] [--option cpbd_stride=2] [--json out.json]

Workload: one shipped clip (``examples/clips/gt/may.mp4``, 5 s, 126 frames) entered ``--clips``
times under different sample ids, so every clip costs the same; the suite is real CPU work
(default: CPBD sharpness on every 2nd frame, one decode per clip). Each configuration runs into
a fresh directory through :func:`avatar_eval.pipeline.runner.run`, exactly as ``avatar-eval run``.

Figures per configuration, from ``run.json`` and ``tasks.jsonl`` (the driver's receive time of
every clip):

* ``start-up``: Ray only, ``ray.init`` of a fresh local instance (``last_run.engine.startup_s``);
* ``first w``: time until each of the ``w`` workers delivered its first clip (process start,
  imports, first decode: what a long run pays once);
* ``steady``: clips per second after that: ``(N - w) / (t_N - t_w)``; start-up excluded;
* ``efficiency``: steady(w workers) / (w × steady(1 worker)) of the same engine.

The machine's load average is printed before and after: on a shared machine the figures say
what this machine gave at that time, nothing more.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from avatar_eval.options import parse_option_assignment
from avatar_eval.pipeline.manifest import Manifest, Sample
from avatar_eval.pipeline.runner import RunConfig, run

CLIP = ROOT / "examples" / "clips" / "gt" / "may.mp4"


def _cpu() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def measure(engine: str, workers: int, n: int, suite: list[str], options: dict, tmp: Path) -> dict:
    out = tmp / f"{engine}-{workers}"
    shutil.rmtree(out, ignore_errors=True)
    man = Manifest([Sample(id=f"may_{i:03d}", gt=str(CLIP)) for i in range(n)], source="benchmark")
    opts = {**options, "engine": engine}
    if engine == "ray":
        opts["ray_num_cpus"] = workers
    run(man, RunConfig(metrics=list(suite), out_dir=str(out), workers=workers, options=opts), progress=False)
    meta = json.loads((out / "run.json").read_text())["last_run"]
    done = sorted(json.loads(x)["done_s"] for x in (out / "logs" / "tasks.jsonl").read_text().splitlines())
    bad = [json.loads(x) for x in (out / "records.jsonl").read_text().splitlines() if json.loads(x)["status"] != "ok"]
    if bad:
        raise SystemExit(f"{engine} -j {workers}: {len(bad)} records not ok, e.g. {bad[0]}")
    w = min(workers, n - 1)
    steady = (n - w) / (done[-1] - done[w - 1])
    return {"engine": engine, "workers": workers, "clips": n, "wall_s": meta["wall_s"],
            "startup_s": (meta.get("engine") or {}).get("startup_s"), "first_w_s": done[w - 1],
            "steady_clips_per_s": steady}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=12)
    ap.add_argument("--workers", default="1,2")
    ap.add_argument("--engines", default="local,ray")
    ap.add_argument("--suite", action="append", default=None)
    ap.add_argument("--option", action="append", default=None, help="KEY=VALUE (default cpbd_stride=2)")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args()
    suite = a.suite or ["sharpness.cpbd"]
    options = dict(parse_option_assignment(o) for o in (a.option or ["cpbd_stride=2"]))
    workers = [int(x) for x in a.workers.split(",")]
    engines = a.engines.split(",")
    print(f"CPU: {_cpu()}, {os.cpu_count()} cores; load average before: {os.getloadavg()}")
    print(f"workload: {a.clips} x {CLIP.name}, suite {suite}, options {options}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="engine_bench_") as t:
        for e in engines:
            for w in workers:
                rows.append(measure(e, w, a.clips, suite, options, Path(t)))
                r = rows[-1]
                print(f"  {e} -j {w}: wall {r['wall_s']:.1f} s, steady {r['steady_clips_per_s']:.3f} clips/s", flush=True)
    print(f"load average after: {os.getloadavg()}\n")
    base = {r["engine"]: r["steady_clips_per_s"] for r in rows if r["workers"] == 1}
    print("| engine | workers | start-up (s) | first clip per worker (s) | steady clips/s | speed-up | efficiency |")
    print("|---|---|---|---|---|---|---|")
    for r in rows:
        b = base.get(r["engine"])
        sp = r["steady_clips_per_s"] / b if b else None
        r["speedup"] = sp
        r["efficiency"] = sp / r["workers"] if sp else None
        su = "-" if r["startup_s"] is None else f"{r['startup_s']:.1f}"
        sp_s = "-" if sp is None else f"{sp:.2f}"
        ef_s = "-" if sp is None else f"{sp / r['workers']:.2f}"
        print(f"| {r['engine']} | {r['workers']} | {su} | {r['first_w_s']:.1f} | {r['steady_clips_per_s']:.3f} | "
              f"{sp_s} | {ef_s} |")
    if a.json:
        a.json.write_text(json.dumps({"cpu": _cpu(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
