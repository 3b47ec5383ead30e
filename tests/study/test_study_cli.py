"""The ``avatar-eval study`` commands, end to end on a small study with planted votes."""

from __future__ import annotations

import csv
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from avatar_eval.cli.study_cmd import app
from avatar_eval.study.config import StudyConfig
from avatar_eval.study.db import ParticipantRef, Store

RANK = {"alpha": 0, "beta": 1, "gamma": 2, "delta": 3}  # planted: alpha best


def _vote_all(study_dir, fail_gold_for: set[int]) -> int:
    """Every participant answers every trial: the better model (by RANK), GT on gold trials
    except participants in ``fail_gold_for`` (by creation order), who pick the degraded copy."""
    cfg = StudyConfig.load(study_dir)
    store = Store(cfg, f"sqlite:///{study_dir / 'study.db'}")
    from sqlalchemy import select

    from avatar_eval.study.db import Participant

    with store._reading() as s:
        parts = [(p.id, p.public_id) for p in s.scalars(select(Participant).order_by(
            Participant.id))]
    n = 0
    for k, (pid, pub) in enumerate(parts):
        ref = ParticipantRef(pid, pub)
        store.start(ref)
        for _ in range(50):
            st = store.state(ref)
            if st["phase"] != "trial":
                break
            tid = st["trial"]["id"]
            from avatar_eval.study.db import Trial

            with store._reading() as s:
                t = s.get(Trial, tid)
            if t.kind == "gold":
                side = t.gold_expected
                if k in fail_gold_for:
                    side = "left" if side == "right" else "right"
            else:
                side = "left" if RANK[t.left_model] < RANK[t.right_model] else "right"
            store.vote(ref, tid, {d: side for d in cfg.dimension_keys})
            n += 1
    store.close()
    return n


def test_cli_create_invite_export_analyze(tmp_path, study_run, monkeypatch):
    r = CliRunner()
    sdir = tmp_path / "study"
    res = r.invoke(app, ["create", str(study_run), "--out", str(sdir), "--pairs", "6",
                         "--gold", "1", "--participants", "8", "--title", "CLI study",
                         "--base-url", "https://example.org/study"])
    assert res.exit_code == 0, res.output
    assert "admin secret" in res.output and "8 invite links" in res.output
    res = r.invoke(app, ["invite", str(sdir), "-n", "2", "--base-url", "https://x.example"])
    assert res.exit_code == 0, res.output
    links = [x for x in res.output.splitlines() if x.startswith("https://x.example/i/")]
    assert len(links) == 2
    with open(sdir / "invites.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 10 and rows[0]["link"].startswith("https://example.org/study/i/")
    # issue 16: `serve` on another address prints the links that reach it (invites.csv keeps its own)
    from avatar_eval.cli.study_cmd import served_invite_lines

    lines = served_invite_lines(sdir, "http://127.0.0.1:8765")
    assert lines[0].startswith("10 of 10 invite links") and len(lines) == 11
    assert lines[1].endswith("http://127.0.0.1:8765/i/" + rows[0]["token"])
    assert served_invite_lines(sdir, "https://x.example")[0].startswith("8 of 10")

    n_trials = _vote_all(sdir, fail_gold_for={0})
    assert n_trials == 10 * 7

    for ext in ("csv", "jsonl"):
        res = r.invoke(app, ["export", str(sdir), "-o", str(tmp_path / f"votes.{ext}")])
        assert res.exit_code == 0, res.output
        assert f"{n_trials} votes" in res.output
    exported = pd.read_csv(tmp_path / "votes.csv")
    assert len(exported) == n_trials
    assert set(exported["answer"]) <= {"left", "right"}
    jl = [json.loads(x) for x in (tmp_path / "votes.jsonl").read_text().splitlines()]
    assert len(jl) == n_trials and jl[0]["study_id"] == StudyConfig.load(sdir).study_id

    out = tmp_path / "analysis"
    common = ["--direction", "test.up=higher", "--direction", "test.down=lower",
              "--direction", "test.closer=gt", "--n-boot", "500", "--n-boot-human", "100"]
    res = r.invoke(app, ["analyze", str(sdir), "--out", str(out), *common])
    assert res.exit_code == 0, res.output
    assert "1 excluded" in res.output
    assert "[realism] win rate: alpha" in res.output
    wr = pd.read_csv(out / "win_rates.csv").sort_values("bt_rank")
    assert list(wr["model"]) == ["alpha", "beta", "gamma", "delta"]
    assert wr.set_index("model").loc["alpha", "win_rate"] == 1.0
    corr = pd.read_csv(out / "correlation.csv").set_index("metric")
    assert corr.loc["test.up", "rho"] == pytest.approx(1.0)
    assert corr.loc["test.down", "rho"] == pytest.approx(-1.0)
    assert corr.loc["test.down", "rho_aligned"] == pytest.approx(1.0)
    assert corr.loc["test.closer", "rho_aligned"] == pytest.approx(1.0)
    assert corr.loc["test.up", "pair_agreement"] == 1.0
    att = pd.read_csv(out / "attention.csv")
    assert att["excluded"].sum() == 1 and att["n_gold"].sum() == 10
    assert (out / "scatter.png").stat().st_size > 10_000
    assert "THEval Table 2" in (out / "report.md").read_text()

    # the exported votes give the same analysis as the database
    res = r.invoke(app, ["analyze", str(sdir), "--votes", str(tmp_path / "votes.csv"),
                         "--out", str(tmp_path / "a2"), *common])
    assert res.exit_code == 0, res.output
    pd.testing.assert_frame_equal(pd.read_csv(out / "win_rates.csv"),
                                  pd.read_csv(tmp_path / "a2" / "win_rates.csv"))
    pd.testing.assert_frame_equal(pd.read_csv(out / "correlation.csv"),
                                  pd.read_csv(tmp_path / "a2" / "correlation.csv"))

    # serve builds the app and hands it to uvicorn on loopback
    seen = {}

    def fake_run(application, **kw):
        seen["app"], seen["kw"] = application, kw

    import uvicorn

    monkeypatch.setattr(uvicorn, "run", fake_run)
    res = r.invoke(app, ["serve", str(sdir), "--port", "8123"])
    assert res.exit_code == 0, res.output
    assert seen["kw"]["host"] == "127.0.0.1" and seen["kw"]["port"] == 8123
    assert seen["app"].state.config.title == "CLI study"


def test_cli_create_needs_a_source(tmp_path):
    res = CliRunner().invoke(app, ["create", "--out", str(tmp_path / "s")])
    assert res.exit_code != 0
    res = CliRunner().invoke(app, ["create", str(tmp_path / "missing"), "--out",
                                   str(tmp_path / "s")])
    assert res.exit_code == 2 and "run.json" in res.output
