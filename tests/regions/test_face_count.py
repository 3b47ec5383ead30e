"""The multi_face flag: BlazeFace (bundled with mediapipe) counts faces on sampled frames, and the
flag says which face the default Face Mesh track measured.

Known answer by construction: two real talking-head clips shipped in examples/clips put side by
side in one frame show exactly two faces; either clip alone shows one.
"""

from __future__ import annotations

import numpy as np
import pytest

from avatar_eval.io.video import iter_frames
from avatar_eval.pipeline.context import ClipContext
from avatar_eval.pipeline.flags import clip_flags
from avatar_eval.regions.face_count import FaceCount, measured_face, sample_indices
from avatar_eval.report.build import flags_markdown
from avatar_eval.testing import variants as V

N = 20  # frames per built clip: enough for 5 samples, cheap for Face Mesh


def _first(path, n=N):
    out = []
    for f in iter_frames(path):
        out.append(f.rgb)
        if len(out) == n:
            break
    return out


@pytest.fixture(scope="module")
def built(clips, tmp_path_factory):
    import cv2

    d = tmp_path_factory.mktemp("faces")
    left = _first(clips / "gt" / "may.mp4")
    right = _first(clips / "gt" / "face5.mp4")
    h = left[0].shape[0]
    right = [cv2.resize(r, (int(round(r.shape[1] * h / r.shape[0])), h), interpolation=cv2.INTER_AREA) for r in right]
    pair = V._write(d / "two_faces.mp4", (np.hstack([a, b]) for a, b in zip(left, right)), 25.0, None)
    one = V._write(d / "one_face.mp4", iter(left), 25.0, None)
    return {"pair": pair, "one": one, "left_width": left[0].shape[1]}


def _flags(path):
    ctx = ClipContext(video_path=str(path))
    ctx.prepare(["face_mesh", "face_count"])
    return ctx, clip_flags(ctx)


def test_two_faces_side_by_side_are_flagged(built):
    ctx, flags = _flags(built["pair"])
    fc = ctx.get("face_count")
    assert fc.counts == [2] * 5, (fc.frames, fc.boxes)
    f = flags["multi_face"]
    assert f["faces"] == 2 and f["frames_sampled"] == 5 and f["frames_with_several"] == 5
    assert f["measured_rank"] in (1, 2) and "Face Mesh tracks one face" in f["why"]
    # the measured box is one of the two halves: its landmark box lies inside that half
    x0, _, x1, _ = f["measured_box"]
    half = built["left_width"]
    assert x1 <= half or x0 >= half, f
    assert f["overlap_iou"] > 0.3, f
    track = ctx.get("face_mesh")
    side = "left" if x1 <= half else "right"
    lm_x = np.nanmedian(track.landmarks[:, :, 0]) * track.src_width
    assert (lm_x < half) == (side == "left")  # the whole track follows that face, not only one frame
    assert "multi_face (faces=2" in flags_markdown({"m": {"two_faces": flags}})


def test_one_face_is_not_flagged(built):
    ctx, flags = _flags(built["one"])
    assert ctx.get("face_count").counts == [1] * 5
    assert "multi_face" not in flags


def test_sample_indices_spread_over_the_clip():
    assert sample_indices(100) == [0, 25, 50, 74, 99]
    assert sample_indices(3) == [0, 1, 2]
    assert sample_indices(1) == [0]


def test_flag_without_a_track_still_counts():
    fc = FaceCount(frames=[0, 10], boxes=[[(0, 0, 10, 10, 0.9)], [(0, 0, 10, 10, 0.9), (20, 0, 25, 5, 0.8)]])
    f = measured_face(fc, None)
    assert f["faces"] == 2 and f["frames_with_several"] == 1 and "measured_rank" not in f
