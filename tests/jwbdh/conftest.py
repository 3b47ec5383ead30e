"""Shared fixtures: small real clips cut from ../shared (see tests/data/jwbdh/make_clips.py)."""

from __future__ import annotations

import os

import pytest
from jwbdh_data import clip


@pytest.fixture(scope="session", autouse=True)
def _no_package_weights():
    """Installed carrier packages (requirements/weights.txt) are ignored here, also by the module- and
    session-scoped fixtures that run before the function-scoped one below."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AVATAR_EVAL_PACKAGE_WEIGHTS", "0")
        yield


@pytest.fixture(autouse=True)
def _offline_weights(tmp_path_factory, monkeypatch):
    """No network, no user weights, no carrier-package payloads: every weight resolves to
    WeightsUnavailable unless a test passes an explicit path. Feature cache in a temp dir."""
    monkeypatch.setenv("AVATAR_EVAL_OFFLINE", "1")
    monkeypatch.setenv("AVATAR_EVAL_PACKAGE_WEIGHTS", "0")  # installed carrier packages ignored too
    monkeypatch.setenv("AVATAR_EVAL_CACHE", str(tmp_path_factory.mktemp("wcache") / "weights"))
    monkeypatch.setenv("AVATAR_EVAL_FEATURE_CACHE", str(tmp_path_factory.mktemp("fcache")))
    monkeypatch.delenv("AVATAR_EVAL_WEIGHTS_DIR", raising=False)
    for k in list(os.environ):
        if k.startswith("AVATAR_EVAL_W_"):
            monkeypatch.delenv(k)


@pytest.fixture(scope="session")
def halfbody():
    import avatar_eval.regions.artifacts  # noqa: F401
    from avatar_eval.pipeline.context import ClipContext

    ctx = ClipContext(clip("halfbody_24f.mp4"), sample_id="hb", model="gt")
    ctx.prepare(["region_tracks", "region_crops", "region_crops.compat", "first_frames16"])
    return ctx


@pytest.fixture(scope="session")
def halfbody_masked():
    import avatar_eval.regions.artifacts  # noqa: F401
    from avatar_eval.pipeline.context import ClipContext

    ctx = ClipContext(clip("halfbody_masked_24f.mp4"), sample_id="hb", model="m")
    ctx.prepare(["region_tracks", "region_crops"])
    return ctx
