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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from avatar_eval.report.timing import headline, run_timing  # noqa: E402


def print_run(run_dir: Path) -> None:
    last = json.loads((run_dir / "run.json").read_text()).get("last_run") or {}
    rt = run_timing(last)
    if rt is None:
        print(f"{run_dir}: run.json has no timings")
        return
    print(f"{run_dir}: {headline(rt)}")
    print(f"  {'stage':44s} {'seconds':>9s} {'share':>6s} {'frames/s':>9s}")
    for s in rt.stages:
        fps = f"{s.frames_per_s:9.1f}" if s.frames_per_s else "        -"
        print(f"  {s.name:44s} {s.seconds:9.3f} {s.share:6.1%} {fps}")
    for note in rt.notes():
        print("  " + note)


def main() -> None:
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    for d in sys.argv[1:]:
        print_run(Path(d))


if __name__ == "__main__":
    main()
