"""20 simulated participants vote in parallel over loopback; the stored counts must be exact."""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
from sqlalchemy import func, select
from study_helpers import ApiParticipant, live_server

from avatar_eval.study.app import create_app
from avatar_eval.study.create import create_study
from avatar_eval.study.db import Participant, Trial, Vote

N_PARTICIPANTS = 20


def _intended(trial_id: int, dim: str) -> str:
    return ("left", "same", "right")[(trial_id * 7 + len(dim)) % 3]


def test_twenty_parallel_participants_exact_counts(tmp_path, study_run):
    dims = ["overall", "lip_sync"]
    cfg, invites = create_study(tmp_path / "s", run_dir=study_run, protocol="gsb",
                                dimensions=dims, pairs_per_participant=6, gold_per_participant=1,
                                max_gold_clips=1, participants=N_PARTICIPANTS)
    app = create_app(tmp_path / "s")
    n_trials = cfg.trials_per_participant
    barrier = threading.Barrier(N_PARTICIPANTS, timeout=60)
    results: dict[str, dict] = {}
    errors: list[str] = []

    def participant(base: str, token: str) -> None:
        try:
            with httpx.Client(base_url=base, timeout=30) as c:
                p = ApiParticipant(c, token)
                p.join()
                p.state()
                barrier.wait()  # everyone starts voting at the same moment
                st = p.start()
                sent: dict[int, dict[str, str]] = {}
                statuses = []
                first = True
                for _ in range(n_trials + 2):  # bounded
                    if st["phase"] != "trial":
                        break
                    tid = st["trial"]["id"]
                    for side in ("left", "right"):
                        v = c.get(st["trial"][side])
                        assert v.status_code == 200 and len(v.content) > 100
                    answers = {d: _intended(tid, d) for d in dims}
                    sent[tid] = answers
                    if first:
                        # the same vote three times at once: exactly one may count
                        with ThreadPoolExecutor(3) as ex:
                            rs = list(ex.map(lambda _: p.vote(tid, answers), range(3)))
                        statuses = sorted(r.status_code for r in rs)
                        first = False
                    else:
                        r = p.vote(tid, answers)
                        assert r.status_code == 200, r.text
                    st = p.state()
                results[token] = {"sent": sent, "dup_statuses": statuses, "final": st}
        except Exception as e:  # collected and asserted in the main thread
            errors.append(f"{type(e).__name__}: {e}")
            try:
                barrier.abort()
            except Exception:
                pass

    with live_server(app) as base:
        threads = [threading.Thread(target=participant, args=(base, tok))
                   for _, tok in invites]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "participants hung"
    assert not errors, errors[:3]
    assert len(results) == N_PARTICIPANTS

    for _tok, r in results.items():
        assert r["dup_statuses"] == [200, 409, 409]
        assert r["final"]["phase"] == "done"
        assert r["final"]["progress"] == {"done": n_trials, "total": n_trials}
        assert len(r["sent"]) == n_trials

    store = app.state.store
    with store._reading() as s:
        n_votes = s.scalar(select(func.count()).select_from(Vote))
        assert n_votes == N_PARTICIPANTS * n_trials * len(dims)
        per = Counter(s.execute(select(Vote.trial_id, Vote.dimension)).all())
        assert set(per.values()) == {1}  # nothing doubled
        assert s.scalar(select(func.count()).select_from(Trial)) == N_PARTICIPANTS * n_trials
        assert len({tid for tid, _ in per}) == N_PARTICIPANTS * n_trials  # nothing lost
        stored = {(v.trial_id, v.dimension): v.answer for v in s.scalars(select(Vote))}
        assert s.scalar(select(func.count()).select_from(Participant)
                        .where(Participant.completed_at.is_not(None))) == N_PARTICIPANTS
    expected = {(tid, d): a for r in results.values() for tid, ans in r["sent"].items()
                for d, a in ans.items()}
    assert stored == expected
    assert len(store.export_rows()) == N_PARTICIPANTS * n_trials * len(dims)
