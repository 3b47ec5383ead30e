"""Degenerate-input flags of a clip, said next to its numbers (issue 12 item 4).

:func:`clip_flags` reads only what the clip's metrics already computed (it never starts a decode or
a tracker), so the flags a record carries depend on its suite: a THEval run knows about faces and
speech, a pixel-only run only about frozen frames and audio length. Each flag is a short name with
the measured fact:

=====================  ==========================================================================
``no_audio``           the clip has no audio track (and the sample no audio file)
``audio_shorter``      the audio ends ≥ 0.5 s before the video (``seconds`` missing)
``no_speech``          the VAD finds < 0.5 s of speech
``frozen_video``       ≥ 95 % of frame transitions change the image by < 0.5 grey levels on average
``frozen_face``        ≥ 95 % of the default Face Mesh track's rows hold an earlier frame's landmarks
``frozen_mouth``       the lip opening's 5–95 % range is < 0.03 eye-distance units (a still mouth;
                       every talking clip of ../shared measures ≥ 0.13)
``no_face``            Face Mesh finds no face in any frame
``multi_face``         BlazeFace finds more than one face on a sampled frame: how many, and which
                       one the Face Mesh track measured (its size rank, box) and why
                       (regions/face_count.py; counted only where the face_mesh track is computed)
``face_partial``       a face in fewer than half of the frames
``video_shorter_than_gt``  (paired runs) the generated clip has fewer frames than its GT
=====================  ==========================================================================

The runner stores them in every record of the clip (``details["flags"]``); the report lists the
flagged clips. Metrics that do not exist on such input are ``skipped`` with the reason by the
metrics themselves (e.g. lip sync without speech); the flags do not change any value.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pragma: no cover
    from .context import ClipContext

__all__ = ["FROZEN_FRACTION", "STILL_DIFF", "clip_flags", "flag_artifacts", "pair_flags"]

#: a transition whose mean |Δ grey| is below this is still (also the BAS / motion-extras rule)
STILL_DIFF = 0.5
#: a clip is frozen when at least this fraction of its transitions (or held rows) is still
FROZEN_FRACTION = 0.95
#: seconds of speech below which a clip has "no speech"
MIN_SPEECH_S = 0.5
#: seconds by which the audio may end before the video
AUDIO_SHORT_S = 0.5
#: lip-opening range (eye-distance units) of a still mouth (also sync.av_offset's "undefined" rule)
STILL_MOUTH_RANGE = 0.03


def flag_artifacts(names: list[str]) -> list[str]:
    """Artifacts the flags need beside ``names`` (computed in the same decode pass): the face count
    of the ``multi_face`` flag wherever the default Face Mesh track is computed."""
    return ["face_count"] if "face_mesh" in names and "face_count" not in names else []


def _get(ctx: "ClipContext", name: str) -> Any | None:
    try:
        return ctx.get(name) if ctx.has(name) else None
    except Exception:  # noqa: BLE001 - a failed artifact gives no flag; its metrics say why
        return None


def clip_flags(ctx: "ClipContext") -> dict[str, Any]:
    """Flags of one clip from the artifacts it already has (see the module doc)."""
    flags: dict[str, Any] = {}
    try:
        info = ctx.info
    except Exception:  # noqa: BLE001 - an unreadable clip: its records carry the error
        return flags
    if not info.has_audio and not ctx.audio_path:
        flags["no_audio"] = True
    wav = _get(ctx, "audio16k")
    if wav is not None:
        a_dur = len(wav[0]) / float(wav[1])
        if info.duration - a_dur >= AUDIO_SHORT_S:
            flags["audio_shorter"] = {"audio_s": round(a_dur, 3), "video_s": round(info.duration, 3)}
    vad = _get(ctx, "vad")
    if vad is not None:
        speech = float(sum(e - s for s, e in vad))
        if speech < MIN_SPEECH_S:
            flags["no_speech"] = {"speech_s": round(speech, 3)}
    motion = _get(ctx, "frame_motion")
    if motion is not None and len(motion):
        still = float(np.mean(np.asarray(motion) < STILL_DIFF))
        if still >= FROZEN_FRACTION:
            flags["frozen_video"] = {"still_fraction": round(still, 4)}
    track = _get(ctx, "face_mesh")
    if track is not None and track.n_frames:
        if track.n_present == 0:
            flags["no_face"] = True
        else:
            if track.n_present < 0.5 * track.n_frames:
                flags["face_partial"] = {"face_frames": int(track.n_present), "frames": int(track.n_frames)}
            if track.n_held >= FROZEN_FRACTION * track.n_frames:
                flags["frozen_face"] = {"held_fraction": round(track.n_held / track.n_frames, 4)}
            from ..metrics.functional import av_offset as AV

            opening = AV.outer_lip_opening(track.pixels())
            rng = float(AV.robust_range(opening))
            if np.isfinite(rng) and rng < STILL_MOUTH_RANGE:
                flags["frozen_mouth"] = {"lip_opening_range": round(rng, 5)}
    faces = _get(ctx, "face_count")
    if faces is not None and faces.max_faces > 1:
        from ..regions.face_count import measured_face

        flags["multi_face"] = measured_face(faces, track)
    return flags


def pair_flags(gen: "ClipContext", gt: "ClipContext") -> dict[str, Any]:
    """Flags of a generated clip against its GT."""
    try:
        g, t = gen.info.n_frames, gt.info.n_frames
    except Exception:  # noqa: BLE001
        return {}
    if g < t:
        return {"video_shorter_than_gt": {"frames": int(g), "gt_frames": int(t)}}
    return {}
