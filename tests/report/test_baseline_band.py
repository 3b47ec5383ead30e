"""Where models fall between the reference baselines (issue 18): still = 0, gt-copy = 1."""

import json

import pytest

from avatar_eval.report.build import baseline_band, build_reports
from avatar_eval.results.aggregate import aggregate
from avatar_eval.results.schema import Record


def _recs(values):
    return [Record(model=m, sample_id=f"s{i}", metric=k, status="ok", value=v)
            for m, per in values.items() for k, vs in per.items() for i, v in enumerate(vs)]


VALUES = {
    "gt": {"theval.lip_dynamics": [2.0, 2.0]},
    "still": {"theval.lip_dynamics": [0.0, 0.0], "blink.rate": [0.0, 0.0]},
    "gt-copy": {"theval.lip_dynamics": [2.0, 2.0], "blink.rate": [12.0, 12.0]},
    "mine": {"theval.lip_dynamics": [1.0, 2.0], "blink.rate": [18.0, 18.0]},
}


def test_positions_by_hand():
    band = baseline_band(aggregate(_recs(VALUES), n_boot=20)).set_index("metric")
    assert set(band["model"]) == {"mine"}  # the baselines and the GT are the band, not in it
    assert band.loc["theval.lip_dynamics", "position"] == pytest.approx(0.75)  # mean 1.5 of [0, 2]
    assert band.loc["blink.rate", "position"] == pytest.approx(1.5)  # beyond the GT copy


def test_no_band_without_both_baselines(tmp_path):
    assert baseline_band(aggregate(_recs({k: v for k, v in VALUES.items() if k != "still"}), n_boot=20)).empty
    build_reports(tmp_path, _recs(VALUES), n_boot=20, formats="md")
    md = (tmp_path / "leaderboard.md").read_text()
    assert "## Between floor (still) and ceiling (gt-copy)" in md
    assert "| theval.lip_dynamics | full | mine | 1.5 | 0 | 2 | 0.75 |" in md
    assert len(json.loads((tmp_path / "report.json").read_text())["baseline_band"]) == 2
