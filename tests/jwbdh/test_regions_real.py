"""Region tracks and crops on real whole-body frames (cut from ../shared, see tests/data/jwbdh)."""

import numpy as np

from avatar_eval.io.video import iter_frames


def test_both_hands_found_on_every_frame_and_one_decode(halfbody):
    t = halfbody.get("region_tracks")
    assert halfbody.decode_count == 1
    assert t.n_frames == 24 and t.hand_present.all() and t.face_present.all() and t.pose_present.all()
    s = t.summary()
    assert s["both_hands_frames"] == 24
    # the person's left hand is on the image's right (camera view), and sides never swap
    lx = np.nanmean(t.hands[:, 0, :, 0], axis=1)
    rx = np.nanmean(t.hands[:, 1, :, 0], axis=1)
    assert (lx > rx).all()
    # keypoints are source-frame pixels and hands are below the face
    assert np.nanmax(t.hands[..., 0]) <= t.width and np.nanmax(t.hands[..., 1]) <= t.height
    assert np.nanmean(t.hands[..., 1]) > np.nanmean(t.face[..., 1])
    assert np.all((t.hand_score[np.isfinite(t.hand_score)] > 0) & (t.hand_score[np.isfinite(t.hand_score)] <= 1))


def test_missing_hands_are_reported_where_hidden(halfbody_masked):
    t = halfbody_masked.get("region_tracks")
    hp = t.hand_present
    hidden = np.zeros(24, bool)
    hidden[8:16] = True
    assert not hp[hidden].any(), "hands reported on frames where they are blacked out"
    assert hp[~hidden].all()
    crops = halfbody_masked.get("region_crops")
    for side in ("left_hand", "right_hand", "hands"):
        v = crops[side]
        assert v.n_frames == 24, "default mode keeps every frame"
        assert v.n_missing == 8 and not v.present[8:16].any()
    assert crops["face"].n_missing == 0


def test_default_crops_video_roundtrip(halfbody):
    c = halfbody.get("region_crops")
    assert set(c.videos) == {"face", "mouth", "hands", "left_hand", "right_hand"}
    face = c["face"].array()
    assert face.shape == (24, 224, 224, 3) and face.dtype == np.uint8
    assert c["mouth"].array(max_frames=2).shape == (2, 128, 128, 3)
    assert c["face"].frame_indices.tolist() == list(range(24))
    # the crop equals cropping the decoded frame with the recorded box (lossless storage)
    from avatar_eval.regions import boxes as B

    frame5 = next(f.rgb for f in iter_frames(halfbody.video_path) if f.index == 5)
    sq = B.xyxy_to_square(c["left_hand"].boxes[5])
    assert np.array_equal(B.crop_square(frame5, sq, 224), c["left_hand"].array()[5])
    # boxes agree with the offline region_boxes artifact (same causal smoother)
    rb = halfbody.get("region_boxes")
    for r in ("face", "hands", "left_hand", "right_hand"):
        assert np.allclose(rb[r].xyxy, c[r].boxes, equal_nan=True)


def test_compat_crops_follow_public_rules(halfbody):
    cc = halfbody.get("region_crops.compat")
    bx = halfbody.get("region_boxes.compat")
    for r in ("face", "hands"):
        v = cc[r]
        st = bx[r]["stats"]
        assert v.n_frames == len(bx[r]["kept"]) == st["kept"]
        arr = v.array()
        # every crop resized to the first kept crop's size
        first = bx[r]["boxes"][bx[r]["kept"][0]]
        assert arr.shape[1:3] == (first[3] - first[1], first[2] - first[0])
        assert v.stats["missing_frames"] == 24 - st["detected"]


def test_one_detection_per_frame_when_artifacts_share(halfbody_masked):
    from avatar_eval.pipeline.context import ClipContext
    from avatar_eval.regions import mediapipe as mpd

    ctx = ClipContext(halfbody_masked.video_path)
    seen = []
    orig = mpd.MediaPipeRegionDetector.detect

    def spy(self, frame):
        out = orig(self, frame)
        seen.append((id(self), frame.index))
        return out

    mpd.MediaPipeRegionDetector.detect = spy
    try:
        ctx.prepare(["region_tracks", "region_crops", "region_crops.compat"])
    finally:
        mpd.MediaPipeRegionDetector.detect = orig
    assert ctx.decode_count == 1
    assert len({d for d, _ in seen}) == 1, "one detector shared by the three artifacts"
    assert not mpd._SHARED, "detector released after the pass"


def test_crop_codecs_store_the_same_pixels(halfbody):
    """``regions.crop_codec``: HuffYUV in NUT (default, faster) and FFV1 in Matroska (smaller)
    round-trip the same crops exactly, default and compat; an unknown codec is refused by name."""
    import pytest

    import avatar_eval.regions.artifacts  # noqa: F401
    from avatar_eval.pipeline.context import ClipContext
    from avatar_eval.regions.crops import DEFAULT_CROP_CODEC

    assert DEFAULT_CROP_CODEC == "ffvhuff"
    ffv1 = ClipContext(halfbody.video_path, sample_id="hb", model="gt", options={"regions": {"crop_codec": "ffv1"}})
    ffv1.prepare(["region_tracks", "region_crops", "region_crops.compat"])
    for art in ("region_crops", "region_crops.compat"):
        a, b = halfbody.get(art), ffv1.get(art)
        assert set(a.videos) == set(b.videos)
        for r in a.videos:
            if a[r].path is None:
                continue
            assert a[r].path.endswith(".nut") and b[r].path.endswith(".mkv")
            assert np.array_equal(a[r].array(), b[r].array()), (art, r)
    bad = ClipContext(halfbody.video_path, options={"regions": {"crop_codec": "png"}})
    with pytest.raises(Exception, match="crop_codec"):
        bad.get("region_crops")
