"""Beat alignment score: BA formula, motion beats, joint speed and the onset detector."""

import numpy as np
import pytest

from avatar_eval.metrics.functional import beat_alignment as BA


def test_ba_hand_computed():
    # audio beats 10, 20, 30; motion beats 10, 23: d = 0, 3, 7
    v = BA.beat_alignment([10, 20, 30], [10, 23])
    assert v == pytest.approx((1 + np.exp(-9 / 18) + np.exp(-49 / 18)) / 3)
    assert BA.beat_alignment([5], [5]) == 1.0
    assert np.isnan(BA.beat_alignment([5], [])) and np.isnan(BA.beat_alignment([], [5]))


def test_joint_speed_hand_computed():
    xy = np.zeros((3, 2, 2))
    xy[1, 0] = (3, 4)
    xy[2, 0] = (6, 8)  # joint 0 moves 5 px per frame, joint 1 stays
    assert BA.joint_speed(xy).tolist() == [2.5, 2.5]
    valid = np.ones((3, 2), bool)
    valid[2, 1] = False  # joint 1 missing in frame 2: the second transition averages joint 0 only
    assert BA.joint_speed(xy, valid).tolist() == [2.5, 5.0]


def test_motion_beats_are_minima_of_smoothed_speed():
    t = np.arange(200)
    speed = 1.0 + np.cos(2 * np.pi * t / 40)  # minima at 20, 60, 100, 140, 180
    assert BA.motion_beats(speed).tolist() == [20, 60, 100, 140, 180]
    assert BA.motion_beats(np.zeros(100)).size == 0  # no motion, no beats
    rng = np.random.default_rng(0)
    noisy = speed + rng.normal(scale=0.05, size=t.size)
    assert np.allclose(BA.motion_beats(noisy), [20, 60, 100, 140, 180], atol=2)


def test_onsets_of_clicks():
    sr = 16000
    wav = np.zeros(3 * sr)
    rng = np.random.default_rng(1)
    times = [0.5, 1.1, 1.7, 2.3]
    for s in times:
        i = int(s * sr)
        wav[i:i + 800] = rng.normal(size=800) * np.exp(-np.arange(800) / 200)  # 50 ms decaying burst
    got = BA.onset_times(wav, sr)
    assert len(got) == len(times)
    assert np.allclose(got, times, atol=0.04)  # within one 25 fps frame
    assert np.abs(BA.onset_frames(wav, sr, 25.0) - np.array(times) * 25).max() <= 1
    assert BA.onset_times(np.zeros(sr), sr).size == 0  # silence: no onset
