"""Blink statistics: EAR formula on hand-placed points, the run rule, and hand-counted blinks."""

import numpy as np
import pytest

from avatar_eval.metrics.functional import blink as B


def _face(eye_pts_right, eye_pts_left=None):
    p = np.zeros((1, 478, 2))
    for idx, xy in zip(B.RIGHT_EYE, eye_pts_right):
        p[0, idx] = xy
    for idx, xy in zip(B.LEFT_EYE, eye_pts_left or eye_pts_right):
        p[0, idx] = xy
    return p


def test_ear_hand_computed():
    # p1=(0,0) p2=(1,1) p3=(3,1) p4=(4,0) p5=(3,-1) p6=(1,-1): (2 + 2) / (2·4) = 0.5
    eye = [(0, 0), (1, 1), (3, 1), (4, 0), (3, -1), (1, -1)]
    assert B.eye_aspect_ratio(_face(eye), B.RIGHT_EYE)[0] == pytest.approx(0.5)
    # the other eye half as open: (1 + 1) / 8 = 0.25; the per-frame EAR averages both eyes
    half = [(0, 0), (1, 0.5), (3, 0.5), (4, 0), (3, -0.5), (1, -0.5)]
    assert B.ear(_face(eye, half))[0] == pytest.approx(0.375)
    assert np.isnan(B.ear(np.full((1, 478, 2), np.nan))[0])


def test_blink_rule_and_stats():
    e = np.array([0.3, 0.1, 0.1, 0.3, 0.1, 0.3, 0.15, 0.15, 0.15, 0.3, 0.1, np.nan, 0.1, 0.3])
    # runs of ≥ 2 frames below 0.2; the single-frame dip (4) and runs cut by NaN (10, 12) are not blinks
    assert B.detect_blinks(e) == [(1, 2), (6, 8)]
    st = B.blink_stats(e, fps=25.0)
    assert st["n_blinks"] == 2
    assert st["rate_per_min"] == pytest.approx(2 / (14 / 25 / 60))
    assert st["mean_duration_s"] == pytest.approx((2 + 3) / 2 / 25)
    assert np.isnan(B.blink_stats(np.full(10, 0.3), 25.0)["mean_duration_s"])
    assert B.detect_blinks(np.array([0.1, 0.1])) == [(0, 1)]  # a run reaching the end counts


# Hand count (looking at the eye crops frame by frame, with the EAR trace beside them):
#   gt/may.mp4: 2 blinks, closed at frames 5–8 and 100–101 (eyes open elsewhere, EAR ≥ 0.24)
#   gt/grid_bbaf2n.mpg: 2 blinks, closed at frames 42–44 and 50–53 (reopened at 45–48)
#   gt/face5.mp4: 2 closures, frames 9–11 and 15–17, the eye partly reopening in between (iris
#     visible at 12–14): counted as 2 blinks
#   frozen/*: the first frame repeated, eyes open: 0 blinks
HAND_COUNT = {"gt/may.mp4": 2, "gt/grid_bbaf2n.mpg": 2, "gt/face5.mp4": 2,
              "frozen/may.mp4": 0, "frozen/grid_bbaf2n.mp4": 0, "frozen/face5.mp4": 0}
HAND_FRAMES = {"gt/may.mp4": [(5, 8), (100, 101)], "gt/grid_bbaf2n.mpg": [(42, 44), (50, 53)],
               "gt/face5.mp4": [(9, 11), (15, 17)]}


@pytest.mark.parametrize("clip", sorted(HAND_COUNT))
def test_blink_count_matches_hand_count(clips, clip):
    from avatar_eval.pipeline.context import ClipContext

    ctx = ClipContext(str(clips / clip))
    e = B.ear(ctx.get("face_mesh").pixels())
    blinks = B.detect_blinks(e)
    assert len(blinks) == HAND_COUNT[clip], (blinks, np.round(e, 2).tolist())
    for (a, b), (ha, hb) in zip(blinks, HAND_FRAMES.get(clip, [])):
        assert a <= hb and b >= ha, "a detected blink overlaps the hand-marked closure"
