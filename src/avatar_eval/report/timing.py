"""Where a run's time went, from ``run.json``'s ``last_run`` (written by the runner).

``timings_s`` attributes the jobs' time to stages (decode, each frame artifact / tracker, each
value artifact, ``metric:<name>``, ``pair:<artifact>``, ``pair_pass``, artifact store I/O,
``job_other``); stage times are exclusive and summed over clips and workers, so with ``-j N`` they
add up to about N × the wall time. ``main_s`` is the main process's own (planning, run.json,
record I/O), ``worker_startup_s`` each worker's start-up. Frames/s of a stage = frames decoded (of
the generated clips) / seconds in that stage. Used by the HTML report and Markdown leaderboard
(section "Where the time went") and by ``benchmarks/run_stages.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: keys of ``timings_s`` that are not stages
NON_STAGE = ("total", "decode_passes")


@dataclass(frozen=True)
class Stage:
    name: str
    seconds: float
    share: float  # of the jobs' time
    frames_per_s: float | None


@dataclass(frozen=True)
class RunTiming:
    wall_s: float
    jobs_s: float
    clips: int
    frames: int
    decode_passes: int
    stages: list[Stage]
    main_s: dict[str, float]
    worker_startup_s: dict[str, float]

    @property
    def frames_per_s(self) -> float | None:
        return self.frames / self.wall_s if self.wall_s > 0 and self.frames else None

    def notes(self) -> list[str]:
        """The main process's stages and each worker's start-up, one line each (when recorded)."""
        out = []
        if self.main_s:
            out.append("main process: " + ", ".join(f"{k} {v:.3f} s" for k, v in self.main_s.items()))
        if self.worker_startup_s:
            out.append("worker start-up: " + ", ".join(f"{k} {v:.2f} s" for k, v in self.worker_startup_s.items()))
        return out


def run_timing(last: dict[str, Any] | None, *, min_seconds: float = 5e-4) -> RunTiming | None:
    """The timing of a run's last invocation (``run.json["last_run"]``), stages largest first;
    None when there is none (an old run.json, or records exported on their own)."""
    if not isinstance(last, dict) or not isinstance(last.get("timings_s"), dict):
        return None
    t = last["timings_s"]
    frames = int(last.get("frames") or 0)
    jobs = float(t.get("total") or 0.0)
    stages = []
    for k, v in sorted(((k, float(v)) for k, v in t.items() if k not in NON_STAGE), key=lambda kv: -kv[1]):
        if v < min_seconds:
            continue
        stages.append(Stage(k, v, v / jobs if jobs else 0.0, frames / v if v > 0 and frames else None))
    return RunTiming(float(last.get("wall_s") or 0.0), jobs, int(last.get("clips") or 0), frames,
                     int(t.get("decode_passes") or 0), stages,
                     {k: float(v) for k, v in (last.get("main_s") or {}).items()},
                     {k: float(v) for k, v in (last.get("worker_startup_s") or {}).items()})


def headline(rt: RunTiming) -> str:
    fps = f" ({rt.frames_per_s:.1f} frames/s)" if rt.frames_per_s else ""
    return (f"{rt.clips} clips, {rt.frames} frames, jobs wall {rt.wall_s:.2f} s{fps}, jobs' time "
            f"{rt.jobs_s:.2f} s, {rt.decode_passes} decode passes")


def timing_markdown(last: dict[str, Any] | None, *, top: int = 15) -> str:
    """A Markdown section: the headline, the ``top`` largest stages, the main process and start-up."""
    rt = run_timing(last)
    if rt is None or not rt.stages:
        return ""
    lines = ["## Where the time went (last invocation)", "", headline(rt), "",
             "| stage | seconds | share | frames/s |", "|---|---|---|---|"]
    for s in rt.stages[:top]:
        fps = f"{s.frames_per_s:.1f}" if s.frames_per_s else "-"
        lines.append(f"| {s.name} | {s.seconds:.3f} | {s.share:.1%} | {fps} |")
    if len(rt.stages) > top:
        rest = sum(s.seconds for s in rt.stages[top:])
        lines.append(f"| ({len(rt.stages) - top} more) | {rest:.3f} | {rest / rt.jobs_s if rt.jobs_s else 0:.1%} | - |")
    for note in rt.notes():
        lines += ["", note[0].upper() + note[1:]]
    return "\n".join(lines)
