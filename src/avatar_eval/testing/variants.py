"""Make clips whose expected metric behaviour is known by construction.

Used by the tests, the examples and the benchmarks. Video is re-encoded with H.264 (yuv420p,
CRF 18) and audio with AAC at the source rate; every function returns the output path.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..io.video import decode_audio, iter_frames, probe


def _write(dst: str | Path, frames: Iterable[np.ndarray], fps: float, audio: tuple[np.ndarray, int] | None, crf: int = 18) -> Path:
    import av

    dst = Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(str(dst), "w") as c:
        vs = None
        a_st = None
        if audio is not None:
            a_st = c.add_stream("aac", rate=int(audio[1]))
            a_st.layout = "mono"
        for img in frames:
            if vs is None:
                vs = c.add_stream("libx264", rate=rate)
                vs.width, vs.height = img.shape[1] // 2 * 2, img.shape[0] // 2 * 2
                vs.pix_fmt = "yuv420p"
                vs.options = {"crf": str(crf), "preset": "veryfast"}
            img = np.ascontiguousarray(img[: vs.height, : vs.width])
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                c.mux(p)
        if vs is not None:
            for p in vs.encode():
                c.mux(p)
        if a_st is not None and audio is not None:
            wav, sr = audio
            wav = np.clip(wav.astype(np.float32), -1, 1)
            step = 1024
            pts = 0
            for i in range(0, len(wav), step):
                chunk = wav[i : i + step]
                if len(chunk) < step:
                    chunk = np.pad(chunk, (0, step - len(chunk)))
                fr = av.AudioFrame.from_ndarray(chunk[None, :], format="flt", layout="mono")
                fr.sample_rate = sr
                fr.pts = pts
                pts += step
                for p in a_st.encode(fr):
                    c.mux(p)
            for p in a_st.encode():
                c.mux(p)
    return dst


def _frames(src: str | Path) -> Iterable[np.ndarray]:
    return (f.rgb for f in iter_frames(src))


def _audio(src: str | Path) -> tuple[np.ndarray, int]:
    return decode_audio(src, 16000)


def reencode(src, dst, transform: Callable[[np.ndarray], np.ndarray] | None = None, crf: int = 18) -> Path:
    """Decode and encode again (H.264 at ``crf``), each frame through ``transform`` if given."""
    fps = probe(src).fps
    fr = _frames(src) if transform is None else (transform(f) for f in _frames(src))
    return _write(dst, fr, fps, _audio(src) if probe(src).has_audio else None, crf=crf)


def shift_audio(src, dst, seconds: float) -> Path:
    """Delay the audio by ``seconds`` (negative: advance), keeping its length (zero-filled)."""
    wav, sr = _audio(src)
    k = int(round(abs(seconds) * sr))
    out = np.zeros_like(wav)
    if seconds >= 0:
        out[k:] = wav[: len(wav) - k]
    else:
        out[: len(wav) - k] = wav[k:]
    return _write(dst, _frames(src), probe(src).fps, (out, sr))


def swap_audio(src, audio_src, dst) -> Path:
    """The video of ``src`` with the audio of ``audio_src`` (cut or zero-padded to length)."""
    wav, sr = _audio(src)
    other, _ = _audio(audio_src)
    out = np.zeros_like(wav)
    n = min(len(wav), len(other))
    out[:n] = other[:n]
    return _write(dst, _frames(src), probe(src).fps, (out, sr))


def freeze(src, dst) -> Path:
    """Every frame replaced by the first one; audio kept."""
    info = probe(src)
    first = next(iter(_frames(src)))
    n = sum(1 for _ in iter_frames(src))
    return _write(dst, (first for _ in range(n)), info.fps, _audio(src) if info.has_audio else None)


def mute(src, dst) -> Path:
    """Audio track kept but silent (digital zero)."""
    wav, sr = _audio(src)
    return _write(dst, _frames(src), probe(src).fps, (np.zeros_like(wav), sr))


def strip_audio(src, dst) -> Path:
    """No audio track at all."""
    return _write(dst, _frames(src), probe(src).fps, None)


def blur(src, dst, sigma: float = 4.0) -> Path:
    import cv2

    return reencode(src, dst, lambda f: cv2.GaussianBlur(f, (0, 0), sigma))


def black(src, dst) -> Path:
    """Frames replaced by black (no face anywhere); audio kept."""
    return reencode(src, dst, lambda f: np.zeros_like(f))


def first_frames(src, dst, n: int) -> Path:
    """Only the first ``n`` frames (audio cut to match)."""
    info = probe(src)
    frames = []
    for f in iter_frames(src):
        if f.index >= n:
            break
        frames.append(f.rgb)
    audio = None
    if info.has_audio:
        wav, sr = _audio(src)
        audio = (wav[: int(round(n / info.fps * sr))], sr)
    return _write(dst, frames, info.fps, audio)


def truncate_bytes(src, dst, fraction: float = 0.5) -> Path:
    """A damaged copy: only the first ``fraction`` of the file's bytes."""
    data = Path(src).read_bytes()
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    Path(dst).write_bytes(data[: int(len(data) * fraction)])
    return Path(dst)
