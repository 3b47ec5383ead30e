"""Issue 12, item 1: the dynamics of a still face are zero (default / paper variants).

Known answer by construction: a frozen copy of a real clip (every frame written as its first frame
with PyAV, H.264 CRF 18: ``testing.variants.freeze``) has no motion, and neither has that copy
re-encoded at CRF 23 (coding noise only). The default lip, eyebrow and head-motion dynamics of both
must be ≤ 1 % of the moving original's. Before the default track held still frames
(regions/face_mesh.py) Face Mesh's tracker jitter gave 1.9–7.1 % on these three clips (docs/theval.md,
"Still frames"). The compat variants are left as the official scripts compute them (jitter
included): tests/theval/test_compat_readers.py pins them to the official values.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from avatar_eval.metrics.registry import get_metric
from avatar_eval.pipeline.context import ClipContext
from avatar_eval.testing import variants as V

GT = Path(__file__).resolve().parents[2] / "examples" / "clips" / "gt"
CLIPS = ("may.mp4", "face5.mp4", "grid_bbaf2n.mpg")
DYNAMICS = ("theval.lip_dynamics", "theval.eyebrow_dynamics", "theval.head_motion.offline")
#: the issue's bound. With the hold the frozen values are exactly 0 on this machine; the bound is
#: not a tolerance for CPU spread (a still frame's landmarks are copied, not re-measured).
STILL_REL = 0.01


class _Track:
    """A clip context stand-in that serves one landmark track (for the tracker's own rows)."""

    def __init__(self, track):
        self.track = track

    def get(self, name):
        return self.track


def _values(ctx) -> dict[str, float]:
    return {m: float(get_metric(m).compute(ctx).value) for m in DYNAMICS}


@pytest.fixture(scope="module")
def still_copies(tmp_path_factory):
    """{clip: (original, frozen CRF 18, frozen re-encoded at CRF 23)}."""
    d = tmp_path_factory.mktemp("still")
    out = {}
    for name in CLIPS:
        src = GT / name
        frozen = V.freeze(src, d / f"{src.stem}_frozen.mp4")
        out[name] = (src, frozen, V.reencode(frozen, d / f"{src.stem}_frozen_crf23.mp4", crf=23))
    return out


@pytest.mark.parametrize("name", CLIPS)
def test_frozen_clip_dynamics_are_zero(still_copies, name):
    import avatar_eval.metrics.theval  # noqa: F401

    src, frozen, crf23 = still_copies[name]
    moving = _values(ClipContext(str(src)))
    for kind, path in (("frozen", frozen), ("frozen, CRF 23", crf23)):
        ctx = ClipContext(str(path))
        got = _values(ctx)
        for m in DYNAMICS:
            assert moving[m] > 0
            assert got[m] <= STILL_REL * moving[m], (
                f"{name} {kind}: {m} = {got[m]:.6g} is {got[m] / moving[m]:.2%} of the moving clip's "
                f"{moving[m]:.6g} (must be ≤ {STILL_REL:.0%})")
        t = ctx.get("face_mesh")
        assert t.n_present == t.n_frames
        # every frame after the first is still: the whole clip reports the first frame's landmarks
        assert t.n_held == t.n_frames - 1
        assert get_metric("theval.lip_dynamics").compute(ctx).details["n_still_frames"] == t.n_frames - 1


@pytest.mark.parametrize("name", CLIPS)
def test_moving_clip_values_barely_change(name):
    """On the moving originals the hold touches only near-duplicate frames: the values differ
    from the tracker's own rows by ≤ 2 % (measured ≤ 0.64 %, face5 eyebrow; may and GRID hold 0
    and 1 frames). 2 %: about 3× the measured change, since the few held frames replace tracker
    jitter whose size moves across CPUs."""
    import avatar_eval.metrics.theval  # noqa: F401

    ctx = ClipContext(str(GT / name))
    held = _values(ctx)
    raw = _values(_Track(ctx.get("face_mesh").tracker))
    for m in DYNAMICS:
        assert abs(held[m] - raw[m]) <= 0.02 * raw[m], (m, held[m], raw[m])


# -- real clips of ../shared ------------------------------------------------------------------------
#: open (docs/theval.md, "Still frames"): none since the luma rule and the key-frame refresh. The six
#: that were open drifted > 1 level from the anchor on x264's key frame 250 (up to 3.8 levels at
#: CRF 23: the four 15-20-s clips and styletalk_KristiNoem) or on 4:2:0 chroma noise (lrwp9a: 1.04
#: on channels averaged, 0.50 on luma). Pixel facts of the decoded copies, not CPU-dependent.
STILL_OPEN: set[str] = set()


@pytest.mark.slow
def test_frozen_shared_clips_dynamics_are_zero(shared_data, tmp_path):
    """The same on every talking-head clip of ../shared (12 + 7 GRID), frozen and frozen + CRF 23: every
    clip not in STILL_OPEN (now all 19) reads ≤ 1 % (in fact 0); a clip newly failing, or one of
    STILL_OPEN passing, fails the test (move it)."""
    import avatar_eval.metrics.theval  # noqa: F401

    th = shared_data / "talking_head"
    srcs = sorted(th.glob("*.mp4")) + sorted((th / "grid").glob("*.mpg"))
    assert len(srcs) >= 19
    bad = []
    for src in srcs:
        moving = _values(ClipContext(str(src)))
        frozen = V.freeze(src, tmp_path / f"{src.stem}_frozen.mp4")
        crf23 = V.reencode(frozen, tmp_path / f"{src.stem}_crf23.mp4", crf=23)
        for kind, path in (("frozen", frozen), ("crf23", crf23)):
            got = _values(ClipContext(str(path)))
            bad += [(src.stem, kind, m, got[m] / moving[m]) for m in DYNAMICS if not got[m] <= STILL_REL * moving[m]]
        frozen.unlink()
        crf23.unlink()
    assert {b[0] for b in bad} == STILL_OPEN, bad


def test_frozen_values_are_zero_up_to_float_rounding(still_copies):
    """A held track has no motion at all: the frozen clip's dynamics are 0 up to the rounding of
    a std over identical numbers (≈ 1e-14 here; bound 1e-9 of the moving value), not jitter that
    happens to be small — which is what lets the doctor expect ≈ 0 on its frozen model."""
    import avatar_eval.metrics.theval  # noqa: F401

    src, frozen, crf23 = still_copies["may.mp4"]
    moving = _values(ClipContext(str(src)))
    for path in (frozen, crf23):
        got = _values(ClipContext(str(path)))
        for m in DYNAMICS:
            assert 0.0 <= got[m] <= 1e-9 * moving[m], (m, got[m])
