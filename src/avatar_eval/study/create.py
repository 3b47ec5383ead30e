"""``study create``: turn a run (or a video mapping) into a study directory."""

from __future__ import annotations

import csv
import itertools
import os
import secrets
import shutil
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..results.schema import GT_MODEL
from .config import (
    DEFAULT_DIMENSIONS,
    PROTOCOLS,
    Dimension,
    Limits,
    StudyConfig,
    VideoEntry,
    default_db_url,
    load_or_create_secrets,
)
from .degrade import degrade_video
from .sources import SourceError, collect_videos


class StudyError(ValueError):
    pass


class StudyWarning(UserWarning):
    """Something a study will run with, but participants may not see as intended."""


#: video codecs that current Chromium / Firefox / Safari builds play in an MP4 / WebM container
BROWSER_CODECS = {"h264", "vp8", "vp9", "av1", "hevc"}


def browser_codec_problems(paths) -> list[str]:
    """Files whose video codec browsers are unlikely to play (e.g. MPEG-4 Part 2, MPEG-1)."""
    import av

    bad = []
    for p in paths:
        try:
            with av.open(str(p)) as c:
                name = c.streams.video[0].codec_context.name if c.streams.video else "none"
        except Exception as e:  # unreadable: report as such
            name = f"unreadable ({type(e).__name__})"
        if name not in BROWSER_CODECS:
            bad.append(f"{p} ({name})")
    return bad


def _vid() -> str:
    return secrets.token_hex(16)


def create_study(
    out_dir: str | os.PathLike[str], *,
    run_dir: str | os.PathLike[str] | None = None,
    videos: str | os.PathLike[str] | None = None,
    protocol: str = "2afc",
    models: Sequence[str] | None = None,
    samples: Sequence[str] | None = None,
    dimensions: Sequence[str | Dimension | dict] | None = None,
    pairs_per_participant: int = 10,
    gold_per_participant: int = 1,
    gold_dimension: str = "",
    max_gold_clips: int = 4,
    include_gt: bool = False,
    target: str | None = None,
    title: str | None = None,
    instructions: str | None = None,
    require_full_play: bool = True,
    seed: int = 0,
    limits: Limits | dict | None = None,
    participants: int = 0,
    base_url: str = "http://127.0.0.1:8000",
    db_url: str | None = None,
    degrade: dict[str, Any] | None = None,
    overwrite: bool = False,
) -> tuple[StudyConfig, list[tuple[str, str]]]:
    """Create a study directory. Returns the config and the invites made (``[(id, token)]``)."""
    protocol = protocol.lower()
    if protocol not in PROTOCOLS:
        raise StudyError(f"protocol must be one of {PROTOCOLS}")
    if pairs_per_participant < 1:
        raise StudyError("pairs per participant must be >= 1")
    if gold_per_participant < 0:
        raise StudyError("gold trials per participant must be >= 0")
    out = Path(out_dir)
    if (out / "study.json").exists() and not overwrite:
        raise StudyError(f"{out} already holds a study (use --overwrite to replace it)")
    try:
        table = collect_videos(run_dir, videos)
    except SourceError as e:
        raise StudyError(str(e)) from e

    all_models = [m for m in table if m != GT_MODEL]
    chosen = list(models) if models else list(all_models)
    if include_gt and GT_MODEL not in chosen:
        chosen.append(GT_MODEL)
    unknown = [m for m in chosen if m not in table]
    if unknown:
        raise StudyError(f"models not in the run: {unknown} (available: {sorted(table)})")
    if len(chosen) < 2:
        raise StudyError(f"a study needs >= 2 models to compare, got {chosen}")
    if target is not None and target not in chosen:
        raise StudyError(f"target {target!r} is not one of the compared models {chosen}")

    if samples:
        sample_list = list(samples)
        missing = [(m, s) for m in chosen for s in sample_list if s not in table[m]]
        if missing:
            raise StudyError(f"missing videos for (model, sample): {missing[:5]}")
    else:
        common = set.intersection(*(set(table[m]) for m in chosen))
        sample_list = sorted(common)
    if not sample_list:
        raise StudyError("no sample has a video for every compared model")

    if target is not None:
        combos = [(target, m) for m in chosen if m != target]
    else:
        combos = list(itertools.combinations(chosen, 2))
    pairs = [(s, a, b) for s in sample_list for a, b in combos]

    dims = [Dimension.from_any(d) for d in (dimensions or DEFAULT_DIMENSIONS[protocol])]

    if out.exists() and overwrite:
        for name in ("study.json", "study.db", "study.db-wal", "study.db-shm", "invites.csv"):
            if (out / name).exists():
                (out / name).unlink()
        if (out / "videos").is_dir():
            shutil.rmtree(out / "videos")
    out.mkdir(parents=True, exist_ok=True)

    video_table: dict[str, VideoEntry] = {}
    clips: dict[str, dict[str, str]] = {}
    for m in chosen:
        for s in sample_list:
            vid = _vid()
            video_table[vid] = VideoEntry(str(table[m][s]), m, s, "clip")
            clips.setdefault(m, {})[s] = vid

    problems = browser_codec_problems(e.path for e in video_table.values())
    if problems:
        import warnings

        warnings.warn(StudyWarning(
            f"{len(problems)} video(s) use a codec web browsers may not play (re-encode them to "
            f"H.264 / yuv420p MP4, e.g. ffmpeg -c:v libx264 -pix_fmt yuv420p -c:a aac): "
            + "; ".join(problems[:5])), stacklevel=2)

    gold: list[dict[str, str]] = []
    if gold_per_participant > 0:
        gt_samples = [s for s in sample_list if s in table.get(GT_MODEL, {})]
        if not gt_samples:
            raise StudyError("gold trials need GT videos (model 'gt'); none found "
                             "(use --gold 0 to run without attention checks)")
        for s in gt_samples[:max(1, max_gold_clips)]:
            gt_vid = clips.get(GT_MODEL, {}).get(s)
            if gt_vid is None:
                gt_vid = _vid()
                video_table[gt_vid] = VideoEntry(str(table[GT_MODEL][s]), GT_MODEL, s, "clip")
            dg_vid = _vid()
            dst = out / "videos" / f"gold_{dg_vid[:8]}.mp4"
            degrade_video(table[GT_MODEL][s], dst, **(degrade or {}))
            video_table[dg_vid] = VideoEntry(str(dst.resolve()), "gt_degraded", s, "degraded")
            gold.append({"sample_id": s, "gt": gt_vid, "degraded": dg_vid})
        clips.setdefault(GT_MODEL, {})
        for g in gold:
            clips[GT_MODEL].setdefault(g["sample_id"], g["gt"])

    if isinstance(limits, dict):
        limits = Limits.from_dict(limits)
    cfg = StudyConfig(
        title=title or f"Video comparison study ({protocol.upper()})",
        protocol=protocol, dimensions=dims, models=chosen, samples=sample_list, pairs=pairs,
        videos=video_table, clips=clips, gold=gold,
        pairs_per_participant=pairs_per_participant, gold_per_participant=gold_per_participant,
        gold_dimension=gold_dimension, target=target, require_full_play=require_full_play,
        instructions=instructions or "", seed=seed, study_id=secrets.token_hex(8),
        run_dir=str(Path(run_dir).resolve()) if run_dir is not None else None,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        limits=limits or Limits(),
    )
    cfg.save(out)
    load_or_create_secrets(out)
    invites: list[tuple[str, str]] = []
    from .db import Store

    store = Store(cfg, db_url or default_db_url(out))
    try:
        if participants > 0:
            invites = store.create_participants(participants)
            write_invites(out, invites, base_url)
    finally:
        store.close()
    return cfg, invites


def invite_link(base_url: str, token: str) -> str:
    return f"{base_url.rstrip('/')}/i/{token}"


def write_invites(study_dir: str | os.PathLike[str], invites: list[tuple[str, str]],
                  base_url: str) -> Path:
    """Append invites to ``invites.csv`` (participant, token, link); file mode 0600."""
    p = Path(study_dir) / "invites.csv"
    new = not p.exists()
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", newline="") as f:
        w = csv.writer(f)
        if new:
            w.writerow(["participant", "token", "link"])
        for pid, tok in invites:
            w.writerow([pid, tok, invite_link(base_url, tok)])
    return p
