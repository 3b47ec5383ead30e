"""The linter configuration in pyproject.toml ([tool.ruff]) holds for the whole tree.

CI runs the README's test command, so this test is how CI runs ruff: a new unused import, an
unsorted import block, a bare ``raise`` inside ``except`` in the CLI or a shadowed name fails here
with ruff's own report.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _ruff() -> list[str]:
    exe = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(exe).exists():
        pytest.skip("ruff is not installed (it is in the dev extra: pip install -e '.[dev]')")
    return [exe]


def test_ruff_check_passes_on_the_tree():
    r = subprocess.run([*_ruff(), "check", "--no-cache", "src", "tests", "benchmarks"], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, f"ruff check found problems (fix them or `ruff check --fix`):\n{r.stdout}{r.stderr}"


def test_ruff_sees_a_planted_problem(tmp_path):
    # the check above cannot pass vacuously: the same configuration flags an unused import
    bad = tmp_path / "bad.py"
    bad.write_text("import os\n")
    r = subprocess.run([*_ruff(), "check", "--no-cache", "--config", str(ROOT / "pyproject.toml"), str(bad)],
                       cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert r.returncode == 1 and "F401" in r.stdout
