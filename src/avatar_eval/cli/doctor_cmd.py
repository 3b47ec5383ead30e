"""``avatar-eval doctor``: prove that this install reproduces the reference numbers."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def doctor(
    full: bool = typer.Option(False, "--full", help="Also check weight-backed metrics whose weights are present."),
    clips: Path | None = typer.Option(None, "--clips", help="The example clips folder (default: examples/clips)."),
    workers: int = typer.Option(2, "-j", "--workers", help="Worker processes."),
    all_rows: bool = typer.Option(False, "--all", help="Print every check, not only failures and a summary per metric."),
    json_out: Path | None = typer.Option(None, "--json", help="Also write the checks as JSON."),
    record: bool = typer.Option(False, "--record", help="Maintainers: write the expected values from this install."),
) -> None:
    """Run every offline metric on the shipped clips and compare with the stored expected values.

    Exit status 1 on any failure. Tolerances come from the measured cross-CPU spread
    (docs/reproducibility.md)."""
    from .. import doctor as D
    from ..provenance import environment_summary

    if record:
        n = D.record_expected(clips, workers)
        console.print(f"wrote {n} expected values to {D.EXPECTED_FILE}")
        return
    try:
        res = D.doctor(full=full, clips=clips, workers=workers)
    except FileNotFoundError as e:
        console.print(f"[red]{e}[/red]")
        raise typer.Exit(2) from None

    console.print(f"[bold]environment[/bold]: {environment_summary(res.environment)}")
    exp_env = res.expected_environment
    if exp_env:
        console.print(f"[bold]expected values recorded on[/bold]: {environment_summary(exp_env)}")
    _weights_line()

    per_metric: dict[str, list] = {}
    for c in res.checks:
        per_metric.setdefault(c.metric, []).append(c)
    t = Table(title="avatar-eval doctor")
    for col in ("metric", "checks", "worst |Δ|/expected", "tolerance", "result", "why this tolerance"):
        t.add_column(col)
    for metric, cs in sorted(per_metric.items()):
        rels = [abs(c.rel_diff) for c in cs if c.rel_diff is not None]
        bad = [c for c in cs if not c.passed]
        tol = cs[0].tol
        t.add_row(metric, str(len(cs)), f"{max(rels):.3%}" if rels else "-",
                  f"{tol.rel:.0%} / {tol.abs:g}", "[green]pass[/green]" if not bad else f"[red]{len(bad)} fail[/red]",
                  tol.why)
    console.print(t)
    rows = res.checks if all_rows else res.failures
    if rows:
        d = Table(title="all checks" if all_rows else "failures")
        for col in ("metric", "model", "clip", "expected", "got", "tolerance", "pass"):
            d.add_column(col)
        for c in rows:
            d.add_row(c.metric, c.model, c.sample, D.fmt(c.expected), D.fmt(c.got),
                      f"{c.tol.rel:.0%} / {c.tol.abs:g}", "yes" if c.passed else "[red]NO[/red]")
        console.print(d)
    if res.missing_expectations:
        console.print(f"[red]{len(res.missing_expectations)} values have no expected value[/red] "
                      f"(e.g. {res.missing_expectations[0]}): the expected file is older than this version")
    n_ok = sum(c.passed for c in res.checks)
    console.print(f"{n_ok} of {len(res.checks)} checks pass in {res.wall_s:.0f} s")
    if json_out:
        json_out.write_text(json.dumps({
            "ok": res.ok, "environment": res.environment,
            "checks": [{"metric": c.metric, "model": c.model, "sample": c.sample, "expected": c.expected,
                        "got": c.got, "rel": c.tol.rel, "abs": c.tol.abs, "passed": c.passed} for c in res.checks],
            "missing": res.missing_expectations}, indent=1, default=str))
    if not res.ok:
        raise typer.Exit(1)


def _weights_line() -> None:
    try:
        from ..weights.catalog import CATALOG
        from ..weights.resolve import locate

        names = sorted(spec.name for spec in CATALOG)
        found = [n for n in names if locate(n) is not None]
        console.print(f"[bold]weights found[/bold]: {len(found)} of {len(names)}"
                      + (f" ({', '.join(found)})" if found else ""))
    except Exception as e:  # noqa: BLE001 - the doctor reports, it does not fail on its own listing
        console.print(f"weights: could not list ({type(e).__name__}: {e})")
