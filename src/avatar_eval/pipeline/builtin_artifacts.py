"""Artifacts every protocol shares: audio, speech segments, RMS per frame, the face-mesh track."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..io.video import decode_audio
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
    from ..audio.vad import DEFAULT_VAD, speech_segments

    wav, sr = ctx.get("audio16k")
    return speech_segments(wav, sr, model=ctx.options.get("vad_model", DEFAULT_VAD))


def _face_mesh_default(ctx: "ClipContext"):
    from ..regions.face_mesh import FaceMeshAnalyzer

    return FaceMeshAnalyzer(ctx, refine=True)


register_frame_artifact(
    "face_mesh",
    _face_mesh_default,
    "MediaPipe Face Mesh, full-resolution RGB frames, refine_landmarks on (478 points), tracking "
    "mode, fresh tracker per clip. The one landmark track shared by every default metric.",
)


def require_audio(ctx: "ClipContext") -> None:
    if ctx.audio_path is None and not ctx.info.has_audio:
        raise InputError(f"{ctx.name}: no audio track")
