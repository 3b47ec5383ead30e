"""End to end: a whole participant session in headless Chromium against the real server.

Needs Debian's chromium at /usr/bin/chromium (``apt-get install -y chromium``); Playwright is
used with ``executable_path`` so no browser download happens.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest
from sqlalchemy import select
from study_helpers import live_server, make_run

from avatar_eval.study.app import create_app
from avatar_eval.study.create import create_study
from avatar_eval.study.db import Participant, Trial, Vote
from avatar_eval.testing.browser import ARGS, CHROMIUM, browser_marks

pytestmark = browser_marks()


def _current_trial(store, pid: int) -> Trial:
    with store._reading() as s:
        answered = set(s.scalars(select(Vote.trial_id).where(Vote.participant_id == pid)))
        trials = s.scalars(select(Trial).where(Trial.participant_id == pid)
                           .order_by(Trial.position)).all()
        return next(t for t in trials if t.id not in answered)


@pytest.mark.parametrize("protocol", ["2afc", "gsb"])
def test_whole_participant_session_in_chromium(tmp_path, protocol):
    sync_api = pytest.importorskip("playwright.sync_api")
    run = make_run(tmp_path, models=["alpha", "beta", "gamma"], samples=["s1", "s2"])
    dims = ["realism"] if protocol == "2afc" else ["overall", "lip_sync"]
    cfg, invites = create_study(tmp_path / "study", run_dir=run, protocol=protocol,
                                dimensions=dims, pairs_per_participant=3, gold_per_participant=1,
                                participants=1)
    (pid_public, token), = invites
    app = create_app(tmp_path / "study")
    store = app.state.store
    with store._reading() as s:
        pid = s.scalar(select(Participant.id).where(Participant.public_id == pid_public))
    expected: dict[int, dict[str, str]] = {}
    shots = tmp_path / "screenshots"
    shots.mkdir()

    with live_server(app) as base, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 820})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{base}/i/{token}")
            page.wait_for_selector("#instructions:not([hidden])", timeout=10_000)
            assert "Play/Pause both" in page.inner_text("#instructions-text")
            page.screenshot(path=str(shots / f"{protocol}_instructions.png"))
            page.click("#start")

            for k in range(cfg.trials_per_participant):
                page.wait_for_selector("#trial:not([hidden])", timeout=10_000)
                t = _current_trial(store, pid)
                page.wait_for_function(
                    f"() => document.getElementById('video-left').src.endsWith('{t.left_video}')",
                    timeout=10_000)
                assert page.get_attribute("#video-right", "src").endswith(t.right_video)
                assert page.inner_text("#progress-text") == f"{k} / {cfg.trials_per_participant}"
                # the planted answer: gold -> the GT side; else the side showing "alpha", else
                # the alphabetically first model (GSB: "same" on the second dimension)
                if t.kind == "gold":
                    side = t.gold_expected
                elif "alpha" in (t.left_model, t.right_model):
                    side = "left" if t.left_model == "alpha" else "right"
                else:
                    side = "left" if t.left_model < t.right_model else "right"
                answers = {dims[0]: side}
                if protocol == "gsb":
                    answers[dims[1]] = "same"
                expected[t.id] = answers
                for dim, a in answers.items():
                    page.click(f"button[data-dim='{dim}'][data-answer='{a}']")
                # answering is locked until the pair was watched to the end
                assert page.is_disabled("#submit")
                page.wait_for_function(
                    "() => document.getElementById('video-left').readyState >= 2 && "
                    "document.getElementById('video-right').readyState >= 2", timeout=10_000)
                page.click("#playpause")
                page.wait_for_function(
                    "() => !document.getElementById('video-left').paused && "
                    "!document.getElementById('video-right').paused", timeout=10_000)
                if k == 0:
                    time.sleep(0.35)
                    gap = page.evaluate(
                        "Math.abs(document.getElementById('video-left').currentTime - "
                        "document.getElementById('video-right').currentTime)")
                    assert gap < 0.25, f"videos out of sync by {gap:.3f}s"
                    page.screenshot(path=str(shots / f"{protocol}_trial.png"), full_page=True)
                page.wait_for_selector("#submit:not([disabled])", timeout=15_000)
                page.click("#submit")
                page.wait_for_function(
                    f"() => document.getElementById('progress-text').textContent.startsWith('{k + 1} /')",
                    timeout=10_000)

            page.wait_for_selector("#done:not([hidden])", timeout=10_000)
            code = page.inner_text("#completion-code").strip()
            page.screenshot(path=str(shots / f"{protocol}_done.png"))
            assert not errors, errors
        finally:
            browser.close()

    # the database holds exactly the clicks made, with sides, timing and completion
    with store._reading() as s:
        p = s.get(Participant, pid)
        assert p.completed_at is not None and code == p.completion_code
        votes = s.scalars(select(Vote).where(Vote.participant_id == pid)).all()
        trials = {t.id: t for t in s.scalars(select(Trial).where(Trial.participant_id == pid))}
    assert len(votes) == cfg.trials_per_participant * len(dims)
    got: dict[int, dict[str, str]] = {}
    for v in votes:
        got.setdefault(v.trial_id, {})[v.dimension] = v.answer
        assert v.watched_full and v.plays >= 1
        assert v.response_ms is not None and v.response_ms > 500  # 1 s clips were played
        assert v.client_rt_ms is not None and v.client_rt_ms > 500
    assert got == expected
    for t in trials.values():
        assert t.shown_at is not None and {t.left_model, t.right_model}
    assert sum(t.kind == "gold" for t in trials.values()) == 1
    # screenshots exist and are real PNGs; copy them out for a human look if asked
    for name in (f"{protocol}_instructions.png", f"{protocol}_trial.png", f"{protocol}_done.png"):
        data = (shots / name).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    keep = os.environ.get("AVATAR_EVAL_STUDY_SCREENSHOTS")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        for f in shots.iterdir():
            shutil.copy(f, Path(keep) / f.name)
