"""The official readers' frame/sample maps, and compat vs the official THEval numbers.

``official_on_shipped.csv`` holds the official scripts' values (Newbyl/THEval @ cfe23fe,
mediapipe 0.10.21, silero-vad 5.1.2, one video per process) for the three shipped GT clips,
copied from ../shared/reference/theval_official_on_shared.csv (may.mp4 = real3dportrait_May_5s,
face5.mp4 = retalking_face_5, grid_bbaf2n.mpg = grid/bbaf2n).
"""

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from avatar_eval.io.compat_readers import (
    decord_index_map,
    MoviepyExportError,
    moviepy_audio_export,
    opencv_seek_map,
)
from avatar_eval.io.video import iter_frames, probe

ROOT = Path(__file__).resolve().parents[2]
GT = ROOT / "examples" / "clips" / "gt"
GRID = GT / "grid_bbaf2n.mpg"
MAY = GT / "may.mp4"
SHIPPED = {"real3dportrait_May_5s": "may", "retalking_face_5": "face5", "bbaf2n": "grid_bbaf2n"}


def _decoded(path):
    return [f.rgb for f in iter_frames(path)]


def _identify(frame, decoded):
    errs = [np.abs(frame.astype(np.int16) - d.astype(np.int16)).mean() for d in decoded]
    i = int(np.argmin(errs))
    assert errs[i] == 0.0
    return i


@pytest.mark.parametrize("path", [GRID, MAY], ids=["mpeg-ps", "mp4"])
def test_opencv_seek_map_matches_opencv(path):
    """Replay of CAP_PROP_POS_FRAMES vs OpenCV itself: which frame does each seek+read return?"""
    import cv2

    decoded = _decoded(path)
    n = probe(path).n_frames  # must be OpenCV's CAP_PROP_FRAME_COUNT
    cap = cv2.VideoCapture(str(path))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == n
    targets = [0, 1, 2, 5, 12, 13, 14, 15, 30, 50, n - 1]
    real = []
    for t in targets:
        cap.set(cv2.CAP_PROP_POS_FRAMES, t)
        ok, bgr = cap.read()
        real.append(_identify(bgr[:, :, ::-1], decoded) if ok else None)
    cap.release()
    ours = opencv_seek_map(path, targets, n)
    assert (targets if ours is None else ours) == real
    if path == GRID:  # GRID's MPEG-PS: seeks land on the second GOP
        assert real[:8] == [12, 13, 13, 13, 13, 13, 14, 15]


def test_decord_map_grid_and_mp4():
    # decord 0.6.0 on this clip returns frames 12…74 then repeats 74 (measured with decord itself;
    # decord is not a dependency, so the measurement is pinned here).
    m = decord_index_map(GRID, 75)
    assert m[:3] == [12, 13, 14] and m[62] == 74 and m[-1] == 74 and len(m) == 75
    assert decord_index_map(MAY, 125) is None


def test_moviepy_export_replay_on_a_ramp():
    fps = 44100
    s = ((np.arange(300_000) % 1000) / 1000.0 * 0.9).astype(np.float32)
    out = moviepy_audio_export(s, fps, duration=300_000 / fps)
    q = (32768 * np.clip(np.round(s * 32768) / 32768, -0.99, 0.99)).astype(np.int16) / 32768
    assert out.size == int(fps * 300_000 / fps)
    np.testing.assert_array_equal(out[:190_000], q[:190_000])
    # the first buffer refill keeps one sample too many: everything after is one sample late
    np.testing.assert_array_equal(out[210_000:290_000], q[209_999:289_999])


def test_moviepy_export_pads_to_listed_duration():
    fps = 44100
    s = np.linspace(0.0, 0.9, 3 * fps).astype(np.float32)  # 3.00 s of audio, clip listed as 3.04 s
    out = moviepy_audio_export(s, fps, duration=3.04)
    assert out.size == int(fps * 3.04)
    np.testing.assert_allclose(out[: 3 * fps - 2000], s[: 3 * fps - 2000], atol=1e-4)
    # past the data moviepy's recentred buffer serves earlier samples again (not zeros, not the end)
    tail = out[3 * fps:]
    assert tail.min() > 0.2 and tail.max() < s[-1] - 0.1


def test_moviepy_export_short_audio_is_rotated_or_fails():
    fps = 44100
    s = np.linspace(-0.5, 0.5, 2 * fps).astype(np.float32)  # 2 s: the first 11 801 samples come from the end
    out = moviepy_audio_export(s, fps, duration=2.0)
    shift = 100_000 - s.size + 1
    assert out[0] == pytest.approx(s[s.size - shift], abs=1e-4)
    assert out[shift] == pytest.approx(s[0], abs=1e-4)
    with pytest.raises(MoviepyExportError, match="moviepy"):
        moviepy_audio_export(s[:fps], fps, duration=1.0)


#: Tolerance per metric vs the official numbers, set from the measured cross-CPU spread, not from
#: how close this machine happens to be. The official values were made on an AVX2/AVX-512 CPU path;
#: on that path compat agrees within 0.21 % (docs/theval.md#agreement). MediaPipe's XNNPACK picks
#: other kernels on first-generation AMD Zen, and the same venv under ``qemu-x86_64 -cpu EPYC``
#: (which reproduces that CPU's values exactly) moves these three clips by up to: lip dynamics
#: 0.14 %, eyebrow 1.16 %, silent-lip stability 2.33 %, lip-sync 0.71 %
#: (benchmarks/data/cpu_spread_shipped.json; docs/reproducibility.md). Tolerance ≈ 2× that, so
#: the test passes on every CPU path yet still fails on a real compat regression (the GRID seek
#: bug this file pins moved silent-lip by > 20 %, the BT.709 decode bug moved it by 20 %).
OFFICIAL_TOLERANCE = {
    "lip_dynamics": 0.005,
    "eyebrow_dynamics": 0.025,
    "silent_lip_stability": 0.05,
    "lip_sync": 0.015,
}


@pytest.mark.slow
def test_compat_agrees_with_official_on_shipped_clips():
    """Within 1 % on the CPU path the official numbers were made on; within the tolerances above
    (measured cross-CPU spread) on every path."""
    from avatar_eval.metrics.registry import get_metric
    from avatar_eval.pipeline.context import ClipContext

    cols = {
        "lip_dynamics": "theval.lip_dynamics.compat",
        "eyebrow_dynamics": "theval.eyebrow_dynamics.compat",
        "silent_lip_stability": "theval.silent_lip_stability.compat",
        "lip_sync": "theval.lip_sync.compat",
    }
    rows = list(csv.DictReader(open(ROOT / "tests" / "data" / "theval" / "official_on_shipped.csv")))
    assert len(rows) == 3
    for row in rows:
        stem = next(v for k, v in SHIPPED.items() if k in row["video_path"])
        path = next(GT.glob(stem + ".*"))
        ctx = ClipContext(str(path))
        ms = [get_metric(m) for m in cols.values()]
        ctx.prepare([r for m in ms for r in m.requires])
        for col, m in zip(cols, ms):
            ref = float(row[col])
            got = m.compute(ctx).value
            assert not math.isnan(ref)
            assert got == pytest.approx(ref, rel=OFFICIAL_TOLERANCE[col]), (path.name, col, got, ref)
