"""Synthetic records shared by the report tests."""

from __future__ import annotations

import numpy as np
import pytest

from avatar_eval.protocols.theval_score import slot_metrics
from avatar_eval.results.schema import DATASET, Record

#: GT means per THEval slot used by the synthetic runs
GT_MEANS = {
    "global_aesthetics": 4.7,
    "mouth_quality": 24.0,
    "face_quality": 0.44,
    "lip_dynamics": 1.7,
    "head_motion": 18.0,
    "eyebrow_dynamics": 0.0068,
    "silent_lip_stability": 0.026,
    "lip_sync": 0.25,
}


def constant_clips(model: str, metric: str, values, region: str = "full") -> list[Record]:
    return [Record(model, f"s{i}", metric, "ok", value=float(v), region=region) for i, v in enumerate(values)]


@pytest.fixture
def theval_run_records() -> list[Record]:
    """GT + two models, 6 clips each, every THEval paper metric; modelB has lip_sync skipped."""
    rng = np.random.default_rng(7)
    recs: list[Record] = []
    for model, scale in (("gt", 1.0), ("modelA", 0.9), ("modelB", 1.3)):
        for slot, metric in slot_metrics("paper").items():
            for i in range(6):
                if model == "modelB" and slot == "lip_sync":
                    recs.append(Record(model, f"s{i}", metric, "skipped", reason="undefined", message="no speech"))
                    continue
                v = GT_MEANS[slot] * scale * (1.0 + 0.05 * rng.standard_normal())
                recs.append(Record(model, f"s{i}", metric, "ok", value=v, details={"n_frames": 100 + i}))
        recs.append(Record(model, DATASET, "fid", "ok", value=10.0 * scale))
        recs.append(Record(model, "s0", "lpips", "error", message="InputError: corrupt file"))
        recs += constant_clips(model, "psnr", [20 * scale, 21 * scale, 22 * scale])
    return recs
