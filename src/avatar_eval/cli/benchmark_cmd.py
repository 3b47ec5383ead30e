"""``avatar-eval build-benchmark``: raw videos -> annotated, filtered benchmark (docs/benchmark.md)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def build_benchmark(
    raw_dir: Path = typer.Argument(..., help="Folder of raw videos (searched recursively)."),
    out: Path = typer.Option(..., "--out", "-o", help="Benchmark folder: manifest.jsonl, annotations/, rejected.jsonl, "
                             "summary.md, durations.png, videos/, audio/, reference/."),
    min_duration: float = typer.Option(3.0, "--min-duration", help="Shortest clip kept, seconds."),
    max_duration: float = typer.Option(20.0, "--max-duration", help="Longest clip kept, seconds."),
    require: str = typer.Option("face,speech", "--require", help="Comma-separated: face, hands, speech, body "
                                "(clips lacking one are rejected with the reason)."),
    fps: float | None = typer.Option(None, "--fps", help="Required frame rate (± 1 %); other clips are rejected."),
    asr_model: str | None = typer.Option(None, "--asr-model", help="faster-whisper model name or folder "
                                            "(default tiny.en, offline)."),
    vad: str = typer.Option("silero-v5", "--vad", help="VAD model: silero-v5 (bundled) or silero-v6."),
) -> None:
    """Annotate every raw clip from one decode (speech, words, face/hand boxes, body, motion, reference
    frame), filter, and write a manifest for `avatar-eval generate --benchmark` and `run --manifest`.
    Reruns resume: a clip already done from the same bytes and settings is not redone."""
    from ..benchmark.builder import BuildSettings, ClipOutcome, build
    from ..errors import AvatarEvalError

    def show(o: ClipOutcome) -> None:
        colour = "green" if o.status == "accepted" else "yellow"
        tag = " (reused)" if o.reused else ""
        console.print(f"[{colour}]{o.status:8}[/{colour}] {o.id}{tag}" + (f"  {o.reason}" if o.reason else ""),
                      soft_wrap=True, highlight=False)

    try:
        settings = BuildSettings(min_duration=min_duration, max_duration=max_duration,
                                 require=tuple(require.split(",")), fps=fps, asr_model=asr_model, vad_model=vad)
        outcomes = build(raw_dir, out, settings, progress=show)
    except AvatarEvalError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    t = Table(title="benchmark")
    for c in ("clips", "accepted", "rejected", "reused"):
        t.add_column(c)
    t.add_row(str(len(outcomes)), str(sum(o.status == "accepted" for o in outcomes)),
              str(sum(o.status == "rejected" for o in outcomes)), str(sum(o.reused for o in outcomes)))
    console.print(t)
    console.print(f"manifest: {out / 'manifest.jsonl'}   summary: {out / 'summary.md'}", soft_wrap=True, highlight=False)
