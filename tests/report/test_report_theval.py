"""THEval final score on hand-computed tables, published numbers, variants and references."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from avatar_eval.errors import UnknownNameError
from avatar_eval.protocols.theval_reference import (
    REFERENCE_SETS,
    ReferenceSet,
    get_reference,
    reference_from_csv,
)
from avatar_eval.protocols.theval_score import (
    DIMENSIONS,
    SLOTS,
    ReferenceMismatchError,
    ZeroGTError,
    detect_variant,
    normalised_score,
    slot_metrics,
    theval_score,
)
from avatar_eval.results.schema import Record

ORDER = [s.key for s in SLOTS]


def _records(table: dict[str, dict[str, list[float]]], variant="paper", head_motion="facexformer"):
    names = slot_metrics(variant, head_motion)
    recs = []
    for model, per_slot in table.items():
        for slot, values in per_slot.items():
            for i, v in enumerate(values):
                recs.append(Record(model, f"clip{i}", names[slot], "ok", value=v))
    return recs


def _uniform(values_in_order: list[float], clips: int = 2) -> dict[str, list[float]]:
    return {k: [v] * clips for k, v in zip(ORDER, values_in_order)}


def test_official_unit_example_final_0_6625():
    """The official repository's own test case (tests/test_scoring.py): GT all 10."""
    recs = _records({"gt": _uniform([10.0] * 8), "Method": _uniform([12, 5, 10, 15, 10, 5, 10, 0])})
    res = theval_score(recs)
    row = res.table.set_index("model").loc["Method"]
    assert row["final"] == pytest.approx(0.6625)
    # hand-computed per metric: 0.8, 0.5, 1, 0.5, 1, 0.5, 1, 0
    expected = dict(zip(ORDER, [0.8, 0.5, 1.0, 0.5, 1.0, 0.5, 1.0, 0.0]))
    for k, v in expected.items():
        assert row[f"score.{k}"] == pytest.approx(v)
    assert row["quality"] == pytest.approx((0.8 + 0.5 + 1.0) / 3)
    assert row["naturalness"] == pytest.approx((0.5 + 1.0 + 0.5) / 3)
    assert row["synchronization"] == pytest.approx(0.5)
    assert row["n_used"] == 8 and row["missing"] == ""
    assert "gt" not in set(res.table["model"])


def test_model_mean_over_clips_and_negative_scores():
    table = {
        "gt": {"lip_dynamics": [1.0, 3.0], "head_motion": [4.0, 4.0], "lip_sync": [0.2, 0.2]},
        # lip_dynamics mean 7 vs GT 2 -> 1 - 5/2 = -1.5; head_motion 5 vs 4 -> 0.75;
        # lip_sync mean 0.1 vs 0.2 -> 0.5
        "m": {"lip_dynamics": [6.0, 8.0], "head_motion": [5.0, 5.0], "lip_sync": [0.0, 0.2]},
    }
    res = theval_score(_records(table))
    row = res.table.set_index("model").loc["m"]
    assert row["score.lip_dynamics"] == pytest.approx(-1.5)
    assert row["score.head_motion"] == pytest.approx(0.75)
    assert row["score.lip_sync"] == pytest.approx(0.5)
    assert row["final"] == pytest.approx((-1.5 + 0.75 + 0.5) / 3)
    assert row["naturalness"] == pytest.approx((-1.5 + 0.75) / 2)
    assert row["synchronization"] == pytest.approx(0.5)
    assert math.isnan(row["quality"])
    assert row["n_used"] == 3
    assert row["used"] == "theval.lip_dynamics;theval.head_motion;theval.lip_sync"


def test_missing_metric_is_listed_not_invented():
    values = [10.0] * 8
    gt = _uniform(values)
    model = _uniform([12, 5, 10, 15, 10, 5, 10, 0])
    del model["lip_sync"]  # the model has no lip-sync records at all
    res = theval_score(_records({"gt": gt, "Method": model}))
    row = res.table.set_index("model").loc["Method"]
    assert row["n_used"] == 7
    assert math.isnan(row["score.lip_sync"]) and math.isnan(row["value.lip_sync"])
    assert row["final"] == pytest.approx((0.8 + 0.5 + 1.0 + 0.5 + 1.0 + 0.5 + 1.0) / 7)
    assert row["synchronization"] == pytest.approx(1.0)
    assert "lip_sync" in row["missing"] and "theval.lip_sync" not in row["used"]
    assert res.missing("Method") == {"lip_sync": "theval.lip_sync not computed for this model"}
    assert res.used("Method") == ORDER[:-1]
    md = res.to_markdown()
    assert "7/8" in md and "| Method | 0.7571 |" in md
    assert "- Method · lip_sync: theval.lip_sync not computed for this model" in md


def test_skipped_metric_reason_and_missing_gt():
    recs = _records({"gt": {"face_quality": [0.5, 0.5]}, "m": {"face_quality": [0.25, 0.25]}})
    recs += [Record("m", f"c{i}", "theval.lip_sync", "skipped", reason="undefined") for i in range(3)]
    recs += [Record("m", "c0", "theval.mouth_quality", "ok", value=20.0)]  # no GT value for it
    res = theval_score(recs)
    miss = res.missing("m")
    assert "3 skipped" in miss["lip_sync"] and "undefined" in miss["lip_sync"]
    assert "no GT value" in miss["mouth_quality"]
    assert "not computed in this run" in miss["global_aesthetics"]
    assert res.table.set_index("model").loc["m", "final"] == pytest.approx(0.5)


def test_missing_reasons_grouped_across_models():
    recs = _records({"gt": {"lip_dynamics": [2.0]}, "a": {"lip_dynamics": [1.0]}, "b": {"lip_dynamics": [3.0]}})
    recs += [Record("a", "c0", "theval.lip_sync", "skipped", reason="undefined")]
    res = theval_score(recs)
    lines = res.missing_reasons()
    assert "all models · global_aesthetics: theval.global_aesthetics not computed in this run" in lines
    assert "a · lip_sync: no clip with a value (1 skipped: undefined x1)" in lines
    assert "b · lip_sync: theval.lip_sync not computed for this model" in lines
    assert res.missing_slots("a") == [k for k in ORDER if k != "lip_dynamics"]
    # the GT lacks lip_sync while a model has records of it: a note says so
    assert any(n.startswith("lip_sync: no GT value") for n in res.notes)
    assert not any(n.startswith("global_aesthetics: no GT value") for n in res.notes)


def test_zero_gt_is_a_clear_error():
    recs = _records({"gt": {"lip_dynamics": [0.0, 0.0], "head_motion": [1.0]}, "m": {"lip_dynamics": [1.0]}})
    with pytest.raises(ZeroGTError, match="lip_dynamics"):
        theval_score(recs)
    with pytest.raises(ZeroGTError):
        normalised_score(1.0, 0.0)
    assert normalised_score(35.0, 10.0) == pytest.approx(-1.5)


def test_variants_are_never_substituted():
    table = {"gt": _uniform([10.0] * 8), "m": _uniform([12.0] * 8)}
    recs = _records(table, variant="compat")
    paper = theval_score(recs, variant="paper")
    miss = paper.missing("m")
    assert set(miss) == {
        "mouth_quality", "face_quality", "lip_dynamics", "eyebrow_dynamics", "silent_lip_stability", "lip_sync",
    }
    assert "theval.lip_dynamics.compat is present" in miss["lip_dynamics"]
    assert "variant='compat'" in miss["lip_dynamics"]
    compat = theval_score(recs, variant="compat")
    assert compat.table.set_index("model").loc["m", "n_used"] == 8
    assert compat.slots["lip_sync"] == "theval.lip_sync.compat"
    auto = theval_score(recs, variant="auto")
    assert auto.variant == "compat" and auto.requested_variant == "auto"
    assert detect_variant(r.metric for r in recs) == "compat"
    assert detect_variant(["psnr"]) is None


def test_mesh_pose_head_motion_only_when_asked_and_labelled():
    names = slot_metrics("paper", "mesh_pose")
    assert names["head_motion"] == "theval.head_motion.offline"
    recs = _records({"gt": {"head_motion": [2.0]}, "m": {"head_motion": [1.0]}}, head_motion="mesh_pose")
    default = theval_score(recs)
    assert "head_motion='mesh_pose'" in default.missing("m")["head_motion"]
    asked = theval_score(recs, head_motion="mesh_pose")
    assert asked.table.set_index("model").loc["m", "score.head_motion"] == pytest.approx(0.5)
    assert any("different pose estimator" in n for n in asked.notes)
    assert "mesh_pose" in asked.to_markdown()
    from avatar_eval.report.radar import theval_radar_frame

    assert list(theval_radar_frame(asked).columns) == ["head motion (mesh_pose)"]


# README leaderboard of GitHub Newbyl/THEval @ cfe23fe (= paper Table 1): normalised scores in
# the order of SLOTS, then the published final score.
PUBLISHED = {
    "LivePortrait": ([0.9464, 0.9760, 0.8784, 0.9913, 0.7548, 0.9997, 0.9316, 0.9980], 0.9345),
    "Hallo2": ([0.9619, 0.9254, 0.9017, 0.9883, 0.2395, 0.8530, 0.9620, 0.9502], 0.8477),
    "Real3DPortrait": ([0.8597, 0.8732, 0.7934, 0.7348, 0.0895, 0.3170, 0.7072, 0.9695], 0.6680),
    "Wav2Lip": ([0.9090, 0.9180, 0.6762, 0.6966, 0.1124, 0.3662, 0.6388, 0.8849], 0.6502),
}


def test_final_matches_published_leaderboard_with_official_reference():
    """Raw means m = GT * s give per-metric score s; the final must match the published one.

    (A mean of the three dimension scores instead of the 8 metrics would be off by > 1e-3.)
    """
    ref = get_reference("theval-official-example")
    table = {
        model: {k: [ref.values[k] * s] for k, s in zip(ORDER, scores)} for model, (scores, _) in PUBLISHED.items()
    }
    res = theval_score(_records(table, variant="compat"), variant="compat", reference="theval-official-example")
    t = res.table.set_index("model")
    for model, (scores, final) in PUBLISHED.items():
        for k, s in zip(ORDER, scores):
            assert t.loc[model, f"score.{k}"] == pytest.approx(s, abs=1e-9)
        assert t.loc[model, "final"] == pytest.approx(final, abs=1e-4)
        dims = [t.loc[model, d] for d in DIMENSIONS]
        assert abs(sum(dims) / 3 - final) > 1e-3
    assert res.gt_values["head_motion"] == 18.46757
    assert "theval-official-example" in res.gt_source


def test_official_reference_values_and_validity():
    ref = REFERENCE_SETS["theval-official-example"]
    assert dict(ref.values) == {
        "global_aesthetics": 4.6842, "mouth_quality": 23.835, "face_quality": 0.4425,
        "lip_dynamics": 1.716603, "head_motion": 18.46757, "eyebrow_dynamics": 0.006777,
        "silent_lip_stability": 0.0263, "lip_sync": 0.2528,
    }
    assert ref.variant == "compat" and "cfe23fe" in ref.source
    assert ref.metrics["lip_dynamics"] == "theval.lip_dynamics.compat"
    assert ref.metrics["mouth_quality"] == "theval.mouth_quality.compat"
    assert ref.metrics["global_aesthetics"] == "theval.global_aesthetics"
    assert dict(ref.metrics) == slot_metrics("compat")
    assert ref.metrics["head_motion"] == "theval.head_motion"


def test_reference_refuses_paper_variant_unless_forced():
    recs = _records({"m": {"lip_dynamics": [1.716603 / 2], "face_quality": [0.4425]}})
    with pytest.raises(ReferenceMismatchError, match="lip_dynamics.*theval.lip_dynamics.compat"):
        theval_score(recs, variant="paper", reference="theval-official-example")
    forced = theval_score(recs, variant="paper", reference="theval-official-example", force_reference=True)
    assert forced.forced_reference
    assert any("FORCED" in n for n in forced.notes) and "FORCED" in forced.to_markdown()
    row = forced.table.set_index("model").loc["m"]
    assert row["score.lip_dynamics"] == pytest.approx(0.5) and row["score.face_quality"] == pytest.approx(1.0)
    # mesh_pose head motion is another estimator than the reference's FaceXFormer: refused too
    with pytest.raises(ReferenceMismatchError, match="head_motion"):
        theval_score(recs, variant="compat", head_motion="mesh_pose", reference="theval-official-example")
    # the compat variant is what the reference is valid for
    ok = theval_score(_records({"m": {"lip_dynamics": [1.716603]}}, variant="compat"),
                      variant="compat", reference="theval-official-example")
    assert ok.table.set_index("model").loc["m", "score.lip_dynamics"] == pytest.approx(1.0)
    assert not ok.forced_reference


def test_unknown_reference_name():
    with pytest.raises(UnknownNameError, match="theval-official-example"):
        get_reference("theval-oficial-example")


def test_reference_from_csv(tmp_path):
    p = tmp_path / "gt.csv"
    p.write_text("Model,Lip dynamics,Lip sync\nGT,2.0,0.5\nOther,1,1\n")
    compat = {"lip_dynamics": "theval.lip_dynamics.compat", "lip_sync": "theval.lip_sync.compat"}
    ref = reference_from_csv(p, variant="compat", metrics=compat, name="mine")
    assert dict(ref.values) == {"lip_dynamics": 2.0, "lip_sync": 0.5}
    res = theval_score(_records({"m": {"lip_dynamics": [1.0], "lip_sync": [0.5]}}, variant="compat"),
                       variant="compat", reference=ref)
    assert res.table.set_index("model").loc["m", "final"] == pytest.approx(0.75)
    assert res.missing("m")["face_quality"].startswith("theval.face_quality.compat not computed")
    with pytest.raises(ValueError, match="which metric"):
        reference_from_csv(p, variant="compat", metrics={"lip_dynamics": "theval.lip_dynamics.compat"})
    with pytest.raises(ValueError):
        ReferenceSet(name="bad", values={"lip_sync": 0.1}, metrics={}, variant="paper", source="x")


def test_accepts_aggregate_frame_and_records_alike():
    from avatar_eval.results.aggregate import aggregate

    recs = _records({"gt": _uniform([10.0] * 8), "Method": _uniform([12, 5, 10, 15, 10, 5, 10, 0])})
    a = theval_score(recs).table
    b = theval_score(aggregate(recs, n_boot=0)).table
    pd.testing.assert_frame_equal(a, b)


def test_slot_metric_names_are_registered_with_their_variant():
    """Contract with the metrics modules: every name a slot can use exists, with that variant."""
    from avatar_eval.metrics.registry import get_metric_class

    for s in SLOTS:
        assert get_metric_class(s.paper).variant == "paper", s.paper
        assert get_metric_class(s.compat).variant == ("paper" if s.compat == s.paper else "compat"), s.compat
        assert get_metric_class(s.paper).higher_is_better is None
    mesh = get_metric_class("theval.head_motion.offline")
    assert (mesh.variant, mesh.estimator) == ("offline", "face-mesh")
