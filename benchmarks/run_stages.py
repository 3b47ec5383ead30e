"""Where a run's time went: frames/s and share of the wall time per stage, from its run.json.

    python benchmarks/run_stages.py RUN_DIR [RUN_DIR ...]

Reads ``last_run`` of ``RUN_DIR/run.json`` (written by ``avatar-eval run``): the jobs' stages
(``timings_s``: decode, each frame artifact / tracker, each value artifact, ``metric:<name>``,
``pair:<artifact>``, the pair pass, artifact store I/O, ``job_other``), the main process's own
(``main_s``: planning, run.json, record I/O) and each worker's start-up. Stage times are exclusive
(a nested stage counts under its own name only) and summed over all clips and workers, so with
``-j N`` they add up to about N × the wall time; frames/s per stage is frames decoded (generated
clips) / seconds in that stage.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

NON_STAGE = ("total", "decode_passes")


def stage_table(last: dict) -> list[tuple[str, float]]:
    """(stage, seconds) of a run's jobs, largest first."""
    t = last.get("timings_s") or {}
    return sorted(((k, float(v)) for k, v in t.items() if k not in NON_STAGE), key=lambda kv: -kv[1])


def print_run(run_dir: Path) -> None:
    last = json.loads((run_dir / "run.json").read_text()).get("last_run") or {}
    frames = int(last.get("frames") or 0)
    wall = float(last.get("wall_s") or 0.0)
    t = last.get("timings_s") or {}
    jobs = float(t.get("total") or 0.0)
    print(f"{run_dir}: {last.get('clips', 0)} clips, {frames} frames, jobs wall {wall:.2f} s "
          f"({frames / wall if wall else 0:.1f} frames/s), jobs' time {jobs:.2f} s, "
          f"{int(t.get('decode_passes') or 0)} decode passes")
    print(f"  {'stage':44s} {'seconds':>9s} {'share':>6s} {'frames/s':>9s}")
    for k, v in stage_table(last):
        if v < 5e-4:
            continue
        share = v / jobs if jobs else 0.0
        fps = f"{frames / v:9.1f}" if v > 0 and frames else "        -"
        print(f"  {k:44s} {v:9.3f} {share:6.1%} {fps}")
    main = last.get("main_s") or {}
    if main:
        print("  main process: " + ", ".join(f"{k} {v:.3f} s" for k, v in main.items()))
    start = last.get("worker_startup_s") or {}
    if start:
        print("  worker start-up: " + ", ".join(f"{k} {v:.2f} s" for k, v in start.items()))


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for d in sys.argv[1:]:
        print_run(Path(d))


if __name__ == "__main__":
    main()
