"""``avatar-eval``: run protocols, show results, list metrics; weights / speech / study groups."""

from __future__ import annotations

import os
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

os.environ.setdefault("GLOG_minloglevel", "2")  # MediaPipe's C++ logging
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

app = typer.Typer(no_args_is_help=True, add_completion=False, help="Evaluate talking-avatar videos.")
console = Console()


def _mount() -> None:
    from . import benchmark_cmd, doctor_cmd, generate_cmd, report_cmd, speech_cmd, study_cmd, weights_cmd

    app.add_typer(weights_cmd.app, name="weights", help="Model weights: list, where, pull, verify.")
    app.add_typer(speech_cmd.app, name="speech", help="Speech protocol: ASR/WER and pairwise judge win-rates.")
    app.add_typer(study_cmd.app, name="study", help="Human preference studies (2AFC / GSB) and their analysis.")
    app.command(name="doctor")(doctor_cmd.doctor)
    app.command(name="report")(report_cmd.report)
    app.command(name="site")(report_cmd.site)
    app.command(name="generate")(generate_cmd.generate)
    app.command(name="build-benchmark")(benchmark_cmd.build_benchmark)


@app.command()
def run(
    ctx: typer.Context,
    out: Path = typer.Option(..., "--out", "-o", help="Run directory (records.jsonl, run.json, reports)."),
    suite: list[str] = typer.Option(["theval"], "--suite", "-s", help="Suites or metric names (repeatable)."),
    gt: Path | None = typer.Option(None, "--gt", help="Folder of ground-truth videos."),
    model: list[str] = typer.Option([], "--model", "-m", help="NAME=FOLDER of generated videos (repeatable)."),
    manifest: Path | None = typer.Option(None, "--manifest", help="YAML/JSONL manifest instead of folders."),
    workers: int | None = typer.Option(None, "--workers", "-j", help="Worker processes (one clip each); default: "
                                          "the CPU cores this process may use, at most one per 2 GiB of available "
                                          "memory ($AVATAR_EVAL_WORKERS overrides)."),
    vad: str = typer.Option("silero-v5", "--vad", help="VAD model: silero-v5 (bundled) or silero-v6 (package)."),
    theval_variant: str = typer.Option("paper", "--theval-variant", help="Final-score metrics: paper or compat."),
    reference: str | None = typer.Option(None, "--reference", help="Stored GT reference set for the THEval final score."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    keep_errors: bool = typer.Option(False, "--keep-errors", help="On a rerun, keep error records instead of retrying them."),
    overwrite: bool = typer.Option(False, "--overwrite", help="The --out directory holds another configuration: move its "
                                   "records aside (records.jsonl.<timestamp>.bak) and start afresh."),
    option: list[str] = typer.Option([], "--option", help="KEY=VALUE run option (repeatable; VALUE read as YAML; "
                                     "`avatar-eval options` lists the keys). Wins over --config."),
    config: Path | None = typer.Option(None, "--config", help="YAML/JSON file of run settings (suite, gt, model, "
                                          "manifest, workers, theval_variant, reference) and `options:`; the "
                                          "command line wins over it."),
    reports: bool = typer.Option(True, "--reports/--no-reports", help="Write the report files after the run "
                                 "(report.html, leaderboard.md/.csv, summary.*, theval_scores.*, radar.png, report.json); "
                                 "`avatar-eval report OUT` writes them later."),
    engine: str | None = typer.Option(None, "--engine", help="local (process pool, default) or ray (one Ray "
                                         "task per clip; pip install 'avatar-eval[ray]'). Same records either way."),
    ray_address: str | None = typer.Option(None, "--ray-address", help="With --engine ray: auto, HOST:PORT of an "
                                              "existing cluster (default: a local Ray instance)."),
    shard: str | None = typer.Option(None, "--shard", help="I/N: compute only shard I of N (samples by a hash "
                                        "of their id); join the shards with `avatar-eval merge`."),
) -> None:
    """Evaluate every clip of every model (and the GT) with the chosen suites; reruns resume.

    A rerun reuses a record only when what it was computed from is unchanged (metric version,
    options, weights, input file); errors are retried unless --keep-errors. A rerun with another
    configuration (--vad, --theval-variant, --reference, a metric version) is refused: use a new
    --out, or --overwrite. The runner computes records; the report files are written afterwards
    from them (the same as `avatar-eval report OUT`)."""
    from ..errors import AvatarEvalError
    from ..options import load_config, parse_option_assignment, validate_options
    from ..pipeline.manifest import attach_model_folders, from_folders, load_manifest
    from ..pipeline.runner import RunConfig
    from ..pipeline.runner import run as do_run

    def given(name: str) -> bool:
        src = ctx.get_parameter_source(name)  # typer may carry its own click: compare by name
        return src is not None and getattr(src, "name", "") not in ("DEFAULT", "DEFAULT_MAP")

    try:
        opts: dict = {}
        if config is not None:  # settings from the file unless given on the command line
            conf = load_config(config)
            opts.update(conf.get("options") or {})
            if "suite" in conf and not given("suite"):
                suite = [conf["suite"]] if isinstance(conf["suite"], str) else list(conf["suite"])
            if "gt" in conf and not given("gt"):
                gt = Path(conf["gt"])
            if "model" in conf and not given("model"):
                m = conf["model"]
                model = [f"{k}={v}" for k, v in m.items()] if isinstance(m, dict) else list(m)
            if "manifest" in conf and not given("manifest"):
                manifest = Path(conf["manifest"])
            if "workers" in conf and not given("workers"):
                workers = int(conf["workers"])
            if "theval_variant" in conf and not given("theval_variant"):
                theval_variant = str(conf["theval_variant"])
            if "reference" in conf and not given("reference"):
                reference = conf["reference"]
        if given("vad") or "vad_model" not in opts:
            opts["vad_model"] = vad
        for text in option:
            k, v = parse_option_assignment(text)
            opts[k] = v
        if engine is not None:
            opts["engine"] = engine
        if ray_address is not None:
            opts["ray_address"] = ray_address
            opts.setdefault("engine", "ray")
        opts = validate_options(opts)  # before any clip is decoded
        from ..pipeline.runner import parse_shard

        shard_t = parse_shard(shard) if shard is not None else None
        if workers is None:
            workers, why = default_workers()
            console.print(f"workers: {workers} ({why}; -j N to choose)", highlight=False)
        models = {}
        for spec in model:
            if "=" not in spec:
                raise typer.BadParameter(f"--model takes NAME=FOLDER, got {spec!r}")
            name, folder = spec.split("=", 1)
            models[name] = folder
        if manifest is not None:
            man = load_manifest(manifest)
            if models:
                man = attach_model_folders(man, models)
        else:
            if not models and gt is None:
                raise typer.BadParameter("give --manifest, or --gt and/or --model NAME=FOLDER")
            man = from_folders(gt, models)
        from ..metrics.registry import DEPRECATED_NAMES, deprecation_message

        for n in suite:
            if n in DEPRECATED_NAMES:
                console.print(f"[yellow]warning:[/yellow] {deprecation_message(n)}", highlight=False)
        cfg = RunConfig(metrics=list(suite), out_dir=str(out), workers=workers, options=opts,
                        theval_variant=theval_variant, reference=reference, keep_errors=keep_errors,
                        overwrite=overwrite, reports=reports, shard=shard_t)
        store = do_run(man, cfg, progress=not no_progress)
        if cfg.reports:
            _write_reports(out, store, cfg)
    except AvatarEvalError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    recs = store.records()
    last = _last_run(out)
    for p in last.get("moved_aside", []):
        console.print(f"moved aside: {p}")
    if "records_reused" in last:
        console.print(f"{last['records_written']} records computed, {last['records_reused']} reused")
    eng = last.get("engine") or {}
    if eng.get("engine") == "ray":
        console.print(f"ray: {eng.get('nodes')} nodes, {eng.get('cluster_cpus')} CPUs, {eng.get('cluster_gpus')} GPUs, "
                      f"start-up {eng.get('startup_s', 0):.1f} s; clips by node: {last.get('clips_by_worker')}",
                      highlight=False, soft_wrap=True)
    n = {s: sum(r.status == s for r in recs) for s in ("ok", "skipped", "error")}
    console.print(f"{len(recs)} records in {out / 'records.jsonl'}: {n['ok']} ok, {n['skipped']} skipped, {n['error']} error")
    console.print(f"show them with: avatar-eval show {out}")
    if cfg.reports and (out / "report.html").is_file():
        console.print(f"report: {out / 'report.html'}", soft_wrap=True, highlight=False)
    if not cfg.reports:
        console.print(f"write the report files with: avatar-eval report {out}", soft_wrap=True, highlight=False)


#: memory a worker may take (Face Mesh + Pose + Hands, torch, one clip's tracks), for the default -j
WORKER_MEMORY_GIB = 2.0


def default_workers() -> tuple[int, str]:
    """The default worker count and why: $AVATAR_EVAL_WORKERS, else usable cores bounded by memory."""
    env = os.environ.get("AVATAR_EVAL_WORKERS")
    if env:
        try:
            return max(1, int(env)), "AVATAR_EVAL_WORKERS"
        except ValueError:
            pass
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    avail = None
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) / 2**20  # GiB
    except OSError:
        pass
    if avail is None:
        return cores, f"{cores} cores"
    by_mem = max(1, int(avail // WORKER_MEMORY_GIB))
    return min(cores, by_mem), f"{cores} cores, {avail:.0f} GiB available: ≤ 1 worker per {WORKER_MEMORY_GIB:g} GiB"


def _write_reports(out: Path, store, cfg) -> None:
    """The run directory's reports (``run`` and ``merge`` write the same ones)."""
    from ..report.build import build_reports

    build_reports(out, store.records(), theval_variant=cfg.theval_variant,  # type: ignore[arg-type]
                  reference=cfg.reference)


def _last_run(out: Path) -> dict:
    import json

    try:
        return json.loads((out / "run.json").read_text()).get("last_run") or {}
    except (OSError, ValueError):
        return {}


@app.command()
def merge(
    shards: list[Path] = typer.Argument(..., help="Shard run directories (avatar-eval run --shard I/N --out DIR)."),
    out: Path = typer.Option(..., "--out", "-o", help="Run directory to write (records.jsonl, run.json, reports)."),
    no_progress: bool = typer.Option(False, "--no-progress", help="No progress bar."),
    reports: bool = typer.Option(True, "--reports/--no-reports", help="Write the report files after the merge."),
) -> None:
    """Join shard runs into one run: refuses shards of different configurations (naming what
    differs) or a missing shard; one record per key; dataset metrics (FID/FVD) reduced from the
    shards' cached clip features."""
    from ..errors import AvatarEvalError
    from ..pipeline.merge import merge_shards

    try:
        store, cfg = merge_shards([str(p) for p in shards], str(out), progress=not no_progress)
        if reports:
            _write_reports(out, store, cfg)
    except AvatarEvalError as e:
        console.print(f"[red]error:[/red] {e}")
        raise typer.Exit(2) from None
    recs = store.records()
    n = {s: sum(r.status == s for r in recs) for s in ("ok", "skipped", "error")}
    console.print(f"{len(shards)} shards -> {len(recs)} records in {out / 'records.jsonl'}: {n['ok']} ok, "
                  f"{n['skipped']} skipped, {n['error']} error")


@app.command()
def show(run_dir: Path = typer.Argument(..., help="A run directory.")) -> None:
    """Leaderboard of a run in the terminal."""
    from ..report.terminal import show_run

    if not (run_dir / "records.jsonl").exists():
        console.print(f"[red]error:[/red] no records.jsonl in {run_dir}")
        raise typer.Exit(2)
    show_run(run_dir, console)


@app.command()
def options() -> None:
    """List the run options (--option KEY=VALUE, or `options:` in --config): family, type, default."""
    from ..options import option_table

    t = Table(title="run options")
    for c in ("family", "key", "type", "default", "help"):
        t.add_column(c, overflow="fold")
    for r in option_table():
        t.add_row(r["family"], r["key"], r["type"].replace("typing.", ""), repr(r["default"]), r["help"])
    console.print(t)


@app.command()
def metrics(
    protocol: str | None = typer.Option(None, "--protocol", "-p", help="Only this protocol."),
    name: str | None = typer.Argument(None, help="Show one metric in detail."),
    wide: bool = typer.Option(False, "--wide", help="Also print each metric's description."),
) -> None:
    """List the registered metrics and suites (one line each; `metrics NAME` for a metric's details
    or a suite's metrics)."""
    import warnings

    from ..errors import UnknownNameError
    from ..metrics.registry import (
        DEPRECATED_NAMES,
        deprecation_message,
        get_metric_class,
        is_registered,
        list_metrics,
        list_suites,
    )

    if name and name in list_suites() and not is_registered(name):
        from ..metrics.registry import resolve_metrics

        members = resolve_metrics([name])
        console.print(f"[bold]suite[/bold]: {name}: {list_suites()[name]}", highlight=False)
        console.print(f"[bold]metrics[/bold] ({len(members)}):", highlight=False)
        for n in members:
            cls = get_metric_class(n)
            needs = [*cls.requires, *getattr(cls, "pair_requires", ())]
            console.print(f"  {n}  [dim]{cls.level}, needs {', '.join(needs) or '-'}"
                          f"{', weights' if cls.weights else ''}[/dim]", highlight=False, soft_wrap=True)
        return
    if name:
        if name in DEPRECATED_NAMES:
            console.print(f"[yellow]warning:[/yellow] {deprecation_message(name)}", markup=True, highlight=False)
        try:
            with warnings.catch_warnings():  # said above, in words
                warnings.simplefilter("ignore", DeprecationWarning)
                cls = get_metric_class(name)
        except UnknownNameError as e:
            console.print(f"[red]error:[/red] {e}")
            raise typer.Exit(2) from None
        from ..metrics.registry import origin

        for k, v in cls.info().items():
            console.print(f"[bold]{k}[/bold]: {v}")
        o = origin(cls.name)
        how = "" if o.literal else f"  ({o.how}: the name is assembled in code, not written as a literal)"
        console.print(f"[bold]defined at[/bold]: {o}{how}", soft_wrap=True, highlight=False)
        return
    arrow = {True: "↑", False: "↓", None: "≈GT"}
    ms = list_metrics(protocol)
    width = max(60, console.width)
    nw = max([len("name")] + [len(m.name) for m in ms])
    head = f"{'name':<{nw}}  {'level':<7} {'dir':<3} {'wts':<3} "
    console.print(head + "needs", style="bold", highlight=False, markup=False, no_wrap=True, crop=True)
    room = max(8, width - len(head))
    for m in ms:
        needs = ", ".join(m.requires)
        if len(needs) > room:
            needs = needs[: room - 1] + "…"
        line = f"{m.name:<{nw}}  {m.level:<7} {arrow[m.higher_is_better]:<3} {'yes' if m.weights else '-':<3} {needs}"
        console.print(line, highlight=False, markup=False, no_wrap=True, crop=True)
        if wide:
            console.print("    " + m.description, highlight=False, markup=False, soft_wrap=False)
    console.print("details and file:line: avatar-eval metrics NAME; descriptions: --wide",
                  soft_wrap=True, highlight=False)
    s = Table(title="suites", box=None, pad_edge=False, header_style="bold")
    s.add_column("suite", no_wrap=True)
    s.add_column("description", overflow="fold")
    for k, v in list_suites().items():
        s.add_row(k, v)
    console.print(s)


@app.command()
def version() -> None:
    """Print the package version."""
    from .. import __version__

    console.print(__version__)


def main() -> None:
    app()


_mount()

if __name__ == "__main__":  # pragma: no cover
    main()
