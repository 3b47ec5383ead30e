"""THEval formulas on hand-computed inputs (no MediaPipe)."""

import math
import statistics
from itertools import combinations

import numpy as np
import pytest

from avatar_eval.metrics.functional import theval as F


def test_lip_indices_are_the_40_unique_facemesh_lip_points():
    edges = [(61, 146), (146, 91), (91, 181), (181, 84), (84, 17), (17, 314), (314, 405), (405, 321),
             (321, 375), (375, 291), (61, 185), (185, 40), (40, 39), (39, 37), (37, 0), (0, 267),
             (267, 269), (269, 270), (270, 409), (409, 291), (78, 95), (95, 88), (88, 178), (178, 87),
             (87, 14), (14, 317), (317, 402), (402, 318), (318, 324), (324, 308), (78, 191), (191, 80),
             (80, 81), (81, 82), (82, 13), (13, 312), (312, 311), (311, 310), (310, 415), (415, 308)]
    assert F.LIP_INDICES == tuple(sorted({i for e in edges for i in e}))
    assert len(F.LIP_PAIRS) == 780


def test_lip_dynamics_hand_computed():
    # two points, three frames: distances 1, 2, 4 -> std ddof=1 = sqrt(7/3), ddof=0 = sqrt(14/9)
    pts = np.array([[[0, 0], [1, 0]], [[0, 0], [2, 0]], [[0, 0], [0, 4]]], dtype=float)
    assert F.lip_dynamics(pts, ddof=1) == pytest.approx(math.sqrt(7 / 3))
    assert F.lip_dynamics(pts, ddof=0) == pytest.approx(math.sqrt(14 / 9))


def test_lip_dynamics_drops_frames_without_face_and_matches_loop():
    rng = np.random.default_rng(0)
    pts = rng.normal(size=(6, 40, 2))
    pts[2] = np.nan
    vals = []
    good = [0, 1, 3, 4, 5]
    for i, j in combinations(range(40), 2):
        d = [np.linalg.norm(pts[t, i] - pts[t, j]) for t in good]
        vals.append(np.std(d, ddof=1))
    assert F.lip_dynamics(pts, ddof=1) == pytest.approx(np.mean(vals))


def test_lip_dynamics_still_mouth_is_zero():
    pts = np.repeat(np.random.default_rng(1).normal(size=(1, 40, 2)), 5, axis=0)
    assert F.lip_dynamics(pts) == pytest.approx(0.0, abs=1e-12)


def _face(scale_l: float, scale_r: float) -> np.ndarray:
    """Landmarks where the eye centroids are 10 px apart and eyebrows sit scale·10 px above."""
    p = np.zeros((478, 2))
    p[list(F.LEFT_EYE)] = [10.0, 0.0]
    p[list(F.RIGHT_EYE)] = [0.0, 0.0]
    p[list(F.LEFT_EYEBROW)] = [10.0, -10.0 * scale_l]
    p[list(F.RIGHT_EYEBROW)] = [0.0, -10.0 * scale_r]
    return p


def test_eyebrow_ratios_and_both_definitions():
    frames = np.stack([_face(0.5, 0.4), _face(0.6, 0.4), _face(0.5, 0.7)])
    left, right = F.eyebrow_ratios(frames)
    assert left == pytest.approx([0.5, 0.6, 0.5])
    assert right == pytest.approx([0.4, 0.4, 0.7])
    # compat: pooled mean |Δ| = (0.1 + 0.1 + 0 + 0.3) / 4
    assert F.eyebrow_dynamics_compat(left, right) == pytest.approx(0.5 / 4)
    # paper: mean of per-side std (ddof=1)
    exp = (np.std([0.5, 0.6, 0.5], ddof=1) + np.std([0.4, 0.4, 0.7], ddof=1)) / 2
    assert F.eyebrow_dynamics_paper(left, right) == pytest.approx(exp)


def test_eyebrow_compat_bridges_missing_frames_and_zero_without_face():
    frames = np.stack([_face(0.5, 0.5), np.full((478, 2), np.nan), _face(0.7, 0.5)])
    left, right = F.eyebrow_ratios(frames)
    assert F.eyebrow_dynamics_compat(left, right) == pytest.approx(0.2 / 2)
    none = np.full((3, 478, 2), np.nan)
    assert F.eyebrow_dynamics_compat(*F.eyebrow_ratios(none)) == 0.0


def test_mad_definitions_differ_as_documented():
    x = np.array([0.0, 0.0, 0.0, 1.0, 10.0])
    assert F.mad_median(x) == pytest.approx(0.0)  # median 0 -> |x| median = 0
    m = x.mean()
    assert F.mad_mean_compat(x) == pytest.approx(statistics.median([abs(v - m) for v in x]))
    assert math.isnan(F.mad_median(np.array([1.0])))


def test_silent_frames_rule():
    # 25 fps, 100 frames; speech 0.0–1.0 s and 1.2–3.0 s -> frames 0..25 and 30..75 are speech
    seg = [(0.0, 1.0), (1.2, 3.0)]
    s = F.silent_frames(seg, 100, 25.0)
    # gap 26..29 is 4 frames (< 7.5 = 0.3 s · 25): dropped; 76..99 is 24 frames: kept
    assert s.tolist() == list(range(76, 100))
    assert F.silent_frames([], 10, 25.0).tolist() == list(range(10))
    assert F.silent_frames([(0, 10)], 10, 25.0).size == 0


def test_mouth_opening_hand_computed():
    p = np.zeros((1, 478, 2))
    p[0, 33] = [0, 0]
    p[0, 263] = [20, 0]
    p[0, list(F.UPPER_LIP), 1] = 10.0
    p[0, list(F.LOWER_LIP), 1] = 14.0
    assert F.mouth_opening(p)[0] == pytest.approx(4 / 20)


def test_rms_matches_librosa_definition():
    y = np.arange(10, dtype=float)
    rms, starts = F.rms_librosa(y, 4, 4)
    yp = np.pad(y, (2, 2))
    exp = [np.sqrt(np.mean(yp[i : i + 4] ** 2)) for i in range(0, len(yp) - 4 + 1, 4)]
    assert rms == pytest.approx(exp)
    assert starts.tolist() == [0, 4, 8]


def test_rms_float32_is_librosas_own_floats():
    """``dtype=np.float32`` (lip-sync compat) gives librosa 0.11's ``feature.rms`` bit for bit: the
    fixture was made by librosa 0.11.0 itself (THEval's environment) on 0.33 s of float32 noise, with
    lip_sync.py's frame = hop = 0.05 s at 44.1 kHz (``y = (default_rng(7).standard_normal(44100 // 3 +
    17) * 0.3).astype(np.float32)``, ``rms = librosa.feature.rms(y=y, frame_length=2205,
    hop_length=2205)[0]``). The float64 path (paper) gives other last bits."""
    from pathlib import Path

    d = np.load(Path(__file__).resolve().parents[2] / "data" / "librosa_rms_0p11.npz")
    fl = int(44100 * 0.05)
    ours, starts = F.rms_librosa(d["y"], fl, fl, np.float32)
    assert ours.dtype == np.float32 and np.array_equal(ours, d["rms"])
    r64, _ = F.rms_librosa(d["y"], fl, fl)
    assert not np.array_equal(r64, d["rms"]) and np.allclose(r64, d["rms"], rtol=1e-6)
    assert starts.tolist() == list(range(0, fl * len(ours), fl))


def _rms_whole(y, frame_length, hop_length):
    """rms_librosa as it was: the whole padded signal gathered into one (frames, samples) array."""
    yp = np.pad(np.asarray(y, dtype=np.float64), (frame_length // 2, frame_length // 2))
    n = 1 + (len(yp) - frame_length) // hop_length if len(yp) >= frame_length else 0
    if n <= 0:
        return np.zeros(0), np.zeros(0)
    idx = np.arange(frame_length)[None, :] + hop_length * np.arange(n)[:, None]
    return np.sqrt(np.mean(yp[idx] ** 2, axis=1)), np.arange(n) * hop_length


@pytest.mark.parametrize("frame,hop", [(2205, 2205), (800, 800), (1102, 1102), (400, 400), (7, 3), (4, 6)])
def test_rms_chunked_is_the_whole_signal_computation_bit_for_bit(frame, hop):
    rng = np.random.default_rng(frame * 31 + hop)
    for n in (0, 1, frame // 2, frame - 1, frame, 3 * frame + 1, 64 * hop + 5, 200 * hop + frame // 3):
        y = (rng.standard_normal(n) * 0.3).astype(np.float32)
        want, want_starts = _rms_whole(y, frame, hop)
        for chunk in (1, 3, 64, 10_000):
            got, starts = F.rms_librosa(y, frame, hop, chunk=chunk)
            assert got.dtype == want.dtype and got.shape == want.shape
            assert np.array_equal(got, want), (n, chunk)  # the same floats, not close ones
            assert np.array_equal(starts, want_starts)


def test_lip_sync_distance_perfect_and_undefined():
    o = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    v = 10 * o + 3  # same shape after min-max normalisation
    val, det = F.lip_sync_distance(o, v, np.ones(6, bool))
    assert val == pytest.approx(0.0, abs=1e-6)
    val2, _ = F.lip_sync_distance(o, v[::-1], np.ones(6, bool))
    assert val2 > 0.5
    nan, det = F.lip_sync_distance(o, v, np.zeros(6, bool))
    assert math.isnan(nan) and det["speech_ratio"] == 0.0


def test_lip_openness_compat_is_anisotropic_but_corrected_is_not():
    lm = np.zeros((1, 478, 3))
    lm[0, [33, 133], 0] = 0.25
    lm[0, [362, 263], 0] = 0.75
    lm[0, list(F.UPPER_LIP), 1] = 0.5
    lm[0, list(F.LOWER_LIP), 1] = 0.6
    # compat on normalised coords: 0.1 / 0.5 whatever the frame shape
    assert F.lip_openness_compat(lm)[0] == pytest.approx(0.2)
    # corrected: pixels of a 200 (w) × 100 (h) frame: gap 10 px, eyes 100 px apart
    px = lm[:, :, :2] * np.array([200, 100])
    assert F.lip_openness(px)[0] == pytest.approx(0.1)


def test_head_motion_formula():
    p = [0.0, 2.0, 4.0, 8.0]
    y = [0.0, 0.0, 0.0, 0.0]
    r = [1.0, 1.0, 1.0, 1.0]
    cx, cy = [0.0, 2.0, 0.0, 2.0], [1.0, 1.0, 1.0, 1.0]
    avg_std = np.std(p) / 3
    avg_dvar = np.var(np.diff(p)) / 3
    exp = math.sqrt(avg_std * avg_dvar + (np.var(cx) + 0) / 2)
    assert F.head_motion_dynamics(p, y, r, cx, cy) == pytest.approx(exp)
    assert F.head_motion_dynamics([1, 1, 1], [2, 2, 2], [3, 3, 3], [5, 5, 5], [6, 6, 6]) == 0.0


def test_mesh_head_pose_recovers_a_known_rotation():
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(3)
    base = rng.normal(size=(478, 3)) * 5
    base[33] = [-30, 0, 0]
    base[263] = [30, 0, 0]
    base[10] = [0, 40, 0]
    base[152] = [0, -50, 0]
    angles = []
    for yaw in (-20.0, 0.0, 15.0):
        R = Rotation.from_euler("y", yaw, degrees=True).as_matrix()
        pts = base @ R.T
        img = pts * np.array([1, -1, -1])  # to image convention (y down, z away)
        angles.append(F.mesh_head_pose(img[None])[0])
    angles = np.array(angles)
    assert np.ptp(angles[:, 1]) == pytest.approx(35.0, abs=1e-6)
    assert np.abs(angles[:, [0, 2]]).max() < 1e-6


def test_compat_operation_order_same_quantity_as_vectorised_and_sequential_sums():
    """The compat forms (the scripts' per-frame order) compute the same quantities as the
    vectorised ones, to rounding; and their sums are left-to-right, as a Python loop adds."""
    rng = np.random.default_rng(3)
    pts = rng.uniform(0.2, 0.8, size=(40, 478, 2))
    pts[[5, 17]] = np.nan  # frames without a face
    l1, r1 = F.eyebrow_ratios(pts * [640, 480])
    l2, r2 = F.eyebrow_ratios_compat(pts * [640, 480])
    np.testing.assert_allclose(l2, l1, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(r2, r1, rtol=1e-12, equal_nan=True)
    np.testing.assert_allclose(F.mouth_opening_compat(pts), F.mouth_opening(pts * 256.0), rtol=1e-12, equal_nan=True)
    # a sum whose pairwise and sequential roundings differ: the compat sum is the loop's
    x = np.array([1.0, 1e-16, 1e-16, 1e-16, 1e-16, 1e-16, 1e-16, 1e-16, 1e-16, 1e-16] * 4)
    loop = 0.0
    for v in x:
        loop += v
    assert F._sequential_sum(x) == loop
    assert float(np.sum(x)) != loop  # numpy's pairwise sum rounds otherwise: the case is real
    # eyebrow compat: the script's loop (gaps bridged, each side summed in order, then added)
    left = np.array([0.1, 0.3, np.nan, 0.2, 0.7])
    right = np.array([0.5, 0.4, 0.45, np.nan, 0.1])
    sums, n = [], 0
    for side in (left, right):
        acc, prev = 0.0, None
        for v in side:
            if math.isnan(v):
                continue
            if prev is not None:
                acc += abs(v - prev)
                n += 1
            prev = v
        sums.append(acc)
    assert F.eyebrow_dynamics_compat(left, right) == (sums[0] + sums[1]) / n
