"""Artifacts every protocol shares: audio, speech segments, RMS per frame, the face-mesh track."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..io.video import decode_audio
from ..options import THEvalOptions, family_options
from .artifacts import artifact, register_frame_artifact

if TYPE_CHECKING:  # pragma: no cover
    from .context import ClipContext


def _audio_source(ctx: "ClipContext") -> str:
    return ctx.audio_path or ctx.video_path


@artifact("audio16k", "Audio, 16 kHz mono float32 (the manifest's audio file, else the video's track).")
def audio16k(ctx: "ClipContext") -> tuple[np.ndarray, int]:
    return decode_audio(_audio_source(ctx), 16000)


@artifact("audio44k", "Audio, 44.1 kHz mono float32 (what THEval lip_sync's moviepy export gives librosa).")
def audio44k(ctx: "ClipContext") -> tuple[np.ndarray, int]:
    return decode_audio(_audio_source(ctx), 44100)


@artifact("vad", "Silero VAD speech segments in seconds [(start, end), ...], library defaults.")
def vad(ctx: "ClipContext") -> list[tuple[float, float]]:
    from ..audio.vad import speech_segments

    wav, sr = ctx.get("audio16k")
    return speech_segments(wav, sr, model=family_options(ctx.options, THEvalOptions).vad_model)


def face_mesh_analyzer(ctx: "ClipContext", *, pixels: str = "pyav", **kw):
    """A Face Mesh analyzer fed the frames under a pixel convention of ``io.video.PIXELS``
    (``"pyav"``: ``frame.rgb``; ``"opencv"``: the same decoded frame converted as OpenCV does;
    ``"decord"``: PyAV's bytes, which decord's are). It carries a ``share_key``: requested tracks
    with equal keys (same settings, and pixels that agree on this clip according to its stream
    header) are computed once by ``ClipContext.prepare``, which checks every frame's tags
    (``share_holds``) and fails the shared copy, with the reason, if a frame breaks the agreement."""
    from ..io.video import PIXELS, clip_frames_plain, clip_pixels_agree
    from ..regions.face_mesh import FaceMeshAnalyzer

    if pixels not in PIXELS:
        raise ValueError(f"unknown pixel convention {pixels!r}; one of {PIXELS}")

    class PixelFaceMesh(FaceMeshAnalyzer):
        def update(self, frame) -> None:
            if self.pixels == "pyav" or self.fed is not None and frame.index not in self.fed:
                return super().update(frame)
            px = frame.pixels(self.pixels)  # converted once per frame, shared by every track
            if px is not frame.rgb:
                frame = type(frame)(frame.index, frame.time, px)
            return super().update(frame)

        def share_holds(self, frame) -> bool:
            """Whether this frame's pixels are those of the track this one shares (ClipContext)."""
            return self.resolved == self.pixels or self.pixels == "pyav" or frame.agrees() or \
                self.pixels == "decord" and frame.pixels("decord") is frame.rgb

    a = PixelFaceMesh(ctx, **kw)
    a.pixels = pixels
    # decord's pixels are PyAV's unless the clip is turned by a display matrix or interlaced (to_rgb)
    same = (pixels == "pyav" or pixels == "decord" and (ctx is None or clip_frames_plain(ctx.video_path))
            or ctx is not None and clip_pixels_agree(ctx.video_path))
    a.resolved = "pyav" if same else pixels
    a.config["pixels"] = pixels
    a.share_priority = 0 if pixels in ("pyav", "decord") else 1  # a PyAV-pixel track leads a shared group
    feed = kw.get("feed")
    cfg = {k: v for k, v in a.config.items() if k not in ("pixels", "feed", "hold_still")}
    run_key = ("face_mesh", a.resolved, tuple(sorted(cfg.items())), None if feed is None else tuple(feed))
    if a.hold_still is None:
        a.share_key = run_key
    else:  # a held track also serves the tracker's own rows (FaceTrack.tracker) to a track without hold
        a.share_key = run_key + (("hold_still", a.hold_still),)
        a.share_serves = (a.share_key, run_key)
    return a


#: the run option that sets the default track's ``hold_still`` (8-bit levels; None: no hold)
STILL_OPTION = "face_mesh_still_threshold"


def still_threshold(options: dict | None) -> float | None:
    """The default track's still threshold from the run options (``STILL_OPTION``)."""
    from ..regions.face_mesh import DEFAULT_STILL_THRESHOLD

    v = (options or {}).get(STILL_OPTION, DEFAULT_STILL_THRESHOLD)
    if v is None or v is False:
        return None
    try:
        v = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{STILL_OPTION} must be a number of 8-bit levels ≥ 0 or None, got {v!r}") from None
    if not (v >= 0 and np.isfinite(v)):
        raise ValueError(f"{STILL_OPTION} must be a finite number of 8-bit levels ≥ 0 or None, got {v!r}")
    return v


def _face_mesh_default(ctx: "ClipContext"):
    return face_mesh_analyzer(ctx, refine=True, hold_still=still_threshold(ctx.options if ctx is not None else None))


register_frame_artifact(
    "face_mesh",
    _face_mesh_default,
    "MediaPipe Face Mesh, full-resolution RGB frames, refine_landmarks on (478 points), tracking "
    "mode, fresh tracker per clip; a still frame (no 8×8 block of the face box more than "
    "`face_mesh_still_threshold` = 1.0 levels from the last measured frame) keeps that frame's "
    "landmarks. The one landmark track shared by every default metric.",
    persist=True,
)


def _face_count(ctx: "ClipContext"):
    from ..regions.face_count import FaceCountAnalyzer

    return FaceCountAnalyzer(ctx)


register_frame_artifact(
    "face_count",
    _face_count,
    "Faces on 5 frames spread over the clip (MediaPipe BlazeFace short range, the tflite bundled in the "
    "mediapipe wheel): the multi_face flag. Computed in the default face_mesh track's decode pass.",
)


def require_audio(ctx: "ClipContext") -> None:
    if ctx.audio_path is None and not ctx.info.has_audio:
        raise InputError(f"{ctx.name}: no audio track")
