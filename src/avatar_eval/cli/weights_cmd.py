"""Sub-command group (filled in by its owner module)."""

import typer

app = typer.Typer(no_args_is_help=True)
