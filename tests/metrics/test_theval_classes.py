"""The THEval landmark metric classes on a fake context: each variant row of
``metrics/theval.py`` (one class per quantity, variants as rows) reads its own track and applies
its own rule, checked on synthetic Face Mesh tracks with known answers; no video is decoded."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from avatar_eval.errors import MetricUndefined
from avatar_eval.metrics.functional import theval as F
from avatar_eval.metrics.registry import get_metric
from avatar_eval.regions.face_mesh import FaceTrack


class FakeContext:
    """Serves preset artifacts by name, as ClipContext.get does; records what was asked for."""

    def __init__(self, artifacts: dict[str, Any], fps: float = 25.0):
        self.artifacts = artifacts
        self.fps = fps
        self.asked: list[str] = []

    def get(self, name: str) -> Any:
        self.asked.append(name)
        return self.artifacts[name]


def _track(lm: np.ndarray, w: int = 512, h: int = 512) -> FaceTrack:
    t = len(lm)
    return FaceTrack(landmarks=lm.astype(np.float32), width=w, height=h, src_width=w, src_height=h,
                     times=np.arange(t) / 25.0, frame_indices=np.arange(t), config={})


def _moving(t: int = 30, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    base = rng.uniform(0.3, 0.7, size=(1, 478, 3))
    return base + rng.normal(0, 0.002, size=(t, 478, 3))


def _still(t: int = 30) -> np.ndarray:
    return np.repeat(_moving(1), t, axis=0)


def _no_face(t: int = 30) -> np.ndarray:
    return np.full((t, 478, 3), np.nan)


LIP = {"theval.lip_dynamics": "face_mesh", "theval.lip_dynamics.compat": "face_mesh.theval_256"}
BROW = {"theval.eyebrow_dynamics": "face_mesh", "theval.eyebrow_dynamics.compat": "face_mesh.theval_full"}


@pytest.mark.parametrize("name", sorted(LIP))
def test_lip_dynamics_rows_read_their_track_and_formula(name):
    ctx = FakeContext({LIP[name]: _track(_moving())})
    got = get_metric(name).compute(ctx).value
    lips = ctx.artifacts[LIP[name]].landmarks[:, list(F.LIP_INDICES), :2].astype(np.float64) * 256.0
    ddof = 0 if name.endswith(".compat") else 1  # compat: np.std as lip_dynamics.py; paper: ddof=1
    assert ctx.asked == [LIP[name]]
    assert got == F.lip_dynamics(lips, ddof=ddof)
    assert got > 0
    # a still face: zero up to the std's rounding of identical floats
    assert get_metric(name).compute(FakeContext({LIP[name]: _track(_still())})).value == pytest.approx(0, abs=1e-12)


def test_lip_dynamics_without_a_face_paper_undefined_compat_zero():
    with pytest.raises(MetricUndefined):
        get_metric("theval.lip_dynamics").compute(FakeContext({"face_mesh": _track(_no_face())}))
    v = get_metric("theval.lip_dynamics.compat").compute(FakeContext({"face_mesh.theval_256": _track(_no_face())}))
    assert v.value == 0.0 and "public code" in v.details["note"]


@pytest.mark.parametrize("name", sorted(BROW))
def test_eyebrow_rows_read_their_track_and_formula(name):
    ctx = FakeContext({BROW[name]: _track(_moving(seed=2))})
    got = get_metric(name).compute(ctx).value
    px = ctx.artifacts[BROW[name]].pixels()
    if name.endswith(".compat"):
        want = F.eyebrow_dynamics_compat(*F.eyebrow_ratios_compat(px))
    else:
        want = F.eyebrow_dynamics_paper(*F.eyebrow_ratios(px))
    assert ctx.asked == [BROW[name]] and got == want and got > 0
    assert get_metric(name).compute(FakeContext({BROW[name]: _track(_still())})).value == pytest.approx(0, abs=1e-12)


def test_eyebrow_without_a_face_paper_undefined_compat_zero():
    with pytest.raises(MetricUndefined):
        get_metric("theval.eyebrow_dynamics").compute(FakeContext({"face_mesh": _track(_no_face())}))
    v = get_metric("theval.eyebrow_dynamics.compat").compute(FakeContext({"face_mesh.theval_full": _track(_no_face())}))
    assert v.value == 0.0


def test_every_theval_row_declares_what_it_reads():
    """A row's ``requires`` names the artifacts its compute asks the context for."""
    for name in [*LIP, *BROW]:
        m = get_metric(name)
        ctx = FakeContext({a: _track(_moving()) for a in m.requires})
        m.compute(ctx)
        assert set(ctx.asked) <= set(m.requires), (name, ctx.asked, m.requires)
