"""The lock (requirements/lock.txt, made by pip-compile) agrees with pyproject.toml and with this
environment, so a fresh install from it gets what CI tested.

Regenerate: see docs/reproducibility.md#the-lock (the command is also in the lock's header)."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "lock.txt"


def _pins() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==(\S+)", line)
        if m:
            pins[canonicalize_name(m.group(1))] = m.group(2)
    return pins


def _project_requirements() -> list[Requirement]:
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return [Requirement(r) for r in [*meta["dependencies"], *meta["optional-dependencies"]["dev"]]]


def test_lock_header_names_the_command_that_made_it():
    head = LOCK.read_text().splitlines()[:8]
    assert any("pip-compile" in ln and "--extra=dev" in ln and "pyproject.toml" in ln for ln in head), head


def test_every_project_requirement_is_pinned_within_its_range():
    pins = _pins()
    assert len(pins) > 50
    for req in _project_requirements():
        name = canonicalize_name(req.name)
        assert name in pins, f"{req.name} is in pyproject.toml but not in the lock: regenerate it"
        assert req.specifier.contains(Version(pins[name]), prereleases=True), (
            f"lock pins {req.name}=={pins[name]}, outside pyproject's {req.specifier}: regenerate the lock")


def test_this_environment_is_the_locked_one():
    """The README installs with ``-c requirements/lock.txt``: a drift here means the venv was made
    another way (then numbers may differ from CI's: docs/reproducibility.md)."""
    drift = []
    for name, pinned in _pins().items():
        if name in ("pip", "setuptools", "wheel"):
            continue  # installer tooling, not a dependency of a number
        try:
            got = version(name)
        except PackageNotFoundError:
            drift.append(f"{name}: not installed (lock {pinned})")
            continue
        if Version(got) != Version(pinned):
            drift.append(f"{name}: {got} installed, lock {pinned}")
    assert not drift, "environment differs from requirements/lock.txt:\n" + "\n".join(drift)
