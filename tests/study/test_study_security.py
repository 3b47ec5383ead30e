"""Security of the study server: traversal, tokens, CSRF, double votes, body size, rates."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from study_helpers import ApiParticipant, live_server

from avatar_eval.study.app import create_app
from avatar_eval.study.db import Vote


def _n_votes(app) -> int:
    with app.state.store._reading() as s:
        return s.scalar(select(func.count()).select_from(Vote))


@pytest.fixture
def study(tmp_path, study_run):
    """3 participants, 1 pair each out of 18 (so each sees only a few of the videos)."""
    from avatar_eval.study.create import create_study

    cfg, invites = create_study(tmp_path / "study", run_dir=study_run, pairs_per_participant=1,
                                gold_per_participant=0, participants=3,
                                limits={"auth_failures_per_min": 1000})
    app = create_app(tmp_path / "study")
    return tmp_path / "study", cfg, invites, app


def _joined(app, token):
    c = TestClient(app)
    p = ApiParticipant(c, token)
    p.join()
    return c, p


def _raw_get(base: str, raw_path: str, extra: str = "", method: str = "GET"
             ) -> tuple[int, bytes]:
    """One raw HTTP/1.1 request (nothing normalised, headers sent as written)."""
    host, port = base.rsplit("/", 1)[-1].split(":")
    with socket.create_connection((host, int(port)), timeout=5) as s:
        s.sendall(f"{method} {raw_path} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}"
                  f"Connection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    status = int(data.split(b" ", 2)[1])
    return status, data


# -- path traversal ---------------------------------------------------------------------------
def test_path_traversal_never_reaches_the_file_system(study):
    sdir, cfg, invites, app = study
    c, p = _joined(app, invites[0][1])
    secret_bits = [b"admin_secret", b"signing_key", b"root:x:0:0", b'"videos"']
    some_video = next(iter(cfg.videos.values())).path
    attempts = [
        "/v/../../../../etc/passwd", "/v/..%2F..%2F..%2Fetc%2Fpasswd",
        "/v/%2e%2e%2f%2e%2e%2fsecrets.json", "/v/....//....//etc/passwd",
        "/v/" + some_video, "/v/" + some_video.replace("/", "%2F"),
        "/v/%2Fetc%2Fpasswd", "/static/../study.json", "/static/..%2fstudy.json",
        "/static/%2e%2e/secrets.json", "/static/%2e%2e%2f%2e%2e%2fstudy%2fsecrets.json",
        "/v/" + "0" * 31 + "/", "/v/" + "A" * 32, "/v/" + next(iter(cfg.videos))[:31] + "g",
        "/v/.%00./etc/passwd",
    ]
    for path in attempts:
        r = c.get(path)
        assert r.status_code in (400, 404, 405), (path, r.status_code)
        assert not any(b in r.content for b in secret_bits), path
    # the same over a raw socket, so no client normalises the dots away
    with live_server(app) as base:
        for path in ["/v/../../../../etc/passwd", "/static/../secrets.json",
                     "/static/../../../../etc/passwd", "/v/..%2f..%2fsecrets.json",
                     "/static/%2e%2e/%2e%2e/study.json"]:
            status, data = _raw_get(base, path)
            assert status in (400, 401, 404), (path, status)
            assert not any(b in data for b in secret_bits), path


def test_participant_only_gets_videos_of_own_trials(study):
    sdir, cfg, invites, app = study
    c, p = _joined(app, invites[0][1])
    p.start()
    st = p.state()
    own = {st["trial"]["left"].split("/")[-1], st["trial"]["right"].split("/")[-1]}
    for vid in own:
        r = c.get(f"/v/{vid}")
        assert r.status_code == 200 and r.headers["content-type"] == "video/mp4"
        assert r.content == Path(cfg.videos[vid].path).read_bytes()
    # a range request works (seeking in the browser)
    vid = sorted(own)[0]
    r = c.get(f"/v/{vid}", headers={"Range": "bytes=0-99"})
    assert r.status_code == 206 and len(r.content) == 100
    others = [v for v in cfg.videos if v not in own]
    assert others
    for vid in others:
        assert c.get(f"/v/{vid}").status_code == 404
    # video ids do not reveal models or samples
    for vid in own:
        e = cfg.videos[vid]
        assert e.model not in vid and e.sample_id not in vid
    assert "alpha" not in c.get("/api/state").text.replace('"alpha"', "")  # no model names


# -- tokens -----------------------------------------------------------------------------------
def test_missing_and_forged_tokens(study):
    sdir, cfg, invites, app = study
    vid = next(iter(cfg.videos))
    anon = TestClient(app)
    for path in ("/api/state", f"/v/{vid}", "/study"):
        assert anon.get(path).status_code == 401, path
    assert anon.post("/api/vote", json={"trial_id": 1, "answers": {"realism": "left"}}
                     ).status_code == 401
    forged = "A" * 32
    r = anon.get(f"/i/{forged}", follow_redirects=False)
    assert r.status_code == 404 and "set-cookie" not in r.headers
    for tok in (forged, invites[0][1][:-1] + ("x" if invites[0][1][-1] != "x" else "y"),
                "../../etc/passwd", "x" * 5000, "' OR 1=1 --", ""):
        c = TestClient(app, cookies={"ae_session": tok})
        assert c.get("/api/state").status_code == 401, tok
        assert c.get(f"/v/{vid}").status_code == 401
    # a valid token works, and the database only holds its hash
    c, p = _joined(app, invites[0][1])
    assert c.get("/api/state").status_code == 200
    db_bytes = (sdir / "study.db").read_bytes() + (
        (sdir / "study.db-wal").read_bytes() if (sdir / "study.db-wal").exists() else b"")
    for _, tok in invites:
        assert tok.encode() not in db_bytes


def test_failed_token_attempts_are_rate_limited(tmp_path, study_run):
    from avatar_eval.study.create import create_study

    create_study(tmp_path / "s", run_dir=study_run, gold_per_participant=0, participants=1,
                 limits={"auth_failures_per_min": 5})
    app = create_app(tmp_path / "s")
    c = TestClient(app)
    codes = [c.get(f"/i/{'B' * 30}{i:02d}", follow_redirects=False).status_code
             for i in range(8)]
    assert codes[:5] == [404] * 5 and set(codes[5:]) == {429}
    # even a valid token is refused from that address while it is blocked (no brute force)
    c.cookies.set("ae_session", "C" * 30)
    assert c.get("/api/state").status_code == 429


# -- CSRF -------------------------------------------------------------------------------------
def test_csrf_is_required_on_participant_posts(study):
    sdir, cfg, invites, app = study
    c, p = _joined(app, invites[0][1])
    st = p.start()
    tid = st["trial"]["id"]
    good = {"trial_id": tid, "answers": {"realism": "left"}}
    assert c.post("/api/vote", json=good).status_code == 403  # no token
    assert c.post("/api/vote", json=good, headers={"X-CSRF-Token": "0" * 64}).status_code == 403
    # another participant's CSRF token does not work for this session
    c2, p2 = _joined(app, invites[1][1])
    other = p2.state()["csrf"]
    assert other != p.csrf
    assert c.post("/api/vote", json=good, headers={"X-CSRF-Token": other}).status_code == 403
    # cross-site requests are refused even with the right token
    for h in ({"Origin": "http://evil.example"}, {"Origin": "null"},
              {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}):
        r = c.post("/api/vote", json=good, headers={"X-CSRF-Token": p.csrf, **h})
        assert r.status_code == 403, h
    # a form post (what a cross-site <form> can send) is refused
    r = c.post("/api/vote", data={"trial_id": str(tid), "answers": "left"},
               headers={"X-CSRF-Token": p.csrf})
    assert r.status_code == 415
    assert _n_votes(app) == 0
    # same-origin with the right token is accepted
    r = c.post("/api/vote", json=good, headers={"X-CSRF-Token": p.csrf,
                                               "Origin": "http://testserver",
                                               "Sec-Fetch-Site": "same-origin"})
    assert r.status_code == 200, r.text
    assert _n_votes(app) == 1


# -- votes ------------------------------------------------------------------------------------
def test_one_answer_per_trial_and_server_side_validation(tmp_path, study_run):
    from avatar_eval.study.create import create_study

    cfg, invites = create_study(tmp_path / "s", run_dir=study_run, protocol="gsb",
                                dimensions=["overall", "lip_sync"], pairs_per_participant=3,
                                gold_per_participant=0, participants=2)
    app = create_app(tmp_path / "s")
    c, p = _joined(app, invites[0][1])
    st = p.state()
    assert p.vote(1, {"overall": "left", "lip_sync": "left"}).status_code == 409  # not started
    st = p.start()
    tid = st["trial"]["id"]
    ok = {"overall": "left", "lip_sync": "same"}
    bad_bodies = [
        {"trial_id": tid, "answers": {"overall": "left"}},  # a dimension missing
        {"trial_id": tid, "answers": {**ok, "extra": "left"}},  # unknown dimension
        {"trial_id": tid, "answers": {"overall": "evil", "lip_sync": "left"}},
        {"trial_id": tid, "answers": ok, "is_admin": True},  # unknown field
        {"trial_id": -1, "answers": ok}, {"trial_id": "1; DROP TABLE votes", "answers": ok},
        {"trial_id": tid, "answers": ok, "client_rt_ms": -5},
        {"trial_id": tid, "answers": ok, "plays": 10**9},
        {"answers": ok}, [], "x",
    ]
    for body in bad_bodies:
        r = p.post("/api/vote", body)
        assert r.status_code == 422, (body, r.status_code, r.text)
    assert _n_votes(app) == 0
    # the other participant's trial cannot be answered from this session
    c2, p2 = _joined(app, invites[1][1])
    t2 = p2.start()["trial"]["id"]
    assert p.vote(t2, ok).status_code == 404
    # a future trial cannot be answered before the current one
    assert p.vote(tid + 1, ok).status_code in (404, 409)
    r = p.vote(tid, ok, client_rt_ms=1234, plays=2, watched_full=True)
    assert r.status_code == 200 and r.json()["done"] == 1
    again = p.vote(tid, {"overall": "right", "lip_sync": "right"})
    assert again.status_code == 409
    rows = app.state.store.export_rows()
    assert [(r["dimension"], r["answer"]) for r in rows] == [("overall", "left"),
                                                              ("lip_sync", "same")]
    assert rows[0]["client_rt_ms"] == 1234 and rows[0]["plays"] == 2

    # 2AFC refuses "same"
    cfg2, inv2 = create_study(tmp_path / "s2", run_dir=study_run, gold_per_participant=0,
                              participants=1)
    app2 = create_app(tmp_path / "s2")
    c3, p3 = _joined(app2, inv2[0][1])
    t3 = p3.start()["trial"]["id"]
    assert p3.vote(t3, {"realism": "same"}).status_code == 422
    assert p3.vote(t3, {"realism": "right"}).status_code == 200


def test_oversized_bodies_are_refused(study):
    sdir, cfg, invites, app = study
    c, p = _joined(app, invites[0][1])
    tid = p.start()["trial"]["id"]
    big = {"trial_id": tid, "answers": {"realism": "left"}, "pad": "x" * 40_000}
    r = p.post("/api/vote", big)
    assert r.status_code == 413
    # chunked upload without Content-Length, growing past the limit while read
    body = (b'{"trial_id": %d, "answers": {"realism": "left"}, "pad": "' % tid) + b"y" * 40_000 \
        + b'"}'

    def gen():
        for i in range(0, len(body), 4096):
            yield body[i:i + 4096]

    with live_server(app) as base:
        import httpx

        with httpx.Client(base_url=base, timeout=10) as hc:
            hp = ApiParticipant(hc, invites[0][1])
            hp.join()
            hp.state()
            r = hc.post("/api/vote", content=gen(),
                        headers={"X-CSRF-Token": hp.csrf, "Content-Type": "application/json"})
            assert r.status_code == 413
        # a huge declared length is refused before any body byte is read
        status, _ = _raw_get(base, "/api/vote", method="POST", extra=(
            f"Cookie: ae_session={invites[0][1]}\r\nX-CSRF-Token: {hp.csrf}\r\n"
            "Content-Type: application/json\r\nContent-Length: 99999999\r\n"))
        assert status == 413
    assert _n_votes(app) == 0
    assert p.vote(tid, {"realism": "left"}).status_code == 200


def test_participant_rate_limit(tmp_path, study_run):
    from avatar_eval.study.create import create_study

    create_study(tmp_path / "s", run_dir=study_run, gold_per_participant=0, participants=1,
                 limits={"participant_rate": [1, 5]})
    app = create_app(tmp_path / "s")
    c, p = _joined(app, _tok(tmp_path / "s"))
    codes = [c.get("/api/state").status_code for _ in range(8)]
    assert codes[:5] == [200] * 5 and 429 in codes[5:]


def _tok(study_dir: Path) -> str:
    import csv

    with open(study_dir / "invites.csv") as f:
        return next(csv.DictReader(f))["token"]


# -- admin ------------------------------------------------------------------------------------
def test_admin_and_exports_need_the_secret(study):
    sdir, cfg, invites, app = study
    import json

    secret = json.loads((sdir / "secrets.json").read_text())["admin_secret"]
    assert (sdir / "secrets.json").stat().st_mode & 0o077 == 0
    assert (sdir / "invites.csv").stat().st_mode & 0o077 == 0
    c, p = _joined(app, invites[0][1])
    tid = p.start()["trial"]["id"]
    assert p.vote(tid, {"realism": "right"}).status_code == 200
    # a participant session is no admin session
    for path in ("/admin/api/progress", "/admin/api/export", "/admin/api/export?format=jsonl"):
        assert c.get(path).status_code == 401
        assert c.get(path, headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get(path, headers={"Authorization": secret}).status_code == 401
    assert c.post("/admin/api/invites", json={"n": 1}).status_code == 401
    admin = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    r = admin.get("/admin/api/progress")
    assert r.status_code == 200 and r.json()["progress"]["votes"] == 1
    csv_text = admin.get("/admin/api/export").text
    assert "realism" in csv_text and csv_text.count("\n") == 2
    jl = admin.get("/admin/api/export?format=jsonl").text
    assert json.loads(jl.splitlines()[0])["answer"] == "right"
    for _, tok in invites:
        assert tok not in csv_text and tok not in jl and tok not in r.text
    r = admin.post("/admin/api/invites", json={"n": 2, "base_url": "https://study.example"})
    links = [i["link"] for i in r.json()["invites"]]
    assert len(links) == 2 and all(x.startswith("https://study.example/i/") for x in links)
    assert admin.post("/admin/api/invites", json={"n": 100000}).status_code == 422
    assert admin.get("/admin").status_code == 200  # the page itself holds no data


def test_security_headers_and_cookie_flags(study):
    sdir, cfg, invites, app = study
    c = TestClient(app)
    r = c.get(f"/i/{invites[0][1]}", follow_redirects=False)
    ck = r.headers["set-cookie"].lower()
    assert "httponly" in ck and "samesite=lax" in ck and "path=/" in ck
    r = c.get("/study")
    assert r.status_code == 200
    h = r.headers
    assert "script-src 'self'" in h["content-security-policy"]
    assert "unsafe-inline" not in h["content-security-policy"]
    assert "frame-ancestors 'none'" in h["content-security-policy"]
    assert h["x-frame-options"] == "DENY" and h["x-content-type-options"] == "nosniff"
    assert h["referrer-policy"] == "no-referrer"
    assert "<script>" not in r.text  # no inline script (CSP would block it anyway)
    assert c.get("/api/state").headers["cache-control"] == "no-store"
    assert c.get("/docs").status_code == 404 and c.get("/openapi.json").status_code == 404
