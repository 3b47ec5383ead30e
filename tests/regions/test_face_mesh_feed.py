"""``FaceMeshAnalyzer(feed=...)``: the frames a compat track's tracker is fed, in the feed's order,
from one decode pass, also where the feed steps back (OpenCV's seeks past a timestamp gap land on
frames already passed: held-out p19, MPEG-4 in Matroska with dropped frames, whose silent-lip
compat feed goes 63, 64, 65, 66, 67, 64, 65, …). The reference is the same analyzer handed the
frames one by one in the feed's order, as the official script's loop of seeks hands them."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_eval.io.video import iter_frames
from avatar_eval.regions.face_mesh import FaceMeshAnalyzer


def _rows(track):
    return [None if np.isnan(r).all() else r for r in track.landmarks]


@pytest.mark.parametrize("feed", [
    [3, 4, 5, 6, 7, 4, 5, 6, 7, 8, 9, 10, 8, 9],  # steps back twice
    [2, 2, 5, 9, 9, 9, 12],  # non-decreasing with repeats (silent frames, repeated landings)
    [20, 1, 2, 3],  # a step back to the start: frames 1-3 kept while waiting for 20
])
def test_feed_order_is_the_trackers_order(clips, feed):
    frames = {f.index: f for f in iter_frames(clips / "gt" / "may.mp4") if f.index <= max(feed)}
    one_pass = FaceMeshAnalyzer(None, refine=True, resize=(256, 256), feed=feed)
    for i in sorted(frames):  # decode order
        one_pass.update(frames[i])
    got = one_pass.finalize()
    one_pass.close()
    ref = FaceMeshAnalyzer(None, refine=True, resize=(256, 256))
    for i in feed:  # the official loop's order
        ref.update(frames[i])
    want = ref.finalize()
    ref.close()
    assert got.frame_indices.tolist() == feed == want.frame_indices.tolist()
    assert np.array_equal(got.landmarks, want.landmarks, equal_nan=True)
    assert one_pass._kept == {}  # nothing kept once the feed is done


def test_feed_keeps_only_what_it_will_ask_for_again(clips):
    """Memory stays flat: at any frame only the frames a later entry returns to are kept (here at
    most 4, 5, 6 before frame 7 arrives and the feed steps back to 4), and none once served."""
    feed = [0, 1, 2, 3, 4, 5, 6, 7, 4, 5, 6, 7, 8, 9, 10, 11, 12]
    a = FaceMeshAnalyzer(None, refine=False, resize=(256, 256), feed=feed)
    kept = []
    for f in iter_frames(clips / "gt" / "may.mp4"):
        if f.index > 14:
            break
        a.update(f)
        kept.append(sorted(a._kept))
    a.close()
    assert max(len(k) for k in kept) == 3
    assert kept[4] == [4] and kept[6] == [4, 5, 6] and kept[7] == [] and kept[14] == []
