"""SyncNet formulas: offset search, LSE-C/D, MFCC windowing on real audio, tracking and crops."""

import numpy as np
import pytest
import torch

from avatar_eval.metrics.functional import syncnet as fs


def test_lse_from_given_distance_matrix():
    vshift = 2
    d = np.array([
        [5.0, 4.0, 1.0, 4.0, 6.0],
        [7.0, 2.0, 3.0, 4.0, 8.0],
    ])
    r = fs.offset_and_confidence(d, vshift)
    # mean per shift: [6, 3, 2, 4, 7]; min 2 at index 2 → offset 0; median 4 → LSE-C 2
    np.testing.assert_allclose(r.mean_dists, [6, 3, 2, 4, 7])
    assert r.min_dist == 2.0 and r.confidence == 2.0 and r.offset == 0
    d2 = np.array([[1.0, 5, 5, 5, 9]])
    r2 = fs.offset_and_confidence(d2, vshift)
    assert r2.offset == 2 and r2.min_dist == 1.0 and r2.confidence == 4.0
    with pytest.raises(ValueError):
        fs.offset_and_confidence(np.zeros((3, 4)), vshift)


def test_pairwise_offsets_match_torch_calc_pdist():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(9, 6)).astype(np.float32)
    a = rng.normal(size=(9, 6)).astype(np.float32)
    vs = 3
    ours = fs.pairwise_offsets(v, a, vs)
    tv, ta = torch.from_numpy(v), torch.from_numpy(a)
    ap = torch.nn.functional.pad(ta, (0, 0, vs, vs))
    ref = np.stack([torch.nn.functional.pairwise_distance(tv[[i]].repeat(2 * vs + 1, 1), ap[i:i + 2 * vs + 1]).numpy() for i in range(9)])
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5)


def test_offset_search_recovers_known_shift():
    rng = np.random.default_rng(1)
    base = rng.normal(size=(80, 16))
    for k in (-7, -2, 0, 3, 11):
        # audio content of video frame i sits at audio frame i + k
        audio = np.roll(base, k, axis=0)
        r = fs.offset_and_confidence(fs.pairwise_offsets(base, audio, 15), 15)
        assert r.offset == -k
        assert r.confidence > 0


def test_window_counts():
    assert fs.sync_windows(100, 100 * 640) == 95
    assert fs.sync_windows(100, 50 * 640 + 639) == 45  # audio-limited
    assert fs.sync_windows(4, 10 ** 6) == 0


def test_mfcc_rate_and_energy_column():
    rng = np.random.default_rng(2)
    x = (rng.normal(size=16000) * 1000).astype(np.int16)
    m = fs.mfcc(x)
    assert m.shape == (99, 13)  # 1 + ceil((16000 − 400)/160)
    # c0 is the log frame energy of the pre-emphasised power spectrum
    sig = np.append(x[0], x[1:] - 0.97 * x[:-1].astype(np.float64))
    e0 = np.log((np.abs(np.fft.rfft(sig[:400], 512)) ** 2 / 512).sum())
    assert m[0, 0] == pytest.approx(e0)


def test_mfcc_windows_move_with_audio_delay_on_real_audio(media):
    """Delaying the audio by k video frames moves every MFCC window by exactly k windows, and the
    offset search over windowed features then reports the shift (k frames)."""
    from avatar_eval.io.video import decode_audio

    wav, sr = decode_audio(media.shared("talking_head/sadtalker_WDA_AOC_000.mp4"), 16000)
    a = fs.to_int16_values(wav)
    n_frames = len(a) // fs.SAMPLES_PER_FRAME
    m0 = fs.mfcc(a)
    n_win = fs.sync_windows(n_frames, len(a))
    w0 = fs.audio_windows(m0, n_win)
    proj = np.random.default_rng(3).normal(size=(13 * 20, 32))
    feat = lambda w: np.tanh(w.reshape(len(w), -1) @ proj / 200.0)  # stand-in for the audio tower
    video_feats = feat(w0)  # a perfectly synced "lip" stream
    for k in (2, 5):
        delayed = np.concatenate([np.zeros(k * fs.SAMPLES_PER_FRAME, np.int16), a])[: len(a)]
        mk = fs.mfcc(delayed)
        np.testing.assert_allclose(mk[4 * k + 1: 4 * k + 200], m0[1:200], rtol=1e-9, atol=1e-6)
        wk = fs.audio_windows(mk, n_win)
        np.testing.assert_allclose(wk[k + 1: k + 50], w0[1:50], rtol=1e-9, atol=1e-6)
        r = fs.offset_and_confidence(fs.pairwise_offsets(video_feats, feat(wk), 15), 15)
        assert r.offset == -k


def test_track_faces_reference_semantics():
    box = (100.0, 100.0, 300.0, 320.0)
    dets = [[box] for _ in range(12)]
    dets[5] = []  # a missed detection is interpolated
    tr = fs.track_faces(dets, min_track=5, min_face_size=100)
    assert len(tr) == 1
    np.testing.assert_array_equal(tr[0].frames, np.arange(12))
    np.testing.assert_allclose(tr[0].boxes[5], box)
    assert fs.track_faces(dets, min_track=11) == []  # needs strictly more than min_track detections
    assert fs.track_faces(dets, min_track=5, min_face_size=250) == []  # face too small
    # a gap longer than num_failed_det ends the track
    long_gap = [[box] for _ in range(8)] + [[] for _ in range(30)] + [[box] for _ in range(8)]
    assert [len(t.frames) for t in fs.track_faces(long_gap, min_track=5, num_failed_det=25)] == [8, 8]
    # several faces in one frame: the reference's list scan skips the face after one it takes, so
    # a near-duplicate right after the taken face starts its own track, one further on joins it
    other = (400.0, 100.0, 600.0, 320.0)
    same = (101.0, 101.0, 301.0, 321.0)
    a = [[box, same, other]] + [[box] for _ in range(7)]
    assert [len(t.frames) for t in fs.track_faces(a, min_track=0, min_face_size=10)] == [8, 1, 1]
    b = [[box, other, same]] + [[box] for _ in range(7)]
    assert [len(t.frames) for t in fs.track_faces(b, min_track=0, min_face_size=10)] == [8, 1]


def test_crop_face_geometry():
    frame = np.zeros((200, 200, 3), np.uint8)
    frame[90:110, 90:110] = 255
    crop = fs.crop_face(frame, 100, 100, 20, 0.4)
    assert crop.shape == (224, 224, 3)
    # rows [my − s, my + 1.8 s) and cols [mx − 1.4 s, mx + 1.4 s): the white square is centred in x,
    # in the upper part in y; a crop past the border shows the pad value 110
    ys, xs = np.nonzero(crop[..., 0] > 200)
    assert abs(xs.mean() - 111.5) < 3
    edge = fs.crop_face(frame, 5, 5, 20, 0.4)
    assert edge[0, 0, 0] == 110
    ct = fs.smooth_track(fs.FaceTrackBoxes(np.arange(20), np.tile([0, 0, 40, 20.0], (20, 1))))
    assert ct.s[10] == 20 and ct.s[0] == 20  # medfilt zero-pads: 7 of 13 values are real at the ends


def test_resample_indices():
    np.testing.assert_array_equal(fs.resample_indices(5, 25), np.arange(5))
    idx = fs.resample_indices(30, 30)  # 1 s at 30 fps → 25 frames
    assert len(idx) == 25 and idx[0] == 0 and idx[-1] <= 29
