"""Which decoded frame the official THEval readers actually return, as index maps.

The official scripts read frames three ways (see docs/theval.md): sequential ``cv2.VideoCapture``
reads (lip/eyebrow dynamics), ``cap.set(CAP_PROP_POS_FRAMES, i)`` seeks (silent_lip_stability.py)
and ``decord.VideoReader.get_batch`` (lip_sync.py). On indexed containers (MP4/MOV, Matroska)
all three return frame *i* for index *i*. On containers without an index (MPEG program streams
such as GRID's ``.mpg``) libavformat's timestamp seek lands on a later key frame, and the seek and
decord readers return other frames than asked for:

* decord starts its batch where its libavformat 58 seek to the smallest packet pts lands: the
  second GOP (frame *L₀*, e.g. 12 on GRID) when every packet has a pts, but frame 0 when one has
  none (its pts index then starts with AV_NOPTS_VALUE; see ``decord_leaves_pts_unset``); from
  *L₀* it repeats the last frame to fill its length;
* OpenCV's ``CAP_PROP_POS_FRAMES`` runs its own search (seek 16 frames early, widen on
  overshoot, then grab forward), which, replayed on where each seek lands, gives frame *L₀* for
  index 0, *L₀ + 1* for indices 1 … *L₀ + 1*, and exact frames after that.

The compat metrics do not decode a second time: they map indices to frames of the one decode pass
with these functions. Seek landings are measured with PyAV (the same libavformat seek the other
readers call). Checked against OpenCV 4.11 and decord 0.6.0 on the GRID clips, MPEG-1/2 program
streams with and without B-frames and MP4s (``tests/theval/test_compat_readers.py`` pins the maps
measured with those readers).
"""

from __future__ import annotations

import os
from functools import lru_cache

import av
import numpy as np

#: demuxers whose seeks are index-based and frame-accurate: every reader gets frame i.
INDEXED_FORMATS = ("mov", "mp4", "matroska", "webm")


def _indexed(fmt_name: str) -> bool:
    return any(part in INDEXED_FORMATS for part in fmt_name.split(","))


class SeekLandings:
    """Frame index at which a backward timestamp seek to frame ``i`` lands (memoised)."""

    def __init__(self, path: str | os.PathLike[str]):
        self.path = str(path)
        self._c = av.open(self.path)
        self._vs = self._c.streams.video[0]
        self.indexed = _indexed(self._c.format.name)
        self.fps = float(self._vs.average_rate or self._vs.base_rate)
        self._start = self._vs.start_time or 0
        self._tb = float(self._vs.time_base)
        self._memo: dict[int, int | None] = {}

    def __call__(self, i: int) -> int | None:
        if i in self._memo:
            return self._memo[i]
        ts = self._start + int(i / self.fps / self._tb + 0.5)
        got: int | None = None
        try:
            self._c.seek(ts, backward=True, any_frame=False, stream=self._vs)
            for f in self._c.decode(self._vs):
                pts = f.pts if f.pts is not None else f.dts
                if pts is not None:
                    got = int(round((pts - self._start) * self._tb * self.fps))
                break
        except (av.FFmpegError, StopIteration):
            got = None
        self._memo[i] = got
        return got

    def close(self) -> None:
        self._c.close()

    def gaps(self) -> list[int] | None:
        """The frame numbers (from pts, as OpenCV's ``dts_to_frame_number`` counts, absolute) of the
        stream's pictures in presentation order, where they skip numbers (a timestamp gap: dropped frames in
        AVI, a VFR source); None where they are 0, 1, 2, … or where some picture has no pts (MPEG
        program streams: nothing to go by). Read from the packets first (no decode; empty packets,
        an AVI's dropped-frame chunks, hold no picture); only where those skip numbers are the
        decoded pictures' own timestamps read, since packed B-frames in AVI (v19) number their
        packets out of step with the pictures."""
        def numbers(items, ts) -> list[int] | None:
            out: list[int] = []
            for x in items:
                t = ts(x)
                if t is None:
                    return None
                out.append(int(round((t - self._start) * self._tb * self.fps)))
            out.sort()
            return out

        def contiguous(nums: list[int]) -> bool:  # counted from the first picture (first_frame_number)
            return nums == list(range(nums[0], nums[0] + len(nums))) if nums else True

        with av.open(self.path) as c:
            nums = numbers((pk for pk in c.demux(c.streams.video[0]) if pk.size), lambda pk: pk.pts)
        if nums is None or contiguous(nums):
            return None
        with av.open(self.path) as c:
            vs = c.streams.video[0]
            vs.thread_type = "AUTO"
            nums = numbers(c.decode(vs), lambda f: f.pts if f.pts is not None else f.dts)
        return None if nums is None or contiguous(nums) else nums


@lru_cache(maxsize=64)
def _stream_start_landing(path: str) -> int:
    sl = SeekLandings(path)
    try:
        return 0 if sl.indexed else (sl(0) or 0)
    finally:
        sl.close()


#: picture_coding_type of an MPEG-1/2 picture header (ISO/IEC 11172-2 / 13818-2)
_PICTURE_TYPES = {1: "I", 2: "P", 3: "B"}
_MPEG_VIDEO = ("mpeg1video", "mpeg2video")


def _picture_type(data: bytes) -> str:
    j = data.find(b"\x00\x00\x01\x00")  # picture_start_code (after any sequence/GOP header)
    if j < 0 or j + 5 >= len(data):
        return "?"
    return _PICTURE_TYPES.get((data[j + 5] >> 3) & 7, "?")


@lru_cache(maxsize=64)
def decord_leaves_pts_unset(path: str) -> bool:
    """Whether decord 0.6.0's libavformat (58.20, FFmpeg 4.1) returns some video packet of this
    MPEG-1/2 program stream without a pts.

    decord indexes the file by reading every packet, sorts the packets by pts and seeks to the
    first one (``IndexKeyframes`` → ``SeekStart``: ``av_seek_frame(frame_ts[0].pts, BACKWARD)``).
    An unset pts (``AV_NOPTS_VALUE`` = INT64_MIN) sorts first, so that seek targets INT64_MIN and
    the batch starts at frame 0; with every pts set it targets the first frame's pts and lands
    where our PyAV seek to the stream start lands (the second GOP on GRID).

    Which packets lack a pts: a PES header's PTS belongs to the first picture *starting* in that
    PES, so a picture that starts in the same PES as an earlier one has no PTS of its own (small
    pictures do: GRID, the MPEG-PS variants). libavformat fills those in, but lavf 58 can fill the
    pts of a reference picture (I/P: displayed later than decoded) only from the next packet's
    timestamps, and only when that packet has its own PTS different from its DTS, i.e. is an I/P
    picture with a PES timestamp; followed by a B picture (PTS = DTS) or by another picture without
    a PTS, the pts stays unset. Newer libavformat (PyAV's) fills every one, so we read the raw PES
    timestamps (``fflags=+nofillin``) and the picture types from the packets' picture headers.
    Measured with decord 0.6.0 on 21 streams (the 8 GRID files and the MPEG-1 variant: IPPP GOPs,
    0 unset; v20, MPEG-2 IBBP: 1; 11 PyAV-made MPEG-1/2 streams with and without B-frames: 0 to
    32): the predicted number of unset pts equals the number of ``AV_NOPTS_VALUE`` entries in
    ``VideoReader.get_frame_timestamp`` on every one, decord started at frame 0 exactly on those
    with at least one, and ``decord_index_map`` equals decord's whole ``get_batch(range(n))``."""
    return bool(lavf58_unset_pts(path))


def lavf58_unset_pts(path: str) -> list[int]:
    """Video packets (in file order) that libavformat 58 returns without a pts, predicted from the
    raw PES timestamps and picture types (see ``decord_leaves_pts_unset``); [] for other codecs."""
    with av.open(path, options={"fflags": "+nofillin"}) as c:
        vs = c.streams.video[0]
        if vs.codec_context.name not in _MPEG_VIDEO:
            return []
        pk = [(_picture_type(bytes(p)), p.pts) for p in c.demux(vs) if p.size]
    out = []
    for i, (ptype, pts) in enumerate(pk):
        if pts is not None or ptype == "B":
            continue  # has its PES PTS, or is a B picture (pts = dts, which lavf 58 does fill)
        nxt = pk[i + 1] if i + 1 < len(pk) else None
        if nxt is None or nxt[1] is None or nxt[0] == "B":
            out.append(i)
    return out


def ffmpeg_cli_extra_skip(path: str | os.PathLike[str]) -> int:
    """Samples (native rate) at the start of the first audio track that the ``ffmpeg`` command line
    of FFmpeg <= 7 discards but PyAV's FFmpeg 8 libraries keep: what pydub (silent_lip_stability.py)
    and moviepy (lip_sync.py) read differs from ``io.video.decode_audio`` by exactly that prefix.

    Only Opus in Matroska/WebM differs (measured: Debian ffmpeg 5.1.9 and imageio-ffmpeg's 7.0.2
    static build against PyAV 18.1's libavformat 62, on libopus tracks in .webm and .mkv; Opus in
    Ogg and MP4, AAC, MP3 and Vorbis decode to the same samples both ways). The command line drops
    the whole Opus pre-skip (OpusHead bytes 10-11, 312 samples from libopus) from the first frame;
    PyAV drops only part of it (104 of 312: its first 20 ms frame has 856 samples, not 648). The
    difference is the pre-skip minus what PyAV already dropped (one nominal frame, the second
    frame's length, minus the first's). 0 when nothing differs."""
    import struct

    with av.open(str(path)) as c:
        if not c.streams.audio or "matroska" not in c.format.name.split(","):
            return 0
        st = c.streams.audio[0]
        ed = st.codec_context.extradata
        if st.codec_context.name != "opus" or not ed or len(ed) < 12 or ed[:8] != b"OpusHead":
            return 0
        pre_skip = struct.unpack("<H", ed[10:12])[0]
        sizes = []
        for fr in c.decode(st):
            sizes.append(fr.samples)
            if len(sizes) == 2:
                break
    if len(sizes) < 2:
        return 0
    return max(0, pre_skip - (sizes[1] - sizes[0]))


def ffmpeg_cli_pcm(path: str | os.PathLike[str], rate: int = 44100, channels: int = 2,
                   skip: int = 0) -> "np.ndarray":
    """The int16 samples, ``(n, channels)``, that ``ffmpeg -i PATH -vn -f s16le -acodec pcm_s16le
    -ar RATE -ac CHANNELS -`` writes for the first audio track: moviepy 1.0.3's
    ``FFMPEG_AudioReader`` command (THEval lip_sync.py, ``nchannels=2`` whatever the track has),
    after dropping ``skip`` samples (native rate) that the command line discards and PyAV keeps
    (:func:`ffmpeg_cli_extra_skip`).

    Made with PyAV's ``AudioResampler``, i.e. libswresample with its defaults, as the command
    line's auto-inserted ``aresample`` is: bit-identical to imageio-ffmpeg 0.6.0's ffmpeg 7.0.2
    (the binary moviepy calls) on AAC at 22.05, 44.1, 48 and 96 kHz in mono, stereo and 5.1; on one
    8 kHz AAC clip 2 of 445 940 samples differ by one level (measured 2026-12-01, docs/theval.md)."""
    out: list[np.ndarray] = []
    res = av.AudioResampler(format="s16", layout={1: "mono", 2: "stereo"}[channels], rate=rate)
    left = int(skip)
    with av.open(str(path)) as c:
        if not c.streams.audio:
            return np.zeros((0, channels), np.int16)
        for fr in c.decode(c.streams.audio[0]):
            if left:
                if fr.samples <= left:
                    left -= fr.samples
                    continue
                a = fr.to_ndarray()
                a = a[:, left:] if fr.format.is_planar else a[:, left * len(fr.layout.channels):]
                cut = av.AudioFrame.from_ndarray(np.ascontiguousarray(a), format=fr.format.name,
                                                 layout=fr.layout.name)
                cut.sample_rate, left, fr = fr.sample_rate, 0, cut
            for o in res.resample(fr):
                out.append(o.to_ndarray().reshape(-1, channels))
        for o in res.resample(None):
            out.append(o.to_ndarray().reshape(-1, channels))
    return np.concatenate(out) if out else np.zeros((0, channels), np.int16)


def _is_avi(path: str) -> bool:
    with av.open(path) as c:
        return "avi" in c.format.name.split(",")


def decord_index_map(path: str | os.PathLike[str], n_frames: int) -> list[int] | None:
    """Frames that ``decord.VideoReader(path).get_batch(range(n_frames))`` returns, as indices of
    the sequential decode (``None``: the identity, as on indexed containers, on AVI and on MPEG
    program streams where decord's libavformat leaves a pts unset, see ``decord_leaves_pts_unset``).

    AVI: decord's seek to its first packet goes through the AVI index (idx1) and lands on frame 0,
    where our timestamp seek can land later: on MPEG-4 part 2 with packed B-frames the first frame
    decoded after it carries pts 2. Measured with decord 0.6.0 on THEval's v19 variant (MPEG-4 part 2,
    B-frames, AVI): ``get_batch(range(200))`` is PyAV's 200 decoded frames in order, and the old
    shift by 2 (198 frames) put compat lip-sync 9.1 % off the official value (now 0.03 %)."""
    if _is_avi(str(path)):
        return None
    n_ts = _mpegts_packet_count(str(path))
    if n_ts is not None:
        n_frames = n_ts
    start = _stream_start_landing(str(path))
    if start <= 0 or decord_leaves_pts_unset(str(path)):
        return None if n_ts is None else list(range(n_frames))
    last = n_frames - 1
    return [min(i + start, last) for i in range(n_frames)]


def _mpegts_packet_count(path: str) -> int | None:
    """decord's frame count on an MPEG transport stream: its video packets (decord indexes the
    packets); OpenCV's CAP_PROP_FRAME_COUNT, which ``probe`` reports, estimates one more from the
    duration there. Measured on the held-out TS clip g02 (benchmarks/make_theval_variants.py):
    ``len(VideoReader)`` 125 = packets, OpenCV 126; decord returns frames 50..124 then repeats 124.
    None for other containers (their counts agree)."""
    with av.open(path) as c:
        if "mpegts" not in c.format.name.split(",") or not c.streams.video:
            return None
        return sum(1 for pk in c.demux(c.streams.video[0]) if pk.size > 0)


def opencv_seek_map(path: str | os.PathLike[str], targets: list[int], n_decoded: int) -> list[int | None] | None:
    """Frame that ``cap.set(CAP_PROP_POS_FRAMES, t); cap.read()`` returns for each target
    (``None`` where the read fails), replaying OpenCV's seek search on measured landings.
    Returns ``None`` (the identity) on indexed containers whose picture timestamps do not skip;
    where they skip (dropped frames, VFR) the seeks land by OpenCV's pts-based frame numbers, on
    MP4 and Matroska too, and may step back (held-out p19: 63, …, 67, 64, 65, …)."""
    sl = SeekLandings(path)
    try:
        nums = sl.gaps()
        if sl.indexed and nums is None:
            return None
        if nums is not None:  # OpenCV counts from its first picture's number (first_frame_number)
            first = nums[0]
            nums = [n - first for n in nums]

            def landing(i: int) -> int | None:
                x = sl(i)
                return None if x is None else x - first
        else:
            landing = sl
        out: list[int | None] = []
        for t in targets:
            got = _opencv_seek(landing, int(t), n_decoded)
            if got is None:
                out.append(None)
            else:
                out.append(sum(got) if nums is None else _sequential(got, nums))
        return out
    finally:
        sl.close()


def _sequential(landed: tuple[int, int], nums: list[int]) -> int | None:
    """The sequential index of the frame OpenCV returns, given (frame number of the picture its seek
    landed on, frames grabbed after it): OpenCV numbers the first picture after a seek from its pts
    and counts one per grab from there, so past a timestamp gap its frame numbers run ahead of the
    pictures (held-out n04, MPEG-4 in AVI whose pts go 0, 4, 5, …: a seek to frame 34 returns the
    picture with pts 34, the 32nd)."""
    import bisect

    num, ahead = landed
    i = bisect.bisect_left(nums, num) + ahead
    return i if i < len(nums) else None


def _opencv_seek(landing, target: int, n_decoded: int) -> tuple[int, int] | None:
    """(frame number of the picture the seek lands on, frames read after it) for
    ``cap.set(CAP_PROP_POS_FRAMES, target); cap.read()``; None where the read fails. Without
    timestamp gaps frame numbers are sequential indices and the frame returned is their sum."""
    # CvCapture_FFMPEG::seek (OpenCV 4.x, cap_ffmpeg_impl.hpp) followed by one read. OpenCV counts
    # frame numbers from its first picture's (first_frame_number); ``landing`` gives them counted so
    # where timestamps skip (opencv_seek_map), absolute elsewhere (as before: on the agreement clips,
    # v19 with pts from 2 among them, that lands where OpenCV does).
    delta = 16
    target = min(target, n_decoded)
    while True:
        temp = max(target - delta, 0)
        pos = landing(temp)  # frame number of the picture the next grab returns
        if pos is None:
            return None
        if target == 0:
            nxt = pos
            break
        grabbed = pos  # grabFrame()
        if target == 1:
            nxt = grabbed + 1
            break
        if grabbed > target - 1:
            if temp == 0 or delta >= (2**31 - 1) // 4:
                nxt = grabbed + 1
                break
            delta = delta * 2 if delta < 16 else delta * 3 // 2
            continue
        nxt = target  # grabbed forward to target − 1; the read returns the next frame
        break
    return (pos, nxt - pos) if nxt < n_decoded else None


# -- moviepy 1.0.3 audio export (THEval lip_sync.py: VideoFileClip(...).audio.write_audiofile) ----
class MoviepyExportError(ValueError):
    """The public code's moviepy export fails on this input."""


MOVIEPY_BUFFER = 200_000  # AudioFileClip's default buffersize (samples)
MOVIEPY_CHUNK = 2_000  # write_audiofile's default buffersize


def ffmpeg_listed_duration(path: str | os.PathLike[str]) -> float:
    """The container duration as ``ffmpeg -i`` prints it (hundredths of a second, rounded), which
    moviepy parses and uses as the clip duration."""
    with av.open(str(path)) as c:
        us = int(c.duration or 0)
    return ((us + 5_000) // 10_000) / 100.0


def moviepy_audio_export(stream: "np.ndarray", fps: int, duration: float) -> "np.ndarray":
    """What ``librosa.load`` reads back from moviepy 1.0.3's ``write_audiofile`` of a clip whose
    decoded audio (ffmpeg, resampled to ``fps``, mono here) is ``stream``.

    Replays moviepy's reader: a 200 000-sample buffer recentred around the requested samples, whose
    refill keeps one sample too many (each refill delays the rest by one sample), the index shift
    it applies once the buffer runs short near the end, the last sample repeated past the data,
    the ±0.99 clip and int16 truncation of the export, and the clip duration from ffmpeg's
    listing (which can be longer than the audio stream)."""

    # the s16 pipe's levels, kept as float32 (whole numbers, exact) and made float64 / 32768 as they
    # are read: the same floats as one float64 copy of the clip, in half its memory
    if stream.dtype == np.int16:  # the pipe's samples themselves (ffmpeg_cli_pcm), one column per channel
        levels = stream.astype(np.float32)
    else:
        levels = np.clip(stream, -1.0, 32767 / 32768)
        levels *= 32768
        np.round(levels, out=levels)
    half = MOVIEPY_BUFFER // 2
    pos = 0  # pipe position (samples); moviepy advances it by the requested size even at EOF

    def read(k: int) -> "np.ndarray":
        nonlocal pos
        out = levels[pos: pos + k].astype(np.float64) / 32768
        pos += k
        return out

    def seek(p: int) -> None:
        nonlocal pos
        pos = p  # a restart or a skip: either way the pipe continues at p

    buf = read(MOVIEPY_BUFFER)  # __init__: buffer_around(1)
    start = 0

    def around(f: int) -> None:
        nonlocal buf, start
        new = max(0, f - half)
        cur_end = start + MOVIEPY_BUFFER
        if new < cur_end < new + MOVIEPY_BUFFER:
            conserved = cur_end - new + 1
            buf = np.concatenate([buf[-conserved:], read(MOVIEPY_BUFFER - conserved)])
        else:
            seek(new)
            buf = read(MOVIEPY_BUFFER)
        start = new

    total = int(fps * duration)
    nchunks = total // MOVIEPY_CHUNK + 1
    edges = np.linspace(0, total, nchunks + 1, endpoint=True, dtype=int)
    # the export's int16 samples, written chunk by chunk (the ±0.99 clip and the truncation are per
    # sample: the same values as on a float64 copy of the whole clip)
    q = np.zeros((total,) + levels.shape[1:], dtype=np.int16)
    for a, b in zip(edges[:-1], edges[1:]):
        if b <= a:
            continue
        tt = np.arange(a, b) / fps
        frames = np.round(fps * tt).astype(int)[tt < duration]
        if frames.size == 0:
            continue
        lo, hi = frames.min(), frames.max()
        if not (0 <= lo - start < len(buf)):
            around(lo)
        elif not (0 <= hi - start < len(buf)):
            around(hi)
        idx = frames - start
        if len(buf) < half:
            idx = idx - (half - len(buf) + 1)
        if (idx < -len(buf)).any():
            raise MoviepyExportError(
                f"moviepy 1.0.3 cannot export this audio ({len(stream) / fps:.2f} s): its reader indexes "
                "before the start of a buffer shorter than half its size and raises IndexError (the "
                "public lip_sync.py then writes NaN)")
        if (idx >= len(buf)).any():  # IndexError: "repeat the last frame instead"
            idx = np.where(idx >= len(buf), len(buf) - 1, idx)
        vals = buf[idx]  # negative indices wrap, as numpy does there (audio under 2.27 s: rotated)
        q[a: a + len(vals)] = (32768 * np.clip(vals, -0.99, 0.99)).astype(np.int16)
    out = q.astype(np.float32)
    del q
    out /= 32768
    # librosa.load(mono=True): np.mean over the channels, in float32 (exact here: sums of s16 / 32768)
    return out if out.ndim == 1 else out.mean(axis=1, dtype=np.float32)
