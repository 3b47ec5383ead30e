"""One typer style across the CLI: ``name: T = typer.Option(default, "--flag", help=...)``
(and ``typer.Argument``), never ``Annotated[T, typer.Option(...)]`` beside it."""

from __future__ import annotations

import ast
from pathlib import Path

CLI = Path(__file__).resolve().parents[2] / "src" / "avatar_eval" / "cli"


def test_cli_modules_use_one_typer_style():
    mixed = []
    for f in sorted(CLI.glob("*.py")):
        tree = ast.parse(f.read_text("utf-8"))
        for n in ast.walk(tree):
            if isinstance(n, ast.Subscript) and isinstance(n.value, ast.Name) and n.value.id == "Annotated":
                mixed.append(f"{f.name}:{n.lineno}")
    assert mixed == [], f"Annotated[...] parameters (use `name: T = typer.Option(default, ...)`): {mixed}"
    assert len(list(CLI.glob("*_cmd.py"))) >= 5  # the check reads the real command modules
