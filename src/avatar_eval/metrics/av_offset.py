"""Offline audio–video offset and sync confidence (no learned weights).

``sync.av_offset``      offset in frames at the clip's frame rate, searched over ±15 frames
                        (SyncNet's window); **positive = the audio lags the video**.
``sync.av_confidence``  how much the best lag stands out: peak − median of the correlation curve
                        (correlation units, 0 … 2; LSE-C-like, higher = more confident).
``sync.av_offset_wide`` the offset searched over ±30 frames (±1 s at 25–30 fps).

The three read one shared artifact, ``av_offset.signals`` (the mouth-opening series from the
default ``face_mesh`` track and 16 log-mel band energies of ``audio16k`` on the same frame grid),
so the Face Mesh track is the one every default metric uses and nothing is decoded twice. The
method, its sign, the confidence scale and the measured accuracy are in docs/theval.md
("Offline AV offset"); the formulas are in :mod:`avatar_eval.metrics.functional.av_offset`.

Options (``RunConfig.options`` / the clip context's ``options``): ``av_offset_max_shift`` (frames,
default 15) widens or narrows the window of ``sync.av_offset`` / ``sync.av_confidence``.

Skipped with reason ``undefined`` (:class:`~avatar_eval.errors.MetricUndefined`), never scored:
no audio track, less than 1 s of speech (silero VAD), a face in fewer than half the frames, a
still mouth (5–95 % range of the opening < 0.03 eye-distance units: a frozen clip or frozen mouth
region), a clip shorter than the window allows, or an audio track that is constant.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import MetricUndefined
from ..options import SyncOptions, family_options
from ..pipeline.artifacts import artifact
from ..pipeline.flags import STILL_MOUTH_RANGE
from .base import Metric, MetricValue
from .functional import av_offset as F
from .registry import register, register_suite

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.context import ClipContext

#: the mouth must move at least this much (5–95 % range of the outer lip opening, in
#: eye-distance units): frozen clips measure ≤ 0.006, real speech ≥ 0.13 (docs/theval.md)
MIN_MOUTH_RANGE = STILL_MOUTH_RANGE  # the frozen_mouth flag's rule (pipeline/flags.py)
#: seconds of detected speech the audio must hold inside the video's time span
MIN_SPEECH_S = 1.0
#: fraction of frames that must have a face
MIN_FACE_FRACTION = 0.5


@dataclass
class AVSignals:
    """What the offset search reads, on the video's uniform frame grid."""

    grid: np.ndarray  # seconds, video clock
    fps: float
    mouth: np.ndarray  # outer lip opening per grid frame
    bands: np.ndarray  # (n, N_BANDS) log band energies at the grid times
    audio_start: float  # time of audio sample 0 on the video clock
    n_frames: int
    n_face_frames: int
    speech_s: float
    mouth_range: float


def _stream_starts(path: str) -> tuple[float | None, float | None]:
    """(video, audio) stream start times in seconds (None when the container does not say)."""
    import av

    with av.open(str(path)) as c:
        def start(st):
            if st is None or st.start_time is None or st.time_base is None:
                return None
            return float(st.start_time * st.time_base)

        return (start(c.streams.video[0] if c.streams.video else None),
                start(c.streams.audio[0] if c.streams.audio else None))


def _undefined(msg: str) -> MetricUndefined:
    return MetricUndefined(f"AV offset undefined: {msg}")


@artifact("av_offset.signals", "Mouth opening (outer lips, default face_mesh track) and 16 log-mel band energies of "
          "audio16k on the video's uniform frame grid, for the sync.av_* metrics.")
def _signals(ctx: ClipContext) -> AVSignals:
    from ..errors import InputError

    if ctx.audio_path is None and not ctx.info.has_audio:
        raise _undefined("the clip has no audio track")
    try:
        wav, sr = ctx.get("audio16k")
    except InputError as e:
        raise _undefined(f"no usable audio ({e})") from e
    track = ctx.get("face_mesh")
    n = track.n_frames
    if n == 0 or track.n_present < MIN_FACE_FRACTION * n:
        raise _undefined(f"face found in {track.n_present} of {n} frames (need ≥ {MIN_FACE_FRACTION:.0%})")
    fps = float(ctx.fps)
    times = np.asarray(track.times, dtype=np.float64)
    grid = F.uniform_grid(times, fps)
    opening = F.outer_lip_opening(track.pixels())
    mouth_range = F.robust_range(opening)
    if mouth_range < MIN_MOUTH_RANGE:
        raise _undefined(
            f"the mouth does not move (5–95 % range of the lip opening {mouth_range:.4f} < {MIN_MOUTH_RANGE} "
            "eye-distance units: frozen video or frozen mouth region)")
    mouth = F.on_grid(times, opening, grid)
    if ctx.audio_path:  # a separate audio file starts with the video
        audio_start = float(times[0])
    else:
        _, a0 = _stream_starts(ctx.video_path)
        audio_start = a0 if a0 is not None else 0.0
    t_lo, t_hi = float(grid[0]), float(grid[-1]) + 1.0 / fps
    speech = 0.0
    for s, e in ctx.get("vad"):
        s, e = s + audio_start, e + audio_start
        speech += max(0.0, min(e, t_hi) - max(s, t_lo))
    if speech < MIN_SPEECH_S:
        raise _undefined(f"{speech:.2f} s of speech inside the video (need ≥ {MIN_SPEECH_S:g} s)")
    bands = F.log_mel_at(wav, sr, grid, fps, audio_start=audio_start)
    return AVSignals(grid=grid, fps=fps, mouth=mouth, bands=bands, audio_start=audio_start, n_frames=n,
                     n_face_frames=track.n_present, speech_s=speech, mouth_range=mouth_range)


def _estimate(ctx: ClipContext, max_shift: int) -> tuple[F.OffsetEstimate, AVSignals]:
    sig: AVSignals = ctx.get("av_offset.signals")
    n = len(sig.grid)
    if n < 2 * max_shift + 1:
        raise _undefined(f"{n} frames is too short for a ±{max_shift}-frame search (need ≥ {2 * max_shift + 1})")
    est = F.estimate_offset(sig.mouth, sig.bands, sig.fps, max_shift)
    if est is None:
        raise _undefined("no lag could be scored (constant mouth or audio signal over the clip)")
    return est, sig


def _details(est: F.OffsetEstimate, sig: AVSignals) -> dict[str, Any]:
    d: dict[str, Any] = {
        "offset_frames": est.offset,
        "offset_s": round(est.offset_s, 6),
        "offset_refined_frames": round(est.offset_refined, 4),
        "offset_refined_s": round(est.offset_refined_s, 6),
        "confidence": round(est.confidence, 6),
        "z": None if not np.isfinite(est.z) else round(est.z, 4),
        "peak_r": round(est.peak, 6),
        "median_r": round(est.median, 6),
        "window_frames": [-est.max_shift, est.max_shift],
        "window_s": round(est.max_shift / est.fps, 4),
        "fps": est.fps,
        "at_window_edge": est.at_edge,
        "sign": F.SIGN_CONVENTION,
        "n_frames": sig.n_frames,
        "n_face_frames": sig.n_face_frames,
        "speech_s": round(sig.speech_s, 3),
        "mouth_range": round(sig.mouth_range, 5),
        "audio_start_s": round(sig.audio_start, 6),
        "curve": [None if not np.isfinite(x) else round(float(x), 4) for x in est.curve],
    }
    if est.at_edge:
        d["note"] = (f"the correlation peak is at the window edge (±{est.max_shift} frames): the true offset may "
                     "lie outside the window; use sync.av_offset_wide or a larger av_offset_max_shift")
    return d


class _AVSync(Metric):
    family = "sync"
    version = "3"  # v2: the default face_mesh track holds still frames; v3: luma rule + key-frame refresh (issue 12)
    protocol = "sync"
    variant = "paper"
    requires = ("av_offset.signals", "face_mesh", "audio16k", "vad")
    reads_options = ("av_offset_max_shift", "vad_model", "face_mesh_still_threshold")

    def _max_shift(self, ctx: ClipContext) -> int:
        w = family_options(ctx.options, SyncOptions).max_shift  # ConfigError unless a whole number
        if w < 1:
            raise ValueError(f"av_offset_max_shift must be ≥ 1, got {w}")
        return w


@register
class AVOffset(_AVSync):
    name = "sync.av_offset"
    family = "sync"
    quantity = "av_offset"
    estimator = "face-mesh"
    display = "AV offset (frames)"
    higher_is_better = None  # 0 is best; the sign says which stream is late
    units = "frames"
    description = ("Audio–video offset in frames from mouth opening vs the speech spectrum (no weights), "
                   "±15 frames; positive = audio lags video. Details: seconds, confidence, window.")

    def compute(self, ctx):
        est, sig = _estimate(ctx, self._max_shift(ctx))
        return MetricValue(float(est.offset), _details(est, sig))


@register
class AVConfidence(_AVSync):
    name = "sync.av_confidence"
    family = "sync"
    quantity = "av_confidence"
    estimator = "face-mesh"
    display = "AV sync confidence"
    higher_is_better = True
    units = ""
    description = ("Confidence of sync.av_offset: peak − median of the mouth/audio correlation over the "
                   "window (correlation units, 0…2; LSE-C-like). Low for unrelated (e.g. swapped) audio.")

    def compute(self, ctx):
        est, sig = _estimate(ctx, self._max_shift(ctx))
        return MetricValue(float(est.confidence), _details(est, sig))


@register
class AVOffsetWide(_AVSync):
    name = "sync.av_offset_wide"
    family = "sync"
    quantity = "av_offset_wide"
    estimator = "face-mesh"
    display = "AV offset, ±30 frames"
    higher_is_better = None
    units = "frames"
    reads_options = ("vad_model", "face_mesh_still_threshold")
    description = "sync.av_offset searched over ±30 frames (±1 s at 25–30 fps); confidence in the details."

    def compute(self, ctx):
        est, sig = _estimate(ctx, F.WIDE_MAX_SHIFT)
        return MetricValue(float(est.offset), _details(est, sig))


register_suite("sync", ["sync.av_offset", "sync.av_confidence"],
               "Offline AV offset and sync confidence from mouth opening vs the speech spectrum (no weights)")
