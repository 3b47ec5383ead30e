"""landmarks_xyz reads the protobuf bytes; it must equal the attribute reads in every layout."""

import numpy as np
from mediapipe.framework.formats import landmark_pb2

from avatar_eval.regions.face_mesh import landmarks_xyz


def _msg(rows, visibility=False, skip_z_at=None):
    m = landmark_pb2.NormalizedLandmarkList()
    for i, (x, y, z) in enumerate(rows):
        p = m.landmark.add()
        p.x, p.y = x, y
        if i != skip_z_at:
            p.z = z
        if visibility:
            p.visibility = 0.5
    return m


def _slow(m):
    return np.array([(p.x, p.y, p.z) for p in m.landmark], dtype=np.float32).reshape(-1, 3)


def test_fast_path_equals_attribute_reads():
    rng = np.random.default_rng(0)
    rows = rng.normal(size=(478, 3)).astype(np.float32)
    rows[5] = 0.0  # zeros are still serialized (proto2 presence)
    m = _msg(rows)
    assert len(m.SerializeToString()) == 17 * 478  # the fast path is taken
    np.testing.assert_array_equal(landmarks_xyz(m), rows)
    np.testing.assert_array_equal(landmarks_xyz(m), _slow(m))


def test_other_layouts_fall_back():
    rows = np.arange(30, dtype=np.float32).reshape(10, 3) / 7
    for m in (_msg(rows, visibility=True), _msg(rows, skip_z_at=3), landmark_pb2.NormalizedLandmarkList()):
        np.testing.assert_array_equal(landmarks_xyz(m), _slow(m))
