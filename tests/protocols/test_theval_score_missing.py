"""THEval final score: a model cannot rank above another by missing a metric the other has.

The case of issue 12, built from records (no video): the same clip re-encoded ("orig"), with
another clip's audio ("swapped": lip sync much worse) and with its audio muted ("muted": lip sync
undefined on every clip, so skipped; silent-lip stability measured on every frame). THEval's
rule (``missing="drop"``) averages the muted model over its 7 remaining metrics and ranks it above
the swapped one; the default (``missing="worst"``) scores its missing lip sync as the lowest
lip-sync score of the other models (or 0 if that is higher).
"""

from __future__ import annotations

import math

import pytest

from avatar_eval.protocols.theval_score import (
    DIMENSIONS,
    MISSING_RULES,
    SLOTS,
    slot_metrics,
    theval_score,
)
from avatar_eval.results.schema import Record

GT = {
    "global_aesthetics": 4.7, "mouth_quality": 24.0, "face_quality": 0.44, "lip_dynamics": 1.65,
    "head_motion": 18.0, "eyebrow_dynamics": 0.0068, "silent_lip_stability": 0.026, "lip_sync": 0.25,
}
VIDEO_SLOTS = [k for k in GT if k not in ("silent_lip_stability", "lip_sync")]


def _model(factor_video: float, silent: float, lip_sync: float | None) -> dict[str, float | None]:
    d: dict[str, float | None] = {k: GT[k] * factor_video for k in VIDEO_SLOTS}
    d["silent_lip_stability"] = silent
    d["lip_sync"] = lip_sync
    return d


#: per-metric THEval scores: video slots 0.98 (same video, re-encoded) for swapped and muted
MODELS = {
    "orig": _model(1.01, 0.0265, 0.255),  # ≈ GT everywhere
    "swapped": _model(1.02, 0.030, 0.45),  # silent-lip 0.846, lip sync 0.2
    "muted": _model(1.02, 0.028, None),  # silent-lip 0.923 (better than swapped), lip sync undefined
}


def _records(models=MODELS, clips=3):
    names = slot_metrics("paper")
    recs = [Record("gt", f"c{i}", names[k], "ok", value=v) for k, v in GT.items() for i in range(clips)]
    for model, vals in models.items():
        for k, v in vals.items():
            for i in range(clips):
                if v is None:
                    recs.append(Record(model, f"c{i}", names[k], "skipped", reason="undefined",
                                       message="lip-sync undefined: speech in 0% of frames"))
                else:
                    recs.append(Record(model, f"c{i}", names[k], "ok", value=v))
    return recs


def _row(res, model):
    return res.table.set_index("model").loc[model]


def test_muted_ranks_last_on_synchronization_and_not_above_swapped():
    res = theval_score(_records())
    assert res.missing_rule == "worst"
    sync = res.table.set_index("model")["synchronization"]
    assert sync.idxmin() == "muted"
    assert _row(res, "muted")["final"] < _row(res, "swapped")["final"] < _row(res, "orig")["final"]
    assert list(res.table["model"]) == ["orig", "swapped", "muted"]
    # the penalty: the worst lip-sync score of the models that have one, here swapped's 0.2 > 0, so 0
    assert res.penalties == {"muted": {"lip_sync": 0.0}}
    muted = _row(res, "muted")
    assert muted["n_used"] == 7 and muted["n_scored"] == 8 and muted["penalized"] == "lip_sync=0.0000"
    assert muted["synchronization"] == pytest.approx((1 - abs(0.028 - 0.026) / 0.026 + 0.0) / 2)
    assert muted["final"] == pytest.approx((6 * 0.98 + (1 - 0.002 / 0.026) + 0.0) / 8)
    # never an invented measurement: its per-metric lip-sync score stays empty
    assert math.isnan(muted["score.lip_sync"]) and math.isnan(muted["value.lip_sync"])
    assert "undefined" in res.missing("muted")["lip_sync"]
    assert any(n.startswith("muted · lip_sync: missing (no clip with a value (3 skipped: undefined x3))")
               for n in res.notes)
    md = res.to_markdown()
    assert "missing='worst'" in md and "lip_sync = 0.0000" in md
    # issue 12 item 3: the report recommends the offline offset metric next to the published lip sync
    assert "`sync.av_offset`" in md and "cannot tell a 0.5 s audio shift" in md


def test_thevals_own_rule_is_kept_as_missing_drop():
    """``missing="drop"``: each model averages what it has (the issue's ranking comes back)."""
    res = theval_score(_records(), missing="drop")
    muted, swapped = _row(res, "muted"), _row(res, "swapped")
    s_silent_m, s_silent_s = 1 - 0.002 / 0.026, 1 - 0.004 / 0.026
    assert muted["final"] == pytest.approx((6 * 0.98 + s_silent_m) / 7)
    assert swapped["final"] == pytest.approx((6 * 0.98 + s_silent_s + 0.2) / 8)
    assert muted["final"] > swapped["final"]  # the weakness the default fixes
    assert muted["synchronization"] == pytest.approx(s_silent_m)
    assert muted["synchronization"] > swapped["synchronization"]
    assert muted["n_used"] == muted["n_scored"] == 7 and muted["penalized"] == ""
    # old ordering (fewest missing first) and old note
    assert list(res.table["model"]) == ["orig", "swapped", "muted"]
    assert any("average different numbers of metrics" in n for n in res.notes)
    assert res.penalties == {} and res.dropped_slots == []


def test_drop_equals_default_when_nothing_is_missing():
    complete = {m: v for m, v in MODELS.items() if m != "muted"}
    a, b = theval_score(_records(complete)), theval_score(_records(complete), missing="drop")
    cols = ["model", "final", *DIMENSIONS, "n_used", "n_scored", "used", "missing", "penalized"]
    assert a.table[cols].equals(b.table[cols])


def test_penalty_is_the_worst_observed_score_when_negative():
    models = dict(MODELS)
    models["swapped"] = _model(1.02, 0.030, 0.70)  # lip sync 0.7 vs GT 0.25: score -0.8
    res = theval_score(_records(models))
    assert _row(res, "swapped")["score.lip_sync"] == pytest.approx(-0.8)
    assert res.penalties["muted"]["lip_sync"] == pytest.approx(-0.8)
    # on the metric it misses, muted is tied with the worst model, never above it; its dimension score
    # still counts its own (better) silent-lip stability
    muted = _row(res, "muted")
    assert muted["synchronization"] == pytest.approx(((1 - 0.002 / 0.026) - 0.8) / 2)
    zero = theval_score(_records(models), missing="zero")
    assert zero.penalties["muted"]["lip_sync"] == 0.0  # "zero" does not guarantee the ranking


def test_common_rule_drops_the_metric_for_everyone():
    res = theval_score(_records(), missing="common")
    assert res.dropped_slots == ["lip_sync"]
    for m in MODELS:
        assert _row(res, m)["n_scored"] == 7
    assert _row(res, "swapped")["dropped"] == "lip_sync" and _row(res, "muted")["dropped"] == ""
    assert any(n.startswith("lip_sync: left out of every model's final") and "muted" in n for n in res.notes)
    # why it is not the default: synchronization is then silent-lip stability alone, where muted is better
    assert _row(res, "muted")["synchronization"] > _row(res, "swapped")["synchronization"]


def test_a_metric_no_model_has_is_left_out_for_all():
    """One model, lip sync skipped: nothing to compare it with, so THEval's average of the rest."""
    res = theval_score(_records({"muted": MODELS["muted"]}))
    row = _row(res, "muted")
    assert row["n_scored"] == 7 and row["penalized"] == "" and res.penalties == {}
    assert row["final"] == pytest.approx(theval_score(_records({"muted": MODELS["muted"]}), missing="drop")
                                         .final_scores()["muted"])


def test_rules_are_named_and_checked():
    assert set(MISSING_RULES) == {"worst", "common", "zero", "drop"}
    with pytest.raises(ValueError, match="missing must be one of"):
        theval_score(_records(), missing="ignore")  # type: ignore[arg-type]
    assert len(SLOTS) == 8


def test_radar_keeps_a_gap_for_the_missing_metric():
    from avatar_eval.report.radar import theval_radar_frame

    mets = theval_radar_frame(theval_score(_records()), "metrics")
    assert math.isnan(mets.loc["muted", "lip sync"]) and not math.isnan(mets.loc["swapped", "lip sync"])
