"""PyAV decoding: probe, streamed RGB frames, audio resampled to mono at any rate.

Frames are yielded one at a time (``uint8`` H×W×3 RGB), so memory does not grow with clip length.
PyAV's ``to_ndarray(format="rgb24")`` is bit-identical to OpenCV's ``read()`` + BGR→RGB on the
clips we checked (see docs/theval.md), which is what lets the THEval ``compat`` variants see the
same pixels the official scripts saw.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import InputError


@dataclass(frozen=True)
class VideoInfo:
    path: str
    width: int
    height: int
    fps: float  # average frame rate (what decord reports; OpenCV reports the same on CFR files)
    n_frames: int  # container's frame count, or duration × fps when the container has none
    duration: float
    codec: str
    has_audio: bool
    audio_rate: int | None
    audio_channels: int | None
    size_bytes: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.height, self.width)


def _open(path: str | os.PathLike[str]):
    import av

    p = Path(path)
    if not p.exists():
        raise InputError(f"file not found: {p}")
    if p.stat().st_size == 0:
        raise InputError(f"empty file: {p}")
    try:
        return av.open(str(p))
    except Exception as e:  # av.error.InvalidDataError and friends
        raise InputError(f"cannot open {p.name}: not a readable media file ({e})") from e


def _rate(stream) -> float | None:
    for r in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if r:
            f = float(Fraction(r))
            if f > 0 and math.isfinite(f):
                return f
    return None


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    with _open(path) as c:
        if not c.streams.video:
            raise InputError(f"{Path(path).name}: no video stream")
        vs = c.streams.video[0]
        fps = _rate(vs)
        if fps is None:
            raise InputError(f"{Path(path).name}: frame rate unknown")
        duration = 0.0
        if vs.duration is not None and vs.time_base is not None:
            duration = float(vs.duration * vs.time_base)
        elif c.duration is not None:
            duration = c.duration / 1_000_000
        n = int(vs.frames or 0)
        if n <= 0:  # as OpenCV's CAP_PROP_FRAME_COUNT: container duration × fps, half rounded up
            d = c.duration / 1_000_000 if c.duration else duration
            n = int(math.floor(d * fps + 0.5))
        a = c.streams.audio[0] if c.streams.audio else None
        return VideoInfo(
            path=str(path),
            width=int(vs.codec_context.width),
            height=int(vs.codec_context.height),
            fps=fps,
            n_frames=n,
            duration=duration,
            codec=str(vs.codec_context.name),
            has_audio=a is not None,
            audio_rate=int(a.rate) if a is not None and a.rate else None,
            audio_channels=int(a.channels) if a is not None else None,
            size_bytes=Path(path).stat().st_size,
        )


@dataclass
class Frame:
    index: int
    time: float  # presentation time in seconds (index / fps when the container has no pts)
    rgb: np.ndarray  # uint8, H×W×3


def iter_frames(path: str | os.PathLike[str], threads: int = 0) -> Iterator[Frame]:
    """Stream decoded frames as RGB; raises :class:`InputError` if nothing decodes.

    A truncated file yields the frames before the damage and then stops with the error recorded
    by the caller (``InputError`` after at least one frame is raised only if no frame decoded).
    """
    c = _open(path)
    try:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        if threads:
            vs.thread_count = threads
        fps = _rate(vs) or 25.0
        i = 0
        try:
            for fr in c.decode(vs):
                t = float(fr.pts * fr.time_base) if fr.pts is not None and fr.time_base else i / fps
                yield Frame(i, t, fr.to_ndarray(format="rgb24"))
                i += 1
        except InputError:
            raise
        except Exception as e:
            if i == 0:
                raise InputError(f"{Path(path).name}: no frame could be decoded ({e})") from e
            # Truncated/corrupt tail: stop cleanly after the last good frame.
            return
        if i == 0:
            raise InputError(f"{Path(path).name}: the video stream holds no frame")
    finally:
        c.close()


def decode_audio(path: str | os.PathLike[str], sr: int | None = 16000) -> tuple[np.ndarray, int]:
    """Decode the first audio stream to float32 mono at ``sr`` (native rate when ``sr`` is None).

    Channels are averaged (as librosa, torchaudio and silero's ``read_audio`` do: FFmpeg's own
    down-mix uses other coefficients), then resampled with a polyphase filter.
    Raises :class:`InputError` when the file has no audio stream or it does not decode.
    """
    import av

    with _open(path) as c:
        if not c.streams.audio:
            raise InputError(f"{Path(path).name}: no audio track")
        st = c.streams.audio[0]
        native = int(st.rate or st.codec_context.sample_rate or 0)
        chunks: list[np.ndarray] = []
        try:
            res = av.AudioResampler(format="fltp", layout=st.layout.name if st.layout else None, rate=native or None)
            for fr in c.decode(st):
                for out in res.resample(fr):
                    chunks.append(out.to_ndarray())
            for out in res.resample(None):
                chunks.append(out.to_ndarray())
        except Exception as e:
            if not chunks:
                raise InputError(f"{Path(path).name}: audio does not decode ({e})") from e
    if not chunks:
        raise InputError(f"{Path(path).name}: the audio track is empty")
    x = np.concatenate(chunks, axis=1).mean(axis=0).astype(np.float32)
    rate = sr or native
    if native and rate != native:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(int(rate), native)
        x = resample_poly(x.astype(np.float64), int(rate) // g, native // g).astype(np.float32)
    return x, int(rate)
