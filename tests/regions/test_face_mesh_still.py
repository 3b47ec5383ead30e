"""The default Face Mesh track holds still frames (regions/face_mesh.py, ``hold_still``).

Face Mesh in tracking mode does not give identical landmarks for identical frames (each frame's
crop comes from the previous frame's landmarks); the default ``face_mesh`` track keeps the last
measured frame's landmarks on a frame whose face box has not changed (docs/theval.md, "Still
frames"). The compat tracks, which replay the official scripts, keep the tracker's own rows.
Everything here runs on real frames of the shipped clips.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from avatar_eval.io.video import iter_frames, probe
from avatar_eval.pipeline.context import ClipContext
from avatar_eval.regions.face_mesh import DEFAULT_STILL_THRESHOLD, face_box, still_difference

GT = Path(__file__).resolve().parents[2] / "examples" / "clips" / "gt"


def _first_frame(path: Path) -> np.ndarray:
    return next(iter(iter_frames(path))).rgb


def _write_lossless(dst: Path, frames: list[np.ndarray], fps: float) -> Path:
    """FFV1 (lossless, intra only): every decoded frame is exactly the frame written."""
    import av

    with av.open(str(dst), "w") as c:
        vs = c.add_stream("ffv1", rate=Fraction(fps).limit_denominator(1001))
        vs.width, vs.height = frames[0].shape[1], frames[0].shape[0]
        vs.pix_fmt = "yuv420p"  # untagged 8-bit 4:2:0: the compat pixels are PyAV's (shared track)
        for img in frames:
            for p in vs.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(img), format="rgb24")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
    return dst


def test_identical_frames_give_identical_landmarks(tmp_path):
    """40 bit-identical frames (may.mp4's first, written losslessly): every row of the default
    track is the first row, bit for bit. (Before the hold, rows were the tracker's, which move on
    identical input: the frozen-clip jitter of issue 12.)"""
    import avatar_eval.metrics.theval  # noqa: F401  (registers the compat tracks)

    first = _first_frame(GT / "may.mp4")
    clip = _write_lossless(tmp_path / "same.mkv", [first] * 40, probe(GT / "may.mp4").fps)
    decoded = [f.rgb for f in iter_frames(clip)]
    assert all(np.array_equal(d, decoded[0]) for d in decoded)  # the input really is identical
    ctx = ClipContext(str(clip))
    ctx.prepare(["face_mesh", "face_mesh.theval_full"])
    t = ctx.get("face_mesh")
    assert t.n_present == 40
    assert all(np.array_equal(t.landmarks[i], t.landmarks[0]) for i in range(40))
    assert t.n_held == 39 and t.held_from.tolist() == [0] * 40
    # one Face Mesh run: the compat track (eyebrow_dynamics.py's settings) is the tracker's own rows
    assert ctx.decode_count == 1
    assert ctx.get("face_mesh.theval_full") is t.tracker
    assert np.array_equal(t.tracker.landmarks[0], t.landmarks[0])


def test_hold_off_gives_the_tracker_rows(tmp_path):
    """``face_mesh_still_threshold=None``: no hold; the track is what the tracker gave."""
    first = _first_frame(GT / "may.mp4")
    clip = _write_lossless(tmp_path / "same.mkv", [first] * 10, probe(GT / "may.mp4").fps)
    ctx = ClipContext(str(clip), options={"face_mesh_still_threshold": None})
    t = ctx.get("face_mesh")
    assert t.held_from is None and t.tracker is None and t.n_held == 0
    held = ClipContext(str(clip)).get("face_mesh")
    np.testing.assert_array_equal(t.landmarks, held.tracker.landmarks)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), "x"])
def test_bad_threshold_is_refused(bad):
    ctx = ClipContext(str(GT / "may.mp4"), options={"face_mesh_still_threshold": bad})
    with pytest.raises(ValueError, match="face_mesh_still_threshold"):
        ctx.get("face_mesh")


def test_held_rows_are_anchor_rows_and_others_the_trackers():
    """face5.mp4 (real, moving; it holds a few near-duplicate frames): a row not held is the
    tracker's row of that frame; a held row is the tracker's row of the earlier frame it was
    still against."""
    t = ClipContext(str(GT / "face5.mp4")).get("face_mesh")
    src = t.held_from
    assert src is not None and len(src) == t.n_frames
    assert (src <= np.arange(len(src))).all()
    raw = t.tracker.landmarks
    np.testing.assert_array_equal(t.landmarks, raw[src])
    anchors = src == np.arange(len(src))
    assert anchors[src].all()  # a held row's source is itself measured (never a chain of holds)


def test_still_difference_sees_a_local_change_and_not_coding_noise():
    """On may.mp4's first frame: a 3-level change over a mouth-sized patch is motion (one block
    of the 8×8 face grid moves); ±1-level noise everywhere and a second decode are still."""
    img = _first_frame(GT / "may.mp4")
    t = ClipContext(str(GT / "may.mp4")).get("face_mesh")
    box = face_box(t.tracker.landmarks[0], img.shape[1], img.shape[0])
    assert still_difference(img, img, box) == 0.0
    moved = img.astype(np.int16)
    x0, y0, x1, y1 = box
    ys = y0 + np.linspace(0, y1 - y0, 9).astype(int)  # the grid still_difference cuts
    xs = x0 + np.linspace(0, x1 - x0, 9).astype(int)
    moved[ys[6]:ys[7], xs[3]:xs[4]] += 3  # one block, about the mouth's size
    assert (moved[y0:y1, x0:x1] != img[y0:y1, x0:x1]).mean() < 0.02
    moved = np.clip(moved, 0, 255).astype(np.uint8)
    assert still_difference(moved, img, box) > DEFAULT_STILL_THRESHOLD
    rng = np.random.default_rng(0)
    noisy = np.clip(img.astype(np.int16) + rng.integers(-1, 2, img.shape), 0, 255).astype(np.uint8)
    assert still_difference(noisy, img, box) < DEFAULT_STILL_THRESHOLD


def test_still_threshold_is_in_the_fingerprint_of_every_metric_that_reads_the_track():
    """A record made with another threshold is not reused on resume: every metric that reads the
    default track (directly or through the av-offset signals) reads the option."""
    from avatar_eval.metrics.registry import get_metric, list_metrics
    from avatar_eval.pipeline.builtin_artifacts import STILL_OPTION
    from avatar_eval.pipeline.runner import _metric_options

    readers = []
    for m in list_metrics():
        metric = get_metric(m if isinstance(m, str) else m.name)
        if {"face_mesh", "av_offset.signals"} & set(metric.requires):
            readers.append(metric.name)
            assert STILL_OPTION in _metric_options(metric, {STILL_OPTION: 2.0}), metric.name
            assert metric.version != "1", metric.name  # its numbers changed with the hold
    assert {"theval.lip_dynamics", "sync.av_offset", "blink.rate"} <= set(readers)


def _write_x264(dst: Path, frames: list[np.ndarray], fps: float, crf: int, keyint: int) -> Path:
    """x264 with a key frame every ``keyint`` frames (x264's default is 250: the 10-s and longer
    clips of ../shared meet it; here it is forced so a shipped clip has one)."""
    import av

    with av.open(str(dst), "w") as c:
        vs = c.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
        vs.width, vs.height = frames[0].shape[1] // 2 * 2, frames[0].shape[0] // 2 * 2
        vs.pix_fmt = "yuv420p"
        vs.options = {"crf": str(crf), "preset": "veryfast", "x264-params": f"keyint={keyint}:min-keyint={keyint}"}
        for img in frames:
            img = np.ascontiguousarray(img[: vs.height, : vs.width])
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        for p in vs.encode():
            c.mux(p)
    return dst


def test_a_key_frame_of_a_frozen_clip_is_still(tmp_path):
    """A frozen face5 (its first frame 60 times, x264 CRF 18, then re-encoded at CRF 23), with x264
    key frames at 0, 30: the key frame re-codes the picture (its largest block differs from the
    anchor by more than 1 level), yet every row is the first frame's landmarks — the track holds a
    key frame within KEYFRAME_FACTOR × the threshold and takes it as the new pixel reference.
    Before, the key frame became a new anchor carrying one tracker jitter sample (the six
    STILL_OPEN clips of tests/theval/test_still_face.py)."""
    from avatar_eval.regions.face_mesh import KEYFRAME_FACTOR

    first = _first_frame(GT / "face5.mp4")
    fps = probe(GT / "face5.mp4").fps
    a = _write_x264(tmp_path / "a.mp4", [first] * 60, fps, 18, 30)
    b = _write_x264(tmp_path / "b.mp4", [f.rgb for f in iter_frames(a)], fps, 23, 30)
    frames = list(iter_frames(b))
    keys = [f.index for f in frames if f.av_frame.key_frame]
    assert keys == [0, 30], keys
    t = ClipContext(str(b)).get("face_mesh")
    box = face_box(t.tracker.landmarks[0], first.shape[1], first.shape[0])
    jump = still_difference(frames[30].rgb, frames[0].rgb, box)
    assert DEFAULT_STILL_THRESHOLD < jump <= KEYFRAME_FACTOR * DEFAULT_STILL_THRESHOLD, jump
    assert t.n_present == 60 and t.held_from.tolist() == [0] * 60
    assert all(np.array_equal(t.landmarks[i], t.landmarks[0]) for i in range(60))


def test_still_difference_reads_luma_not_chroma():
    """A change of colour that keeps the BT.601 luma (R up, B down in the ratio of their weights)
    is still; the same amount on the green channel alone is not."""
    from avatar_eval.regions.face_mesh import LUMA

    img = _first_frame(GT / "may.mp4")
    h, w = img.shape[:2]
    box = (w // 4, h // 4, 3 * w // 4, 3 * h // 4)
    base = np.clip(img.astype(np.float32), 40, 215)
    hue = base.copy()
    hue[..., 0] += 0.114 * 30
    hue[..., 2] -= 0.299 * 30
    assert float(np.abs((hue - base) @ LUMA).max()) < 1e-3
    assert still_difference(np.round(hue).astype(np.uint8), np.round(base).astype(np.uint8), box) < 0.6
    green = base.copy()
    green[..., 1] += 3.4
    assert still_difference(np.round(green).astype(np.uint8), np.round(base).astype(np.uint8), box) > 1.5
