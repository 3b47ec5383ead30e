"""Database of a study (SQLAlchemy 2; SQLite by default, any SQLAlchemy URL such as PostgreSQL).

Tables: ``participants`` (token stored as a SHA-256 hash only), ``trials`` (pre-assigned per
participant at invite time: sample, models and videos on each side — the left/right
randomisation is recorded here), ``votes`` (one row per trial × dimension, unique on
``(participant_id, trial_id, dimension)``: a second answer to a trial is refused by the database
even under a race). :class:`Store` holds every operation the web app and the analysis need.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
    create_engine,
    event,
    func,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker
from sqlalchemy.pool import StaticPool

from .config import StudyConfig

TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


class Base(DeclarativeBase):
    pass


class Meta(Base):
    __tablename__ = "meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(256))


class Participant(Base):
    __tablename__ = "participants"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    label: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[float] = mapped_column(Float)
    started_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    completed_at: Mapped[float | None] = mapped_column(Float, nullable=True)
    completion_code: Mapped[str] = mapped_column(String(32))
    user_agent: Mapped[str | None] = mapped_column(String(256), nullable=True)


class Trial(Base):
    __tablename__ = "trials"
    __table_args__ = (UniqueConstraint("participant_id", "position", name="uq_trial_position"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))  # "pair" | "gold"
    sample_id: Mapped[str] = mapped_column(String(256))
    left_model: Mapped[str] = mapped_column(String(256))
    right_model: Mapped[str] = mapped_column(String(256))
    left_video: Mapped[str] = mapped_column(String(64))
    right_video: Mapped[str] = mapped_column(String(64))
    gold_expected: Mapped[str | None] = mapped_column(String(8), nullable=True)
    shown_at: Mapped[float | None] = mapped_column(Float, nullable=True)


class Vote(Base):
    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("participant_id", "trial_id", "dimension", name="uq_vote_once"),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    participant_id: Mapped[int] = mapped_column(ForeignKey("participants.id"), index=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    dimension: Mapped[str] = mapped_column(String(64))
    answer: Mapped[str] = mapped_column(String(8))  # "left" | "right" | "same"
    created_at: Mapped[float] = mapped_column(Float)
    response_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    client_rt_ms: Mapped[int | None] = mapped_column(Integer, nullable=True)
    plays: Mapped[int] = mapped_column(Integer, default=0)
    watched_full: Mapped[bool] = mapped_column(Boolean, default=False)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def iso(t: float | None) -> str:
    if t is None:
        return ""
    return datetime.fromtimestamp(t, tz=UTC).isoformat(timespec="milliseconds")


class VoteError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class ParticipantRef:
    id: int
    public_id: str


def make_engine(url: str):
    if url.startswith("sqlite"):
        kw: dict[str, Any] = {"connect_args": {"check_same_thread": False, "timeout": 30}}
        if url in ("sqlite://", "sqlite:///:memory:"):
            kw["poolclass"] = StaticPool
        engine = create_engine(url, **kw)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn, _rec):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            if "memory" not in url and url != "sqlite://":
                cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Store:
    """All database operations of a study. Thread-safe; one instance per process."""

    def __init__(self, config: StudyConfig, db_url: str):
        self.config = config
        self.url = db_url
        self.engine = make_engine(db_url)
        self.is_sqlite = self.engine.dialect.name == "sqlite"
        Base.metadata.create_all(self.engine)
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite allows one writer: serialise writes in-process instead of hitting SQLITE_BUSY
        self._write_lock = threading.Lock() if self.is_sqlite else None
        self._check_meta()

    def close(self) -> None:
        self.engine.dispose()

    # -- helpers ------------------------------------------------------------------------------
    @contextmanager
    def _writing(self) -> Iterator[Session]:
        if self._write_lock is not None:
            self._write_lock.acquire()
        try:
            with self._session() as s, s.begin():
                yield s
        finally:
            if self._write_lock is not None:
                self._write_lock.release()

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        with self._session() as s:
            yield s

    def _check_meta(self) -> None:
        sid = self.config.study_id
        with self._writing() as s:
            row = s.get(Meta, "study_id")
            if row is None:
                s.add(Meta(key="study_id", value=sid))
            elif row.value != sid:
                raise ValueError(
                    f"database belongs to study {row.value!r}, not {sid!r}; use another --db")

    # -- invites ------------------------------------------------------------------------------
    def create_participants(self, n: int, label: str | None = None) -> list[tuple[str, str]]:
        """Create ``n`` participants with their trials. Returns ``[(public_id, token)]``.

        Pairs are assigned least-used first (ties broken at random), so the pool is covered
        evenly across participants; order and left/right sides are random per participant.
        Gold trials are spread at random positions (never first when there is a choice).
        """
        if n < 1 or n > 100_000:
            raise ValueError("n must be in 1..100000")
        cfg = self.config
        k = min(cfg.pairs_per_participant, len(cfg.pairs))
        pair_index = {tuple(p): i for i, p in enumerate(cfg.pairs)}
        out: list[tuple[str, str]] = []
        with self._writing() as s:
            counts = [0] * len(cfg.pairs)
            rows = s.execute(
                select(Trial.sample_id, Trial.left_model, Trial.right_model, func.count())
                .where(Trial.kind == "pair")
                .group_by(Trial.sample_id, Trial.left_model, Trial.right_model)
            ).all()
            for sid, lm, rm, c in rows:
                key = (sid, *sorted((lm, rm)))
                i = pair_index.get(key)
                if i is None:
                    i = pair_index.get((sid, rm, lm), pair_index.get((sid, lm, rm)))
                if i is not None:
                    counts[i] += c
            n_existing = s.scalar(select(func.count()).select_from(Participant)) or 0
            for j in range(n):
                rng = random.Random(f"{cfg.seed}:{cfg.study_id}:{n_existing + j}:{secrets.token_hex(4)}")
                order = sorted(range(len(cfg.pairs)), key=lambda i: (counts[i], rng.random()))
                chosen = order[:k]
                for i in chosen:
                    counts[i] += 1
                rng.shuffle(chosen)
                trials: list[dict[str, Any]] = []
                vids = cfg.clips
                for i in chosen:
                    sid, a, b = cfg.pairs[i]
                    left, right = (a, b) if rng.random() < 0.5 else (b, a)
                    trials.append(dict(kind="pair", sample_id=sid, left_model=left,
                                       right_model=right, left_video=vids[left][sid],
                                       right_video=vids[right][sid], gold_expected=None))
                for _g in range(cfg.gold_per_participant):
                    gold = cfg.gold[rng.randrange(len(cfg.gold))]
                    gt_left = rng.random() < 0.5
                    gt_m, dg_m = "gt", "gt_degraded"
                    trial = dict(
                        kind="gold", sample_id=gold["sample_id"],
                        left_model=gt_m if gt_left else dg_m,
                        right_model=dg_m if gt_left else gt_m,
                        left_video=gold["gt"] if gt_left else gold["degraded"],
                        right_video=gold["degraded"] if gt_left else gold["gt"],
                        gold_expected="left" if gt_left else "right")
                    trials.insert(rng.randint(1 if trials else 0, len(trials)), trial)
                token = secrets.token_urlsafe(24)
                p = Participant(public_id=secrets.token_hex(6), token_hash=hash_token(token),
                                label=label, created_at=time.time(),
                                completion_code="AE-" + secrets.token_hex(4).upper())
                s.add(p)
                s.flush()
                for pos, t in enumerate(trials):
                    s.add(Trial(participant_id=p.id, position=pos, **t))
                out.append((p.public_id, token))
        return out

    # -- participant side ---------------------------------------------------------------------
    def participant_by_token(self, token: str | None) -> ParticipantRef | None:
        if not token or not TOKEN_RE.match(token):
            return None
        with self._reading() as s:
            p = s.scalar(select(Participant).where(Participant.token_hash == hash_token(token)))
            return ParticipantRef(p.id, p.public_id) if p is not None else None

    def _current_trial(self, s: Session, pid: int) -> tuple[Trial | None, int, int]:
        trials = s.scalars(select(Trial).where(Trial.participant_id == pid)
                           .order_by(Trial.position)).all()
        answered = set(s.scalars(select(Vote.trial_id).where(Vote.participant_id == pid)).all())
        cur = next((t for t in trials if t.id not in answered), None)
        return cur, len(answered), len(trials)

    def state(self, ref: ParticipantRef, user_agent: str | None = None) -> dict[str, Any]:
        """What the participant sees now; marks the current trial as shown (first time)."""
        with self._writing() as s:
            p = s.get(Participant, ref.id)
            if user_agent and not p.user_agent:
                p.user_agent = user_agent[:256]
            cur, done, total = self._current_trial(s, ref.id)
            out: dict[str, Any] = {"progress": {"done": done, "total": total}}
            if p.started_at is None:
                out["phase"] = "instructions"
            elif cur is None:
                if p.completed_at is None:
                    p.completed_at = time.time()
                out["phase"] = "done"
                out["completion_code"] = p.completion_code
            else:
                if cur.shown_at is None:
                    cur.shown_at = time.time()
                out["phase"] = "trial"
                out["trial"] = {"id": cur.id, "position": cur.position,
                                "left": f"/v/{cur.left_video}", "right": f"/v/{cur.right_video}"}
            return out

    def start(self, ref: ParticipantRef) -> None:
        with self._writing() as s:
            p = s.get(Participant, ref.id)
            if p.started_at is None:
                p.started_at = time.time()

    def vote(self, ref: ParticipantRef, trial_id: int, answers: dict[str, str], *,
             client_rt_ms: int | None = None, plays: int = 0,
             watched_full: bool = False) -> dict[str, Any]:
        cfg = self.config
        if set(answers) != set(cfg.dimension_keys):
            raise VoteError(422, f"answers must cover exactly the dimensions {cfg.dimension_keys}")
        bad = {k: v for k, v in answers.items() if v not in cfg.answers}
        if bad:
            raise VoteError(422, f"answers must be one of {list(cfg.answers)}")
        now = time.time()
        try:
            with self._writing() as s:
                p = s.get(Participant, ref.id, with_for_update=not self.is_sqlite)
                if p.started_at is None:
                    raise VoteError(409, "read the instructions first")
                t = s.get(Trial, trial_id)
                if t is None or t.participant_id != ref.id:
                    raise VoteError(404, "no such trial")
                already = s.scalar(select(func.count()).select_from(Vote)
                                   .where(Vote.trial_id == t.id)) or 0
                if already:
                    raise VoteError(409, "this trial was already answered")
                cur, done, total = self._current_trial(s, ref.id)
                if cur is None or cur.id != t.id:
                    raise VoteError(409, "not the current trial")
                if t.shown_at is None:
                    raise VoteError(409, "trial was not shown yet")
                resp = (now - t.shown_at) * 1000.0
                for dim in cfg.dimension_keys:
                    s.add(Vote(participant_id=ref.id, trial_id=t.id, dimension=dim,
                               answer=answers[dim], created_at=now, response_ms=resp,
                               client_rt_ms=client_rt_ms, plays=plays,
                               watched_full=watched_full))
                s.flush()
                if done + 1 >= total:
                    s.execute(update(Participant).where(Participant.id == ref.id)
                              .values(completed_at=now))
        except IntegrityError:
            raise VoteError(409, "this trial was already answered") from None
        return {"ok": True, "done": done + 1, "total": total}

    def video_allowed(self, ref: ParticipantRef, video_id: str) -> bool:
        with self._reading() as s:
            n = s.scalar(select(func.count()).select_from(Trial).where(
                Trial.participant_id == ref.id,
                (Trial.left_video == video_id) | (Trial.right_video == video_id)))
            return bool(n)

    # -- admin / analysis ---------------------------------------------------------------------
    def progress(self) -> dict[str, Any]:
        with self._reading() as s:
            n_p = s.scalar(select(func.count()).select_from(Participant)) or 0
            n_started = s.scalar(select(func.count()).select_from(Participant)
                                 .where(Participant.started_at.is_not(None))) or 0
            n_done = s.scalar(select(func.count()).select_from(Participant)
                              .where(Participant.completed_at.is_not(None))) or 0
            n_votes = s.scalar(select(func.count()).select_from(Vote)) or 0
            n_trials = s.scalar(select(func.count()).select_from(Trial)) or 0
            n_answered = s.scalar(select(func.count(func.distinct(Vote.trial_id)))) or 0
        return {"participants": n_p, "started": n_started, "completed": n_done,
                "trials": n_trials, "trials_answered": n_answered, "votes": n_votes}

    def participants(self) -> list[dict[str, Any]]:
        with self._reading() as s:
            rows = s.scalars(select(Participant).order_by(Participant.id)).all()
            return [{"participant": p.public_id, "label": p.label or "",
                     "created_at": iso(p.created_at), "started_at": iso(p.started_at),
                     "completed_at": iso(p.completed_at),
                     "completion_code": p.completion_code if p.completed_at else ""}
                    for p in rows]

    def export_rows(self) -> list[dict[str, Any]]:
        """One row per vote, joined with its trial and participant (no tokens)."""
        with self._reading() as s:
            q = (select(Vote, Trial, Participant)
                 .join(Trial, Vote.trial_id == Trial.id)
                 .join(Participant, Vote.participant_id == Participant.id)
                 .order_by(Vote.id))
            out = []
            for v, t, p in s.execute(q).all():
                chosen = {"left": t.left_model, "right": t.right_model}.get(v.answer, "same")
                gold_pass = None
                if t.kind == "gold" and v.dimension == self.config.gold_dimension:
                    gold_pass = v.answer == t.gold_expected
                out.append({
                    "study_id": self.config.study_id, "vote_id": v.id,
                    "participant": p.public_id, "completed": p.completed_at is not None,
                    "trial_id": t.id, "position": t.position, "kind": t.kind,
                    "sample_id": t.sample_id, "left_model": t.left_model,
                    "right_model": t.right_model, "left_video": t.left_video,
                    "right_video": t.right_video, "dimension": v.dimension,
                    "answer": v.answer, "chosen_model": chosen,
                    "gold_expected": t.gold_expected or "",
                    "gold_pass": "" if gold_pass is None else gold_pass,
                    "shown_at": iso(t.shown_at), "answered_at": iso(v.created_at),
                    "response_ms": round(v.response_ms, 1) if v.response_ms is not None else "",
                    "client_rt_ms": v.client_rt_ms if v.client_rt_ms is not None else "",
                    "plays": v.plays, "watched_full": v.watched_full,
                })
            return out
