"""``avatar-eval speech``: transcribe, wer, judge, judge-import, table (see docs/speech.md).

Per-item problems (missing or unreadable audio, too long, judge failures) are records with status
``error`` in ``OUT/records.jsonl``; the command still exits 0 and prints how many there were. Exit
code 1: a setup problem (no ASR model, no API key, bad utterance set); 2: bad arguments.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from ..results.bootstrap import DEFAULT_N_BOOT

app = typer.Typer(no_args_is_help=True, help="Speech protocol: ASR WER, pairwise judge win-rates, Table 1.")
_err = Console(stderr=True)
_out = Console()


# options shared by several commands (typer style of the whole CLI: `name: T = typer.Option(default, ...)`)
def _out_opt(default: Any = ...) -> Any:
    return typer.Option(default, "--out", "-o", help="run directory (records.jsonl, tables)")


def _utt_opt(default: Any = ...) -> Any:
    return typer.Option(default, "--utterances", "-u", help="utterance set: .jsonl/.json/.csv/.tsv or a folder of audio + .txt")


def _sys_opt(default: Any = ...) -> Any:
    return typer.Option(default, "--system", "-s", help="NAME=FOLDER of a system's audio/video files (repeat); default: the "
    "utterance set's own folder, named after it")


def _asr_opt(default: Any = ...) -> Any:
    return typer.Option(default, "--asr-model", help="Whisper name (tiny.en, large-v3, ...) or CTranslate2 model directory; default: the packaged tiny.en")


def _max_dur_opt(default: Any = ...) -> Any:
    return typer.Option(default, "--max-duration", help="refuse audio longer than this (seconds)")


def _beam_opt(default: Any = ...) -> Any:
    return typer.Option(default, "--beam-size", help="beam size of the decoder")


def _keep_errors_opt(default: Any = ...) -> Any:
    return typer.Option(default, "--keep-errors", help="on a rerun, keep error records instead of retrying them (same rule as `avatar-eval run`)")


def _fail(msg: str, code: int = 1) -> None:
    _err.print(f"[red]error:[/red] {msg}", highlight=False)
    raise typer.Exit(code)


def _systems(specs: list[str] | None, utterances: Path) -> dict[str, Path]:
    if not specs:
        folder = utterances if utterances.is_dir() else utterances.parent
        return {folder.resolve().name: folder}
    out: dict[str, Path] = {}
    for s in specs:
        if "=" not in s:
            _fail(f"--system {s!r}: use NAME=FOLDER", 2)
        name, folder = s.split("=", 1)
        if not name or name in out:
            _fail(f"--system {s!r}: empty or repeated system name", 2)
        out[name] = Path(folder)
    return out


def _asr(model: str | None, max_duration: float, beam_size: int):
    from ..errors import WeightsUnavailable
    from ..speech.asr import WhisperAsr

    try:
        return WhisperAsr(model, max_duration_s=max_duration, beam_size=beam_size)
    except WeightsUnavailable as e:
        _fail(str(e))


def _load(utterances: Path, any_category: bool):
    from ..errors import InputError
    from ..speech.utterances import load_utterances

    try:
        return load_utterances(utterances, strict_categories=not any_category)
    except InputError as e:
        _fail(str(e))


def _progress(system: str, uid: str, rec) -> None:
    if rec.status == "ok":
        v = f"{rec.value:.3f}"
        extra = rec.details.get("outcome") or rec.details.get("hypothesis", "")[:60]
    else:
        v, extra = rec.status, f"{rec.reason}: {rec.message}"[:120]
    _err.print(f"  {system} / {uid}: {v}  {extra}", highlight=False, markup=False)


@app.command()
def transcribe(
    files: list[Path] = typer.Argument(..., help="audio or video files"),
    asr_model: str | None = _asr_opt(None),
    max_duration: float = _max_dur_opt(1200.0),
    beam_size: int = _beam_opt(5),
    as_json: bool = typer.Option(False, "--json", help="one JSON object per file (words, language, model)"),
) -> None:
    """Transcribe files with word timestamps; states which ASR model produced each transcript."""
    from ..errors import InputError

    asr = _asr(asr_model, max_duration, beam_size)
    bad = 0
    for f in files:
        try:
            tr = asr.transcribe(f)
        except InputError as e:
            bad += 1
            if as_json:
                print(json.dumps({"file": str(f), "error": str(e)}))
            else:
                _err.print(f"{f}: [red]{e}[/red]", highlight=False)
            continue
        if as_json:
            print(json.dumps(dict(tr.to_dict(), file=str(f)), ensure_ascii=False))
        else:
            m = tr.model
            _out.print(f"[bold]{f}[/bold] ({tr.duration_s:.1f} s, language {tr.language}, "
                       f"{m['name']} from {m['source']})", highlight=False)
            _out.print(f"  {tr.text}", highlight=False, markup=False)
            if tr.flags:
                _out.print(f"  flags: {', '.join(tr.flags)}", highlight=False)
    if bad:
        raise typer.Exit(1)


@app.command()
def wer(
    utterances: Path = _utt_opt(),
    out: Path = _out_opt(),
    system: list[str] | None = _sys_opt(None),
    asr_model: str | None = _asr_opt(None),
    max_duration: float = _max_dur_opt(1200.0),
    beam_size: int = _beam_opt(5),
    any_category: bool = typer.Option(False, "--any-category", help="accept categories beyond the JWB-DH four"),
    keep_errors: bool = _keep_errors_opt(False),
    retry_errors: bool = typer.Option(True, help="older spelling: --no-retry-errors = --keep-errors", hidden=True),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Transcribe every system's audio of every utterance and score WER/CER (resumable: a record is
    reused only when the audio, the reference, the ASR model and options are unchanged; errors are
    retried unless --keep-errors)."""
    from ..errors import InputError
    from ..results.store import RecordStore
    from ..speech.evaluate import run_wer
    from ..speech.report import summarize, table1_markdown

    utts = _load(utterances, any_category)
    systems = _systems(system, utterances)
    asr = _asr(asr_model, max_duration, beam_size)
    store = RecordStore(out / "records.jsonl")
    m = asr.describe()
    _err.print(f"ASR: faster-whisper {m['engine_version']} {m['name']} ({m['source']}: {m['path']})",
               highlight=False)
    try:
        s = run_wer(utts, systems, store, asr, keep_errors=keep_errors or not retry_errors,
                    progress=None if quiet else _progress)
    except InputError as e:
        _fail(str(e))
    _err.print(f"{s.done} transcribed ({s.errors} errors, {s.skipped} skipped), {s.resumed} resumed "
               f"from {store.path}", highlight=False)
    sys.stdout.write(table1_markdown(summarize(store.records()), details=True))


def _make_judge(backend: str, judge_model: str | None, base_url: str | None, api_key_env: str | None,
                command: str | None, timeout: float, retries: int, rpm: float | None):
    from ..speech.judge import CommandJudge, HttpJudge

    if backend in ("openai", "gemini"):
        if not judge_model:
            _fail(f"--backend {backend} needs --judge-model (e.g. gpt-4o-audio-preview, gemini-2.5-pro)", 2)
        return HttpJudge(judge_model, api=backend, base_url=base_url, api_key_env=api_key_env,
                         timeout_s=timeout, max_retries=retries, requests_per_minute=rpm)
    if backend == "command":
        if not command:
            _fail("--backend command needs --command 'PROGRAM {audio_a} {audio_b} ...'", 2)
        return CommandJudge(command, timeout_s=timeout)
    _fail(f"unknown --backend {backend!r}: openai, gemini or command (human votes: judge-import)", 2)


@app.command()
def judge(
    utterances: Path = _utt_opt(),
    out: Path = _out_opt(),
    baseline: str = typer.Option(..., help="name of the baseline system"),
    system: list[str] = typer.Option(..., "--system", "-s", help="NAME=FOLDER (repeat; include the baseline)"),
    backend: str = typer.Option("openai", help="openai | gemini | command"),
    judge_model: str | None = typer.Option(None, help="API model name"),
    base_url: str | None = typer.Option(None, help="API base URL (OpenAI-compatible servers, proxies)"),
    api_key_env: str | None = typer.Option(None, help="environment variable holding the API key"),
    command: str | None = typer.Option(None, help="judge program for --backend command"),
    seed: int = typer.Option(0, help="seed of the per-comparison A/B order"),
    workers: int = typer.Option(1, help="comparisons in flight"),
    rpm: float | None = typer.Option(None, help="rate limit, requests per minute"),
    timeout: float = typer.Option(120.0, help="seconds per request"),
    retries: int = typer.Option(4, help="transport retries (429, 5xx, timeouts, malformed)"),
    parse_retries: int = typer.Option(2, help="re-asks when the verdict is unparseable"),
    cache: Path | None = typer.Option(None, help="verdict cache (default OUT/judge_cache.jsonl)"),
    template: Path | None = typer.Option(None, help="prompt template file ({text}, {tts_prompt}, {criteria}, {category_label})"),
    any_category: bool = typer.Option(False, "--any-category"),
    keep_errors: bool = _keep_errors_opt(False),
    retry_errors: bool = typer.Option(True, help="older spelling: --no-retry-errors = --keep-errors", hidden=True),
    quiet: bool = typer.Option(False, "--quiet", "-q"),
) -> None:
    """Pairwise judge every candidate against the baseline per utterance (resumable, cached: a
    record is reused only when both audio files, the judge, baseline, seed and prompt are unchanged;
    errors are retried unless --keep-errors)."""
    from ..errors import InputError
    from ..results.store import RecordStore
    from ..speech.evaluate import run_judging
    from ..speech.judge import VerdictCache
    from ..speech.report import summarize, table1_markdown

    utts = _load(utterances, any_category)
    systems = _systems(system, utterances)
    j = _make_judge(backend, judge_model, base_url, api_key_env, command, timeout, retries, rpm)
    store = RecordStore(out / "records.jsonl")
    vc = VerdictCache(cache or out / "judge_cache.jsonl")
    tmpl = template.read_text("utf-8") if template else None
    try:
        s = run_judging(utts, systems, baseline, j, store, cache=vc, seed=seed,
                        parse_retries=parse_retries, template=tmpl, workers=workers,
                        keep_errors=keep_errors or not retry_errors, progress=None if quiet else _progress)
    except InputError as e:
        _fail(str(e))
    _err.print(f"{s.done} judged ({s.errors} errors), {s.resumed} resumed; judge {j.identity}",
               highlight=False)
    unavailable = [r for r in store.records() if r.reason == "judge_unavailable"]
    sys.stdout.write(table1_markdown(summarize(store.records(), baseline=baseline)))
    if unavailable and s.done and s.errors == s.done:
        _fail(unavailable[0].message or "judge unavailable")


@app.command("judge-import")
def judge_import(
    utterances: Path = _utt_opt(),
    out: Path = _out_opt(),
    votes: Path = typer.Option(..., help="the study app's vote export (.csv/.jsonl)"),
    baseline: str = typer.Option(..., help="name of the baseline system"),
    dimension: str | None = typer.Option(None, help="only votes of this study dimension"),
    any_category: bool = typer.Option(False, "--any-category"),
) -> None:
    """Import human pairwise votes (study app export) as judge records."""
    from ..results.store import RecordStore
    from ..speech.evaluate import import_study_votes

    utts = _load(utterances, any_category)
    if not votes.exists():
        _fail(f"vote export not found: {votes}")
    store = RecordStore(out / "records.jsonl")
    s = import_study_votes(votes, utts, baseline, store, dimension=dimension)
    _err.print(f"{s.done} votes imported ({s.errors} errors), {s.resumed} already there", highlight=False)


@app.command()
def table(
    out: Path = _out_opt(),
    baseline: str | None = typer.Option(None, help="baseline (default: the one in the records)"),
    n_boot: int = typer.Option(DEFAULT_N_BOOT, help="bootstrap resamples"),
    seed: int = typer.Option(0, help="bootstrap seed"),
    fmt: str = typer.Option("md", "--format", help="md | csv | json (printed; all three are written)"),
) -> None:
    """Write OUT/speech_table1.md, .csv and speech_summary.json from OUT/records.jsonl."""
    from ..results.store import RecordStore, atomic_write_text
    from ..speech.report import summarize, table1_csv, table1_markdown

    path = out / "records.jsonl"
    if not path.exists():
        _fail(f"no records at {path}: run `avatar-eval speech wer` / `judge` first")
    s = summarize(RecordStore(path).records(), baseline=baseline, n_boot=n_boot, seed=seed)
    md, csv_text = table1_markdown(s), table1_csv(s)
    js = json.dumps(s.to_dict(), indent=2, default=str)
    atomic_write_text(out / "speech_table1.md", md)
    atomic_write_text(out / "speech_table1.csv", csv_text)
    atomic_write_text(out / "speech_summary.json", js)
    sys.stdout.write({"md": md, "csv": csv_text, "json": js + "\n"}.get(fmt, md))
