"""The study web app (FastAPI). Build it with :func:`create_app`; serve it with uvicorn.

Participant routes (session = invite token in an ``HttpOnly; SameSite=Lax`` cookie):
``GET /i/{token}`` (invite link: sets the cookie, redirects to ``/study``), ``GET /study``
(the page), ``GET /api/state``, ``POST /api/start``, ``POST /api/vote``, ``GET /v/{video_id}``.
Admin routes (``Authorization: Bearer <admin secret>``): ``GET /admin`` (page),
``GET /admin/api/progress``, ``GET /admin/api/export?format=csv|jsonl``,
``POST /admin/api/invites``.

Videos are looked up by an opaque 32-hex id in the study's own table; nothing the client sends
is ever joined to a file-system path, and a participant can only fetch the videos of their own
trials.
"""

from __future__ import annotations

import csv
import html
import io
import json
import mimetypes
import os
import re
from contextlib import asynccontextmanager
from pathlib import Path
from string import Template
from typing import Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field

from .config import StudyConfig, default_db_url, load_or_create_secrets
from .db import ParticipantRef, Store, VoteError
from .security import (
    BodyLimitMiddleware,
    RateLimiter,
    RateLimitMiddleware,
    SecurityHeadersMiddleware,
    client_ip,
    csrf_token,
    same_origin,
    secret_ok,
)

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
TEMPLATE_DIR = HERE / "templates"
VIDEO_ID_RE = re.compile(r"^[0-9a-f]{32}$")
COOKIE = "ae_session"


def render(name: str, **values: Any) -> str:
    tpl = Template((TEMPLATE_DIR / name).read_text("utf-8"))
    return tpl.safe_substitute({k: html.escape(str(v), quote=True) for k, v in values.items()})


class VoteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    trial_id: int = Field(ge=1, le=2**31 - 1)
    answers: dict[str, Literal["left", "right", "same"]] = Field(max_length=32)
    client_rt_ms: int | None = Field(default=None, ge=0, le=86_400_000)
    plays: int = Field(default=0, ge=0, le=10_000)
    watched_full: bool = False


class InvitesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    n: int = Field(ge=1, le=1000)
    base_url: str | None = Field(default=None, max_length=512, pattern=r"^https?://[^\s]+$")
    label: str | None = Field(default=None, max_length=128)


def create_app(study_dir: str | os.PathLike[str], db_url: str | None = None, *,
               cookie_secure: bool = False, base_url: str | None = None) -> FastAPI:
    study_dir = Path(study_dir).resolve()
    cfg = StudyConfig.load(study_dir)
    secrets_ = load_or_create_secrets(study_dir)
    store = Store(cfg, db_url or default_db_url(study_dir))
    limits = cfg.limits
    auth_fail = RateLimiter(limits.auth_failures_per_min / 60.0, limits.auth_failures_per_min)
    per_participant = RateLimiter(*limits.participant_rate)
    videos = {vid: Path(e.path) for vid, e in cfg.videos.items()}

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        store.close()

    app = FastAPI(title="avatar-eval study", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.store = store
    app.state.config = cfg
    app.state.study_dir = study_dir

    # -- helpers ------------------------------------------------------------------------------
    def ip(request: Request) -> str:
        return client_ip(request, limits.trust_proxy)

    def check_auth_budget(request: Request) -> None:
        if auth_fail.blocked("fail:" + ip(request)):
            raise HTTPException(429, "too many failed attempts; try again later",
                                headers={"Retry-After": "60"})

    def auth_failed(request: Request) -> None:
        auth_fail.allow("fail:" + ip(request))

    def participant(request: Request) -> ParticipantRef:
        check_auth_budget(request)
        ref = store.participant_by_token(request.cookies.get(COOKIE))
        if ref is None:
            auth_failed(request)
            raise HTTPException(401, "missing or invalid invite token; open your invite link")
        if not per_participant.allow(f"p:{ref.id}"):
            raise HTTPException(429, "too many requests", headers={"Retry-After": "1"})
        return ref

    def participant_post(request: Request, ref: ParticipantRef = Depends(participant)
                         ) -> ParticipantRef:
        ctype = request.headers.get("content-type", "")
        if not ctype.split(";")[0].strip().lower() == "application/json":
            raise HTTPException(415, "content-type must be application/json")
        if not same_origin(request.headers):
            raise HTTPException(403, "cross-site request refused")
        given = request.headers.get("x-csrf-token", "")
        if not secret_ok(given, csrf_token(secrets_["signing_key"], ref.public_id)):
            raise HTTPException(403, "missing or invalid CSRF token")
        return ref

    def admin(request: Request) -> None:
        check_auth_budget(request)
        auth = request.headers.get("authorization", "")
        given = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not secret_ok(given, secrets_["admin_secret"]):
            auth_failed(request)
            raise HTTPException(401, "admin secret required (Authorization: Bearer ...)",
                                headers={"WWW-Authenticate": "Bearer"})

    def study_info() -> dict[str, Any]:
        return {"title": cfg.title, "protocol": cfg.protocol,
                "instructions": cfg.instructions,
                "dimensions": [{"key": d.key, "label": d.label, "question": d.question}
                               for d in cfg.dimensions],
                "answers": list(cfg.answers), "require_full_play": cfg.require_full_play}

    def state_payload(ref: ParticipantRef, request: Request) -> dict[str, Any]:
        st = store.state(ref, request.headers.get("user-agent"))
        st["study"] = study_info()
        st["csrf"] = csrf_token(secrets_["signing_key"], ref.public_id)
        return st

    # -- participant routes --------------------------------------------------------------------
    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(render("message.html", title=cfg.title,
                                   message="Please open the invite link you were given."))

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    @app.get("/i/{token}")
    def invite(token: str, request: Request) -> Response:
        check_auth_budget(request)
        ref = store.participant_by_token(token)
        if ref is None:
            auth_failed(request)
            return HTMLResponse(render("message.html", title=cfg.title,
                                       message="This invite link is not valid."),
                                status_code=404)
        resp = RedirectResponse("/study", status_code=303)
        resp.set_cookie(COOKIE, token, max_age=30 * 24 * 3600, httponly=True, samesite="lax",
                        secure=cookie_secure, path="/")
        return resp

    @app.get("/study", response_class=HTMLResponse)
    def study_page(request: Request) -> HTMLResponse:
        check_auth_budget(request)
        if store.participant_by_token(request.cookies.get(COOKIE)) is None:
            auth_failed(request)
            return HTMLResponse(render("message.html", title=cfg.title,
                                       message="Please open the invite link you were given."),
                                status_code=401)
        return HTMLResponse(render("study.html", title=cfg.title),
                            headers={"Cache-Control": "no-store"})

    @app.get("/api/state")
    def api_state(request: Request, ref: ParticipantRef = Depends(participant)) -> JSONResponse:
        return JSONResponse(state_payload(ref, request))

    @app.post("/api/start")
    def api_start(request: Request, ref: ParticipantRef = Depends(participant_post)
                  ) -> JSONResponse:
        store.start(ref)
        return JSONResponse(state_payload(ref, request))

    @app.post("/api/vote")
    def api_vote(vote: VoteIn, request: Request,
                 ref: ParticipantRef = Depends(participant_post)) -> JSONResponse:
        try:
            res = store.vote(ref, vote.trial_id, dict(vote.answers),
                             client_rt_ms=vote.client_rt_ms, plays=vote.plays,
                             watched_full=vote.watched_full)
        except VoteError as e:
            return JSONResponse({"detail": e.message}, status_code=e.status)
        return JSONResponse({**res, "state": state_payload(ref, request)})

    @app.get("/v/{video_id}")
    def video(video_id: str, request: Request,
              ref: ParticipantRef = Depends(participant)) -> Response:
        if not VIDEO_ID_RE.match(video_id) or video_id not in videos:
            raise HTTPException(404, "no such video")
        if not store.video_allowed(ref, video_id):
            raise HTTPException(404, "no such video")
        path = videos[video_id]
        if not path.is_file():
            raise HTTPException(410, "video file is gone")
        mt = mimetypes.guess_type(path.name)[0] or "video/mp4"
        return FileResponse(path, media_type=mt,
                            headers={"Cache-Control": "private, max-age=3600"})

    # -- admin routes --------------------------------------------------------------------------
    @app.get("/admin", response_class=HTMLResponse)
    def admin_page() -> HTMLResponse:
        return HTMLResponse(render("admin.html", title=cfg.title))

    @app.get("/admin/api/progress", dependencies=[Depends(admin)])
    def admin_progress() -> JSONResponse:
        return JSONResponse({"study": {"id": cfg.study_id, **study_info(),
                                       "models": cfg.models, "samples": len(cfg.samples),
                                       "pairs": len(cfg.pairs)},
                             "progress": store.progress(), "participants": store.participants()})

    @app.get("/admin/api/export", dependencies=[Depends(admin)])
    def admin_export(format: Literal["csv", "jsonl"] = "csv") -> Response:
        rows = store.export_rows()
        if format == "jsonl":
            body = "".join(json.dumps(r) + "\n" for r in rows)
            return Response(body, media_type="application/x-ndjson", headers={
                "Content-Disposition": f'attachment; filename="votes_{cfg.study_id}.jsonl"'})
        return Response(votes_csv(rows), media_type="text/csv", headers={
            "Content-Disposition": f'attachment; filename="votes_{cfg.study_id}.csv"'})

    @app.post("/admin/api/invites", dependencies=[Depends(admin)])
    def admin_invites(body: InvitesIn, request: Request) -> JSONResponse:
        from .create import invite_link, write_invites

        base = body.base_url or base_url or str(request.base_url).rstrip("/")
        made = store.create_participants(body.n, label=body.label)
        write_invites(study_dir, made, base)
        return JSONResponse({"invites": [{"participant": p, "link": invite_link(base, t)}
                                         for p, t in made]})

    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")

    # added last = outermost: security headers, then the per-address ceiling, then body limit
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=limits.max_body_bytes)
    app.add_middleware(RateLimitMiddleware, limiter=RateLimiter(*limits.ip_rate),
                       trust_proxy=limits.trust_proxy)
    app.add_middleware(SecurityHeadersMiddleware)
    return app


def votes_csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    fields = list(rows[0].keys()) if rows else [
        "study_id", "vote_id", "participant", "completed", "trial_id", "position", "kind",
        "sample_id", "left_model", "right_model", "left_video", "right_video", "dimension",
        "answer", "chosen_model", "gold_expected", "gold_pass", "shown_at", "answered_at",
        "response_ms", "client_rt_ms", "plays", "watched_full"]
    w = csv.DictWriter(buf, fieldnames=fields)
    w.writeheader()
    for r in rows:
        w.writerow(r)
    return buf.getvalue()
