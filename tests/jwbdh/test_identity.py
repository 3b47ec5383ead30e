"""Identity CSIM: dlib (offline model from face_recognition_models) and ArcFace unavailability."""

import numpy as np
import pytest
from jwbdh_data import clip

from avatar_eval.errors import MetricUndefined, WeightsUnavailable
from avatar_eval.metrics.registry import get_metric
from avatar_eval.pipeline.context import ClipContext, PairContext
from avatar_eval.pipeline.pairs import pair_prepare
from avatar_eval.regions.face_align import ARCFACE_TEMPLATE, umeyama_similarity


def test_umeyama_recovers_similarity():
    th, s, t = 0.3, 1.7, np.array([5.0, -3.0])
    R = np.array([[np.cos(th), -np.sin(th)], [np.sin(th), np.cos(th)]])
    src = ARCFACE_TEMPLATE
    dst = (s * (R @ src.T)).T + t
    M = umeyama_similarity(src, dst)
    assert np.allclose(M[:, :2], s * R) and np.allclose(M[:, 2], t)


def test_arcface_pair_csim_unavailable_offline():
    pair = PairContext(ClipContext(clip("aragaki_gen_20f.mp4"), model="m"), ClipContext(clip("aragaki_gt_20f.mp4"), model="gt"))
    pair_prepare(pair, ["jwbdh.csim.face"])
    with pytest.raises(WeightsUnavailable, match="arcface_w600k_r50"):
        get_metric("jwbdh.csim.face").compute_pair(pair)


def test_dlib_csim_same_person_higher_than_other_person():
    pytest.importorskip("dlib")
    from avatar_eval.models.dlib_face import face_recognition_models_file

    if face_recognition_models_file("dlib_face_recognition_resnet_model_v1.dat") is None:
        pytest.skip("face_recognition_models not installed")
    opts = {"identity": {"frame_stride": 5}}
    gt = ClipContext(clip("aragaki_gt_20f.mp4"), model="gt", options=opts)
    same = PairContext(ClipContext(clip("aragaki_gt_20f.mp4"), model="m", options=opts), gt)
    other = PairContext(ClipContext(clip("aragaki_gen_20f.mp4"), model="m2", options=opts), gt)
    m = get_metric("jwbdh.csim.face.offline")
    pair_prepare(same, [m.name])
    pair_prepare(other, [m.name])
    v_same = m.compute_pair(same)
    v_other = m.compute_pair(other)
    assert v_same.value == pytest.approx(1.0, abs=1e-5) and v_same.details["n_frames"] == 4
    assert v_other.value < v_same.value - 0.02  # the AniPortrait output shows another person


def test_reference_csim_needs_a_reference():
    ctx = ClipContext(clip("aragaki_gt_20f.mp4"))
    with pytest.raises(MetricUndefined, match="reference"):
        get_metric("identity.csim.offline").compute(ctx)
