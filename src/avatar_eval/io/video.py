"""PyAV decoding: probe, streamed RGB frames, audio resampled to mono at any rate.

Frames are yielded one at a time (``uint8`` H×W×3 RGB), so memory does not grow with clip length.

Pixel conventions (:data:`PIXELS`, docs/theval.md "Decode fidelity"). ``Frame.rgb`` is PyAV's
``to_ndarray(format="rgb24")``: swscale honours the frame's colour tags (BT.709 matrix on a
BT.709-tagged frame, its colour range). OpenCV 4.11's FFmpeg backend ignores the tags: it converts
with ``sws_scale`` to BGR24, ``SWS_BICUBIC``, swscale's default BT.601 matrix, full range only for
``yuvj*`` formats. The two agree bit for bit on untagged 8-bit 4:2:0 clips and differ on every
BT.709-tagged one (measured: 29–91 % of the values, up to 20 levels). ``Frame.pixels("opencv")``
re-converts the *same* decoded frame the OpenCV way (no second decode), which is what three THEval
``compat`` tracks feed Face Mesh; ``Frame.pixels("decord")`` (lip_sync.py's reader) is PyAV's own
conversion: decord 0.6.0 honours the tags too (measured bit-identical).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache
from pathlib import Path
from typing import Any

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


# -- pixel conventions --------------------------------------------------------------------------
#: How a decoded frame becomes RGB: ``"pyav"`` (default: the frame's colour tags honoured),
#: ``"opencv"`` (``cv2.VideoCapture.read()`` + BGR→RGB, OpenCV 4.11 / its bundled FFmpeg 5.1) and
#: ``"decord"`` (``decord.VideoReader`` 0.6.0, as THEval's lip_sync.py reads; see :func:`to_rgb`).
PIXELS = ("pyav", "opencv", "decord")

_SWS_CS_ITU601 = 5  # SWS_CS_DEFAULT: the matrix swscale uses when nobody sets one
_AVCOL_SPC_UNSPECIFIED = 2
_AVCOL_RANGE_UNSPECIFIED, _AVCOL_RANGE_MPEG, _AVCOL_RANGE_JPEG = 0, 1, 2
_SWS_BICUBIC = 4
#: (pix_fmt, colorspace, color_range) of frames on which every convention gives PyAV's own bytes
#: (measured on 8-bit 4:2:0 untagged H.264, MPEG-4 part 2, MPEG-1/2 and HEVC: docs/theval.md).
_AGREE_FORMATS = ("yuv420p",)


def _opencv_args(fr) -> dict:
    # CvCapture_FFMPEG::retrieveFrame: sws_getCachedContext(..., AV_PIX_FMT_BGR24, SWS_BICUBIC) and
    # no sws_setColorspaceDetails: BT.601 coefficients; swscale treats yuvj* input as full range.
    full = fr.format.name.startswith("yuvj")
    return {"format": "bgr24", "src_colorspace": _SWS_CS_ITU601, "dst_colorspace": _SWS_CS_ITU601,
            "src_color_range": _AVCOL_RANGE_JPEG if full else _AVCOL_RANGE_MPEG,
            "dst_color_range": _AVCOL_RANGE_JPEG, "interpolation": _SWS_BICUBIC}


def pixels_agree(pix_fmt: str, colorspace: int, color_range: int) -> bool:
    """Whether every convention of :data:`PIXELS` gives the bytes of ``to_ndarray("rgb24")`` for a
    frame with these properties (untagged 8-bit 4:2:0, limited or unspecified range)."""
    return (pix_fmt in _AGREE_FORMATS and int(colorspace) == _AVCOL_SPC_UNSPECIFIED
            and int(color_range) in (_AVCOL_RANGE_UNSPECIFIED, _AVCOL_RANGE_MPEG))


def to_rgb(fr, pixels: str = "pyav") -> np.ndarray:
    """Convert a decoded ``av.VideoFrame`` to ``uint8`` H×W×3 RGB under a pixel convention.

    * ``"pyav"``: ``to_ndarray(format="rgb24")`` (the frame's colour matrix and range).
    * ``"opencv"``: what ``cv2.VideoCapture.read()`` returns, channels reversed: swscale to BGR24
      with ``SWS_BICUBIC``, BT.601 matrix whatever the tags, full range only for ``yuvj*``.
      Bit-identical to OpenCV 4.11 on every 8-bit clip we checked (docs/theval.md); on 10-bit
      4:2:0 input (``yuv420p10le``) OpenCV's swscale 6.7 and PyAV's 9.5 differ (8.7 % of values,
      max 9), so :meth:`Frame.pixels` takes OpenCV's own frame there (:class:`OpenCVFrames`).
    * ``"decord"``: what ``decord.VideoReader(...).get_batch`` returns (RGB): decord 0.6.0's
      filter graph honours the colour tags as PyAV does, so these are PyAV's bytes (measured bit
      for bit, docs/theval.md), turned by the stream's display matrix as decord turns them
      (phone video; ``decord_rotate``). OpenCV 4.11's wheel does not turn them
      (``CAP_PROP_ORIENTATION_AUTO`` is 0 there), nor does PyAV.

    Interlaced frames: PyAV 18's swscale 9.5 converts their chroma field by field; OpenCV's and
    decord's older swscale convert them as progressive frames. "opencv" and "decord" convert a
    progressive copy (``_progressive``): bit for bit OpenCV's and decord's bytes on the held-out
    interlaced H.264 clip k09 (4 % of PyAV's values differ there, by up to 9 levels).
    """
    if pixels == "pyav":
        return fr.to_ndarray(format="rgb24")
    if pixels == "decord":
        return decord_rotate(_progressive(fr).to_ndarray(format="rgb24"), frame_rotation(fr))
    if pixels == "opencv":
        bgr = _progressive(fr).reformat(**_opencv_args(fr)).to_ndarray()
        return np.ascontiguousarray(bgr[:, :, ::-1])
    raise ValueError(f"unknown pixel convention {pixels!r}; one of {PIXELS}")


#: pixel formats on which :func:`to_rgb` ``"opencv"`` (PyAV's swscale with OpenCV's arguments) gives
#: ``cv2.VideoCapture``'s bytes: checked frame by frame on all 83 variant and held-out clips of
#: benchmarks/make_theval_variants.py (8-bit 4:2:0 tagged/untagged/full range/interlaced, 4:2:2,
#: 4:4:4). Not on 10-bit: ``yuv420p10le`` (H.264 / HEVC / VP9: up to 9 levels) and ``yuv422p10le``
#: from H.264 (held-out m14: up to 6 levels, lip dynamics -2.2 %; ProRes 4:2:2 10-bit happened to
#: agree): OpenCV's swscale 6.7 and PyAV's 9.5 take different high-bit-depth paths. Frames of any
#: other format take OpenCV's own bytes (:class:`OpenCVFrames`).
OPENCV_REFORMAT_EXACT = frozenset({"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p"})


class OpenCVFrames:
    """``cv2.VideoCapture.read()`` over one clip, frame by frame in decode order, alongside PyAV's
    decode: the ``"opencv"`` pixels of frames whose format PyAV's swscale does not convert as
    OpenCV's does (:data:`OPENCV_REFORMAT_EXACT`). Opened on first use, so clips that never need it
    decode once. A frame is taken only if OpenCV's frame at the same index has the same size;
    otherwise (or when OpenCV cannot open or read the clip) :meth:`rgb` returns None and the caller
    converts PyAV's frame (:func:`to_rgb`), which is then not bit-exact: logged once per clip."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = str(path)
        self._cap: Any = None
        self._pos = 0
        self._failed = False

    def _open(self) -> bool:
        import cv2

        self._cap = cv2.VideoCapture(self.path, cv2.CAP_FFMPEG)
        self._pos = 0
        if not self._cap.isOpened():
            self._fail("OpenCV cannot open the clip")
            return False
        return True

    def _fail(self, why: str) -> None:
        import logging

        if not self._failed:
            logging.getLogger(__name__).warning(
                "%s: %s; its 'opencv' pixels are PyAV's frames converted with OpenCV's swscale "
                "arguments, not bit-exact for this pixel format", Path(self.path).name, why)
        self._failed = True
        self._cap = None

    def rgb(self, index: int, shape: tuple[int, ...]) -> np.ndarray | None:
        """OpenCV's frame ``index`` as RGB, or None (see the class)."""
        if self._failed:
            return None
        if self._cap is None or index < self._pos:
            if not self._open():
                return None
        while self._pos < index:
            if not self._cap.grab():
                self._fail(f"OpenCV's decode ends before frame {index}")
                return None
            self._pos += 1
        ok, bgr = self._cap.read()
        self._pos += 1
        if not ok or bgr is None or bgr.shape != tuple(shape):
            self._fail(f"OpenCV's frame {index} is {'missing' if not ok or bgr is None else bgr.shape}, "
                       f"PyAV's {tuple(shape)}")
            return None
        return np.ascontiguousarray(bgr[:, :, ::-1])


def _progressive(fr):
    """``fr`` itself, or for an interlaced frame a copy of its planes in a frame without the
    interlaced flag (which swscale 9 honours and older versions ignore); colour tags kept."""
    import av

    if not getattr(fr, "interlaced_frame", False):
        return fr
    out = av.VideoFrame(fr.width, fr.height, fr.format.name)
    for sp, dp in zip(fr.planes, out.planes):
        src = np.frombuffer(sp, np.uint8).reshape(sp.height, sp.line_size)
        dst = np.frombuffer(dp, np.uint8).reshape(dp.height, dp.line_size)
        w = min(sp.line_size, dp.line_size)
        dst[:, :w] = src[:, :w]
    out.colorspace = fr.colorspace
    out.color_range = fr.color_range
    return out


def plain_frame(fr) -> bool:
    """Whether the decoded frame is neither turned by a display matrix nor interlaced: the frames on
    which decord's pixels are PyAV's."""
    return frame_rotation(fr) == 0 and not getattr(fr, "interlaced_frame", False)


def frame_rotation(fr) -> int:
    """The decoded frame's display-matrix rotation in degrees counter-clockwise, 0, 90, 180 or 270
    (0 when the frame carries none)."""
    try:
        r = int(round(float(getattr(fr, "rotation", 0) or 0)))
    except (TypeError, ValueError):
        return 0
    return r % 360


def decord_rotate(rgb: np.ndarray, rotation: int) -> np.ndarray:
    """``rgb`` turned as decord 0.6.0 turns a frame with this display-matrix rotation: a lossless
    quarter turn counter-clockwise per 90° (checked bit for bit against decord on 90° and 270° clips,
    tests/data/rotation and g01 of benchmarks/make_theval_variants.py; 180° follows the same
    convention, not checked)."""
    k = (rotation // 90) % 4
    return rgb if k == 0 else np.ascontiguousarray(np.rot90(rgb, k))


@lru_cache(maxsize=256)
def _stream_facts(path: str, mtime_ns: int) -> tuple[bool, int, bool]:
    """(header pixels agree, first frame's rotation, first frame interlaced), one open per clip."""
    with _open(path) as c:
        if not c.streams.video:
            return False, 0, False
        cc = c.streams.video[0].codec_context
        fmt = cc.format.name if cc.format is not None else ""
        agree = pixels_agree(fmt, cc.colorspace, cc.color_range)
        for fr in c.decode(c.streams.video[0]):
            return agree, frame_rotation(fr), bool(getattr(fr, "interlaced_frame", False))
    return agree, 0, False


def _facts(path: str | os.PathLike[str]) -> tuple[bool, int, bool] | None:
    p = Path(path)
    try:
        return _stream_facts(str(p), p.stat().st_mtime_ns)
    except Exception:  # noqa: BLE001 - nothing known: the frames as decoded
        return None


def clip_rotation(path: str | os.PathLike[str]) -> int:
    """The display-matrix rotation of the clip's first video frame (degrees, 0 when none)."""
    f = _facts(path)
    return 0 if f is None else f[1]


def clip_frames_plain(path: str | os.PathLike[str]) -> bool:
    """Whether the clip's first frame is neither turned nor interlaced (``plain_frame``)."""
    f = _facts(path)
    return f is None or (f[1] == 0 and not f[2])


def clip_pixels_agree(path: str | os.PathLike[str]) -> bool:
    """Whether the stream's declared format and colour tags are ones on which every pixel
    convention agrees, and its first frame is neither turned nor interlaced. Frames are still
    checked one by one by :meth:`Frame.pixels`; this lets identical analyzers be shared up front."""
    f = _facts(path)
    return f is not None and f[0] and f[1] == 0 and not f[2]


@dataclass
class Frame:
    index: int
    time: float  # presentation time in seconds (index / fps when the container has no pts)
    rgb: np.ndarray  # uint8, H×W×3, the "pyav" convention
    av_frame: Any = field(default=None, repr=False, compare=False)  # the decoded av.VideoFrame
    opencv: Any = field(default=None, repr=False, compare=False)  # the clip's OpenCVFrames (iter_frames)
    _px: dict = field(default_factory=dict, repr=False, compare=False)

    def pixels(self, convention: str = "pyav") -> np.ndarray:
        """This frame as RGB under a pixel convention of :data:`PIXELS`, converted from the same
        decoded frame (once per frame, shared by every analyzer that asks). Returns ``self.rgb``
        itself where the conventions agree on this frame."""
        if convention == "pyav" or convention == "decord" and (self.av_frame is None or plain_frame(self.av_frame)):
            return self.rgb  # decord == PyAV, bit for bit, unless the frame is turned or interlaced (to_rgb)
        x = self._px.get(convention)
        if x is None:
            fr = self.av_frame
            if fr is None:
                if convention not in PIXELS:
                    raise ValueError(f"unknown pixel convention {convention!r}; one of {PIXELS}")
                raise ValueError(f"frame {self.index} carries no decoded av.VideoFrame: only 'pyav' pixels")
            interlaced = bool(getattr(fr, "interlaced_frame", False))
            if convention == "decord" and not interlaced:
                x = decord_rotate(self.rgb, frame_rotation(fr))
            elif pixels_agree(fr.format.name, fr.colorspace, fr.color_range) and not interlaced and \
                    convention in PIXELS:
                x = self.rgb
            else:
                if convention == "opencv" and fr.format.name not in OPENCV_REFORMAT_EXACT and self.opencv is not None:
                    x = self.opencv.rgb(self.index, self.rgb.shape)  # OpenCV's own bytes (OpenCVFrames)
                if x is None:
                    x = to_rgb(fr, convention)
            self._px[convention] = x
        return x

    def agrees(self) -> bool:
        """Whether every pixel convention gives ``self.rgb`` on this frame."""
        fr = self.av_frame
        return fr is not None and pixels_agree(fr.format.name, fr.colorspace, fr.color_range) and plain_frame(fr)


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
        cv = OpenCVFrames(path)  # opens nothing unless a frame's "opencv" pixels need it
        try:
            for fr in c.decode(vs):
                t = float(fr.pts * fr.time_base) if fr.pts is not None and fr.time_base else i / fps
                yield Frame(i, t, fr.to_ndarray(format="rgb24"), fr, cv)
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


def iter_frames_ahead(path: str | os.PathLike[str], ahead: int = 4) -> Iterator[Frame]:
    """:func:`iter_frames` decoded in a second thread, at most ``ahead`` frames ahead of the
    consumer: the same frames, in the same order, with the same errors at the same place (an
    exception of the decoder is raised after the frames before it), while the consumer (Face Mesh,
    which releases the GIL while its graph runs) works on the previous frame. PyAV releases the
    GIL while it decodes and converts. ``ahead`` ≤ 0: plain :func:`iter_frames`. Memory: at most
    ``ahead`` + 2 decoded frames alive, whatever the clip's length."""
    if ahead <= 0:
        yield from iter_frames(path)
        return
    import queue
    import threading

    q: queue.Queue = queue.Queue(maxsize=ahead)
    stop = threading.Event()
    done = object()

    def put(item: Any) -> bool:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for fr in iter_frames(path):
                if not put(fr):
                    return
            put(done)
        except BaseException as e:  # noqa: BLE001 - handed to the consumer, raised there
            put(e)

    t = threading.Thread(target=work, name="decode-ahead", daemon=True)
    t.start()
    try:
        while True:
            item = q.get()
            if item is done:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        t.join()


def decode_audio(path: str | os.PathLike[str], sr: int | None = 16000, skip: int = 0) -> tuple[np.ndarray, int]:
    """Decode the first audio stream to float32 mono at ``sr`` (native rate when ``sr`` is None),
    after dropping ``skip`` samples (native rate) from the start (THEval compat: what another
    decoder discards, ``io.compat_readers.ffmpeg_cli_extra_skip``).

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
            # channels averaged chunk by chunk: the same float32 sums as averaging the whole
            # (channels, samples) array at the end, without holding every channel of the clip
            for fr in c.decode(st):
                for out in res.resample(fr):
                    chunks.append(out.to_ndarray().mean(axis=0))
            for out in res.resample(None):
                chunks.append(out.to_ndarray().mean(axis=0))
        except Exception as e:
            if not chunks:
                raise InputError(f"{Path(path).name}: audio does not decode ({e})") from e
    if not chunks:
        raise InputError(f"{Path(path).name}: the audio track is empty")
    x = np.concatenate(chunks).astype(np.float32, copy=False)
    del chunks
    if skip:
        x = x[skip:]
    rate = sr or native
    if native and rate != native:
        from math import gcd

        from scipy.signal import resample_poly

        g = gcd(int(rate), native)
        x64 = x.astype(np.float64)
        del x
        x = resample_poly(x64, int(rate) // g, native // g).astype(np.float32)
    return x, int(rate)
