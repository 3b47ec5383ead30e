"""``avatar-eval generate``: produce each model's outputs for a benchmark, then ``avatar-eval run`` them."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def generate(
    benchmark: Path = typer.Option(..., "--benchmark", "-b", help="Benchmark manifest (YAML/JSONL: id, gt, audio, "
                                   "reference_image, transcript, prompt)."),
    model: list[str] = typer.Option([], "--model", "-m", help="NAME=\"COMMAND TEMPLATE\" with {output} and any of "
                                    "{id} {reference_image} {audio} {transcript} {prompt} {gt} {fps} {width} {height} "
                                    "{duration} {log}; or NAME=module:function (repeatable)."),
    baseline: list[str] = typer.Option([], "--baseline", help="Reference baselines to build, comma-separated or "
                                       "repeated: still, gt-copy, gt-shifted, gt-swapped, gt-frozen, or 'all'."),
    out: Path = typer.Option(..., "--out", "-o", help="Output folder: OUT/NAME/<sample id>.mp4, logs/, generate.jsonl."),
    workers: int = typer.Option(1, "--workers", "-j", help="Samples generated at once."),
    timeout: float = typer.Option(3600.0, "--timeout", help="Seconds a generation may take."),
    retries: int = typer.Option(0, "--retries", help="Retries of a failed or timed-out generation."),
    fps: float | None = typer.Option(None, "--fps", help="Requested frame rate (default: the GT's)."),
    resolution: str | None = typer.Option(None, "--resolution", help="Requested WxH (checked on the output)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Regenerate samples already generated."),
) -> None:
    """Fill each model's command per sample, collect outputs by sample id, validate them; reruns resume.

    Evaluate afterwards with: avatar-eval run --manifest BENCH --model NAME=OUT/NAME --suite ... --out RUN"""
    from ..errors import AvatarEvalError
    from ..generation.adapter import GenerationResult, Generator, parse_generator
    from ..generation.adapter import generate as do_generate
    from ..generation.baselines import BASELINES
    from ..pipeline.manifest import load_manifest

    try:
        man = load_manifest(benchmark)
        gens: list[Generator] = [parse_generator(m) for m in model]
        kinds: list[str] = []
        for b in baseline:
            for k in (x.strip() for x in b.split(",") if x.strip()):
                kinds.extend(BASELINES if k == "all" else [k])
        for k in dict.fromkeys(kinds):
            gens.append(parse_generator(f"{k}=baseline:{k}"))
        if not gens:
            raise typer.BadParameter("give --model NAME=COMMAND and/or --baseline KIND")
        names = [g.name for g in gens]
        if len(set(names)) != len(names):
            raise typer.BadParameter(f"model names repeat: {names}")
        res_wh = None
        if resolution:
            try:
                w, h = (int(x) for x in resolution.lower().split("x"))
                res_wh = (w, h)
            except ValueError:
                raise typer.BadParameter(f"--resolution takes WxH, got {resolution!r}") from None

        def show(r: GenerationResult) -> None:
            colour = {"ok": "green", "reused": "dim", "invalid": "yellow", "failed": "red"}[r.status]
            console.print(f"[{colour}]{r.status:8}[/{colour}] {r.model}/{r.sample_id}"
                          + (f"  {r.reason}" if r.reason else ""), soft_wrap=True, highlight=False)

        results = do_generate(man, gens, out, workers=workers, timeout=timeout, retries=retries, fps=fps,
                              resolution=res_wh, overwrite=overwrite, progress=show)
    except AvatarEvalError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    t = Table(title="generated")
    for c in ("model", "ok", "reused", "invalid", "failed"):
        t.add_column(c)
    for g in gens:
        rs = [r for r in results if r.model == g.name]
        t.add_row(g.name, *(str(sum(r.status == s for r in rs)) for s in ("ok", "reused", "invalid", "failed")))
    console.print(t)
    models = " ".join(f"--model {g.name}={out / g.name}" for g in gens)
    console.print(f"evaluate with: avatar-eval run --manifest {benchmark} {models} --suite theval --out RUN_DIR",
                  soft_wrap=True, highlight=False)
    if any(r.status == "failed" for r in results):
        raise typer.Exit(1)
