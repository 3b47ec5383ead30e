"""computed_boxes: the region boxes a clip's metrics computed, as the runner keeps them for reports."""

from __future__ import annotations

import types

import numpy as np

from avatar_eval.regions.artifacts import computed_boxes
from avatar_eval.regions.boxes import RegionBoxes, load_manifest_boxes


class _Ctx:
    def __init__(self, **arts):
        self.arts = arts

    def has(self, name):
        return name in self.arts

    def get(self, name):
        if name not in self.arts:
            raise AssertionError(f"{name} would be computed: computed_boxes must only read")
        return self.arts[name]


def test_nothing_computed_nothing_kept():
    assert computed_boxes(_Ctx()) is None


def test_crop_boxes_go_to_their_source_frames(tmp_path):
    face = types.SimpleNamespace(frame_indices=np.array([0, 1, 2, 4]), present=np.array([True, False, True, True]),
                                 boxes=np.array([[0, 0, 10, 10], [1, 1, 11, 11], [2, 2, 12, 12], [4, 4, 14, 14]],
                                                dtype=float))
    crops = types.SimpleNamespace(videos={"face": face}, n_source_frames=6)
    out = computed_boxes(_Ctx(region_crops=crops))
    a = out["face"]
    assert a.shape == (6, 4)
    np.testing.assert_array_equal(a[[0, 2, 4]], [[0, 0, 10, 10], [2, 2, 12, 12], [4, 4, 14, 14]])
    assert np.isnan(a[[1, 3, 5]]).all()  # not detected (1), no crop (3, 5)
    # the format load_manifest_boxes reads (what the report's strips draw from)
    np.savez(tmp_path / "b.npz", **out)
    np.testing.assert_array_equal(load_manifest_boxes(tmp_path / "b.npz")["face"], a)


def test_region_boxes_artifact_when_no_crops():
    sq = np.array([[10.0, 10.0, 4.0], [12.0, 10.0, 4.0]])
    rb = RegionBoxes("mouth", sq, np.array([True, False]), "detector", 128)
    out = computed_boxes(_Ctx(region_boxes={"mouth": rb}))
    np.testing.assert_allclose(out["mouth"][0], rb.xyxy[0])
    assert np.isnan(out["mouth"][1]).all()
