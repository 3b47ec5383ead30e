"""Issue 17 extras on real clips of ../shared, with variants whose answer is known by construction
(frozen, blurred, played at half speed). Skips with a reason when ../shared is absent."""

from __future__ import annotations

import pytest

from avatar_eval.errors import MetricUndefined
from avatar_eval.io.video import iter_frames, probe
from avatar_eval.metrics import extras
from avatar_eval.metrics.registry import get_metric
from avatar_eval.pipeline.context import ClipContext
from avatar_eval.testing import variants as V
from avatar_eval.testing.variants import _write

N = 75  # frames of each source used (3 s at 25 fps)
SAMPLE = [n for n in extras.TALKING_HEAD_EXTRAS + extras.GESTURE if get_metric(n).level == "sample"]


def _ctx(path) -> ClipContext:
    ctx = ClipContext(str(path))
    ctx.prepare(sorted({r for n in SAMPLE for r in get_metric(n).requires}))
    return ctx


def _v(ctx, name):
    try:
        return get_metric(name).compute(ctx).value
    except MetricUndefined:
        return None


@pytest.fixture(scope="module")
def variants(shared_data, tmp_path_factory):
    d = tmp_path_factory.mktemp("extras_shared")
    out = {}
    for key, src in (("head", shared_data / "talking_head" / "real3dportrait_May_5s.mp4"),
                     ("body", shared_data / "whole_body" / "seated_woman_speaking.mp4")):
        cut = V.first_frames(src, d / f"{key}.mp4", N)
        frames = [f.rgb for f in iter_frames(cut)]
        out[key] = {
            "orig": _ctx(cut),
            "frozen": _ctx(V.freeze(cut, d / f"{key}_frozen.mp4")),
            "blur": _ctx(V.blur(cut, d / f"{key}_blur.mp4", sigma=2.0)),
            "slow": _ctx(_write(d / f"{key}_slow.mp4", (f for f in frames for _ in (0, 1)), probe(cut).fps, None)),
        }
    return out


@pytest.mark.slow
def test_frozen_reads_zero_motion_and_no_blink(variants):
    for key, v in variants.items():
        assert v["frozen"].decode_count == 1
        assert _v(v["frozen"], "blink.rate") == 0.0, key
        names = ["motion.energy.head", "motion.energy.mouth", "motion.diversity.head"]
        names += ["motion.energy.body", "motion.diversity.body"] if key == "body" else []  # head crop: no shoulders
        for n in names:
            got = _v(v["frozen"], n)
            assert got is not None and abs(got) < 1e-9, (key, n, got)
            assert _v(v["orig"], n) > 0, (key, n)
        assert _v(v["frozen"], "beat.alignment") is None  # still video: undefined, not scored
    # the whole-body speaker's hands move; frozen, they do not
    assert _v(variants["body"]["orig"], "motion.energy.hands") > 0
    assert _v(variants["body"]["frozen"], "motion.energy.hands") == 0.0


@pytest.mark.slow
def test_blur_lowers_sharpness(variants):
    for key, v in variants.items():
        for n in ("sharpness.cpbd", "sharpness.cpbd.face"):
            assert _v(v["blur"], n) < _v(v["orig"], n), (key, n)


@pytest.mark.slow
def test_half_speed_halves_motion_energy(variants):
    """Every frame shown twice: the repeats are held, so the energy per second is half (re-encoding
    moves landmarks slightly: ± 15 %); the pose spread over the clip does not change (± 15 %)."""
    for key, v in variants.items():
        for n in ("motion.energy.head", "motion.energy.mouth"):
            assert _v(v["slow"], n) == pytest.approx(_v(v["orig"], n) / 2, rel=0.15), (key, n)
        assert _v(v["slow"], "motion.diversity.head") == pytest.approx(_v(v["orig"], "motion.diversity.head"),
                                                                        rel=0.15), key
