"""``avatar-eval study``: human preference studies (create / invite / serve / export / analyze)."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from ..results.bootstrap import DEFAULT_N_BOOT

app = typer.Typer(no_args_is_help=True, help="Pairwise human preference studies (2AFC / GSB).")


def _split(values: list[str] | None) -> list[str] | None:
    if not values:
        return None
    out = [v.strip() for x in values for v in x.split(",") if v.strip()]
    return out or None


@app.command()
def create(
    run_dir: Path | None = typer.Argument(
        None, help="Run directory (records.jsonl + run.json with a 'manifest' entry)."),
    out: Path = typer.Option(..., "--out", "-o", help="Study directory to create."),
    videos: Path | None = typer.Option(
        None, "--videos", help="JSON/YAML {model: {sample_id: path}} (adds to / replaces the run's "
                               "manifest; needed when run.json has no manifest)."),
    protocol: str = typer.Option("2afc", "--protocol", "-p", help="2afc or gsb."),
    models: list[str] | None = typer.Option(None, "--models", "-m",
                                               help="Models to compare (default: all but gt)."),
    samples: list[str] | None = typer.Option(None, "--samples", "-s",
                                                help="Sample ids (default: all shared ones)."),
    dimensions: list[str] | None = typer.Option(
        None, "--dimensions", "-d",
        help="Dimension keys (presets: realism, overall, text_alignment, lip_sync, identity, "
             "visual_quality). Default: realism (2afc) / JoyAvatar's five (gsb)."),
    pairs: int = typer.Option(10, "--pairs", help="Model pairs per participant."),
    gold: int = typer.Option(1, "--gold", help="Gold trials (GT vs degraded GT) per participant."),
    gold_dimension: str = typer.Option("", help="Dimension a gold trial is checked on "
                                                "(default: the first)."),
    include_gt: bool = typer.Option(False, "--include-gt", help="Compare GT like a model too."),
    target: str | None = typer.Option(None, "--target",
                                         help="Compare only this model against each other one "
                                              "(JoyAvatar GSB style)."),
    title: str | None = typer.Option(None, help="Title shown to participants."),
    instructions: Path | None = typer.Option(None, help="Text file with the instructions."),
    no_full_play: bool = typer.Option(False, "--no-full-play",
                                      help="Allow answering before the videos were watched."),
    participants: int = typer.Option(0, "--participants", "-n",
                                     help="Invites to create now (links in invites.csv)."),
    base_url: str = typer.Option("http://127.0.0.1:8000", help="Public URL for invite links."),
    db: str | None = typer.Option(None, help="SQLAlchemy URL (default sqlite in the study)."),
    seed: int = typer.Option(0, help="Seed of the pair assignment."),
    overwrite: bool = typer.Option(False, help="Replace an existing study directory."),
) -> None:
    """Make a study from a run: pairs of models on the same clips, gold trials, invites."""
    import warnings

    from ..study.create import StudyError, create_study

    if run_dir is None and videos is None:
        raise typer.BadParameter("give a RUN_DIR or --videos MAPPING")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cfg, invites = create_study(
                out, run_dir=run_dir, videos=videos, protocol=protocol, models=_split(models),
                samples=_split(samples), dimensions=_split(dimensions), pairs_per_participant=pairs,
                gold_per_participant=gold, gold_dimension=gold_dimension, include_gt=include_gt,
                target=target, title=title,
                instructions=instructions.read_text("utf-8") if instructions else None,
                require_full_play=not no_full_play, seed=seed, participants=participants,
                base_url=base_url, db_url=db, overwrite=overwrite)
    except (StudyError, ValueError) as e:
        typer.echo(f"error: {e}", err=True)
        raise typer.Exit(2) from None
    from ..study.create import StudyWarning

    for w in caught:
        if issubclass(w.category, StudyWarning):
            typer.echo(f"warning: {w.message}", err=True)
    from ..study.config import load_or_create_secrets

    sec = load_or_create_secrets(out)
    typer.echo(f"study {cfg.study_id}: {cfg.protocol}, {len(cfg.models)} models, "
               f"{len(cfg.samples)} samples, {len(cfg.pairs)} pairs, "
               f"{cfg.trials_per_participant} trials per participant "
               f"({cfg.gold_per_participant} gold)")
    typer.echo(f"written to {out}")
    if invites:
        typer.echo(f"{len(invites)} invite links in {out / 'invites.csv'}")
    typer.echo(f"admin secret (also in {out / 'secrets.json'}): {sec['admin_secret']}")


@app.command()
def invite(
    study_dir: Path = typer.Argument(..., help="Study directory."),
    n: int = typer.Option(1, "--n", "-n", help="How many invites."),
    base_url: str = typer.Option("http://127.0.0.1:8000", help="Public URL for invite links."),
    label: str | None = typer.Option(None, help="Label stored with these participants."),
    db: str | None = typer.Option(None, help="SQLAlchemy URL (default sqlite in the study)."),
) -> None:
    """Create more invite links (appended to invites.csv and printed)."""
    from ..study.config import StudyConfig, default_db_url
    from ..study.create import invite_link, write_invites
    from ..study.db import Store

    cfg = StudyConfig.load(study_dir)
    store = Store(cfg, db or default_db_url(study_dir))
    try:
        made = store.create_participants(n, label=label)
    finally:
        store.close()
    write_invites(study_dir, made, base_url)
    for _, tok in made:
        typer.echo(invite_link(base_url, tok))


@app.command()
def serve(
    study_dir: Path = typer.Argument(..., help="Study directory."),
    host: str = typer.Option("127.0.0.1", help="Bind address (put a TLS proxy in front when "
                                                "exposing it)."),
    port: int = typer.Option(8000, help="Port."),
    db: str | None = typer.Option(None, help="SQLAlchemy URL, e.g. "
                                                "postgresql+psycopg://user:pw@host/db."),
    secure_cookie: bool = typer.Option(False, help="Mark the session cookie Secure (HTTPS)."),
    base_url: str | None = typer.Option(None, help="Public URL used for new invite links."),
) -> None:
    """Serve the study (FastAPI + uvicorn). Admin page: /admin."""
    import uvicorn

    from ..study.app import create_app

    served = base_url or f"http://{host}:{port}"
    application = create_app(study_dir, db, cookie_secure=secure_cookie, base_url=served)
    typer.echo(f"serving {study_dir} on http://{host}:{port}  (admin: /admin)")
    for line in served_invite_lines(study_dir, served):
        typer.echo(line)
    uvicorn.run(application, host=host, port=port, log_level="info",
                proxy_headers=False, server_header=False, limit_concurrency=256,
                timeout_keep_alive=10)


def served_invite_lines(study_dir: Path, served: str, limit: int = 20) -> list[str]:
    """The study's invite links on the address it is served on (``invites.csv`` keeps the base URL given
    when they were made; a link made for another port would not reach this server)."""
    import csv

    from ..study.create import invite_link

    p = Path(study_dir) / "invites.csv"
    if not p.exists():
        return []
    with open(p, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r.get("token")]
    if not rows:
        return []
    stale = [r for r in rows if not (r.get("link") or "").startswith(served.rstrip("/") + "/")]
    if not stale:
        return [f"{len(rows)} invite links in {p} point to this address"]
    out = [f"{len(stale)} of {len(rows)} invite links in {p} point elsewhere; on {served} they are:"]
    out += [f"  {r.get('participant', '')}: {invite_link(served, r['token'])}" for r in stale[:limit]]
    if len(stale) > limit:
        out.append(f"  ... and {len(stale) - limit} more (avatar-eval study invite --base-url {served} makes new ones)")
    return out


@app.command()
def export(
    study_dir: Path = typer.Argument(..., help="Study directory."),
    out: Path = typer.Option(..., "--out", "-o", help="File to write (.csv or .jsonl)."),
    db: str | None = typer.Option(None, help="SQLAlchemy URL (default sqlite in the study)."),
) -> None:
    """Export every vote (joined with trial and participant, tokens never included)."""
    from ..results.store import atomic_write_text
    from ..study.app import votes_csv
    from ..study.config import StudyConfig, default_db_url
    from ..study.db import Store

    cfg = StudyConfig.load(study_dir)
    store = Store(cfg, db or default_db_url(study_dir))
    try:
        rows = store.export_rows()
    finally:
        store.close()
    if out.suffix.lower() in (".jsonl", ".ndjson"):
        atomic_write_text(out, "".join(json.dumps(r) + "\n" for r in rows))
    else:
        atomic_write_text(out, votes_csv(rows))
    typer.echo(f"{len(rows)} votes -> {out}")


@app.command()
def analyze(
    study_dir: Path = typer.Argument(..., help="Study directory."),
    out: Path | None = typer.Option(None, "--out", "-o",
                                       help="Output folder (default STUDY/analysis)."),
    run_dir: Path | None = typer.Option(None, "--run", help="Run directory whose metrics to "
                                                               "correlate (default: the study's)."),
    scores: list[Path] | None = typer.Option(
        None, "--scores", help="Extra per-model score CSV (model + score columns), repeatable "
                               "(e.g. THEval dimension / final scores)."),
    votes: Path | None = typer.Option(None, "--votes", help="Analyse an exported CSV/JSONL "
                                                               "instead of the database."),
    db: str | None = typer.Option(None, help="SQLAlchemy URL (default sqlite in the study)."),
    dimension: str | None = typer.Option(None, help="Human dimension for the correlation "
                                                       "(default: the first)."),
    max_gold_fail_rate: float = typer.Option(0.0, help="Exclude participants failing more than "
                                                       "this share of gold trials."),
    complete_only: bool = typer.Option(False, help="Use only participants who finished."),
    n_boot: int = typer.Option(DEFAULT_N_BOOT, help="Bootstrap resamples for metric–human ρ CIs."),
    n_boot_human: int = typer.Option(1_000, help="Bootstrap resamples (participants) for win "
                                                 "rates and Bradley–Terry CIs."),
    direction: list[str] | None = typer.Option(
        None, help="Override a metric's direction: NAME=higher|lower|gt (repeatable)."),
    seed: int = typer.Option(0, help="Bootstrap seed."),
) -> None:
    """Win rates, GSB, Bradley–Terry, agreement, attention checks, metric–human Spearman ρ."""
    from ..study.analysis import AnalysisOptions, analyze_study, table2_markdown

    dirs: dict[str, bool | None] = {}
    for d in direction or []:
        name, _, v = d.partition("=")
        v = v.strip().lower()
        if v not in ("higher", "lower", "gt"):
            raise typer.BadParameter(f"--direction {d!r}: use NAME=higher|lower|gt")
        dirs[name.strip()] = {"higher": True, "lower": False, "gt": None}[v]
    opts = AnalysisOptions(n_boot=n_boot, n_boot_human=n_boot_human,
                           max_gold_fail_rate=max_gold_fail_rate, complete_only=complete_only,
                           seed=seed, correlation_dimension=dimension, directions=dirs)
    out = out or (study_dir / "analysis")
    res = analyze_study(study_dir, db_url=db, votes_file=votes, run_dir=run_dir,
                        score_files=scores or [], out_dir=out, options=opts)
    c = res.counts
    typer.echo(f"{c['participants']} participants ({c['participants_excluded']} excluded), "
               f"{c['votes_used']} judgements used")
    for dim in res.dimensions:
        t = res.win_rates[res.win_rates["dimension"] == dim].sort_values("bt_rank")
        ranking = ", ".join(f"{m} {w:.2f}" for m, w in zip(t["model"], t["win_rate"]))
        typer.echo(f"[{dim}] win rate: {ranking}")
    if not res.correlation.empty:
        typer.echo(table2_markdown(res.correlation, res.human_dimension))
    typer.echo(f"written to {out}")
