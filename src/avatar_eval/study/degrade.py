"""Heavily degraded copies of GT clips for gold (attention-check) trials.

Each frame is down-scaled by ``downscale``, Gaussian-blurred, scaled back up and encoded with
H.264 at a very low bit rate (``bitrate``), so an attentive participant always prefers the GT.
The audio track (if any) is re-encoded to AAC unchanged in content, so lip-sync questions still
have sound. Output is H.264 / yuv420p MP4 with even dimensions, which every browser plays.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np


def degrade_video(src: str | os.PathLike[str], dst: str | os.PathLike[str], *,
                  blur_sigma: float = 6.0, downscale: int = 8, bitrate: int = 40_000,
                  keep_audio: bool = True) -> Path:
    import av
    import cv2

    src, dst = Path(src), Path(dst)
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_name(f".{dst.name}.tmp.mp4")
    with av.open(str(src)) as inp:
        vin = inp.streams.video[0]
        ain = inp.streams.audio[0] if (keep_audio and inp.streams.audio) else None
        rate = vin.average_rate or vin.guessed_rate or Fraction(25, 1)
        w, h = vin.codec_context.width, vin.codec_context.height
        w2, h2 = max(2, w - w % 2), max(2, h - h % 2)
        with av.open(str(tmp), "w", format="mp4") as out:
            vout = out.add_stream("libx264", rate=rate)
            vout.width, vout.height, vout.pix_fmt = w2, h2, "yuv420p"
            vout.bit_rate = int(bitrate)
            vout.options = {"preset": "veryfast", "crf": "45"}
            aout = None
            if ain is not None:
                aout = out.add_stream("aac", rate=ain.codec_context.sample_rate or 44100)
                resampler = av.AudioResampler(format="fltp", layout="mono",
                                              rate=aout.codec_context.sample_rate)
            streams = [vin] + ([ain] if ain is not None else [])
            k = int(max(3, round(blur_sigma * 3)) // 2 * 2 + 1)
            for packet in inp.demux(*streams):
                for frame in packet.decode():
                    if packet.stream.type == "video":
                        img = frame.to_ndarray(format="rgb24")[:h2, :w2]
                        small = cv2.resize(img, (max(1, w2 // downscale), max(1, h2 // downscale)),
                                           interpolation=cv2.INTER_AREA)
                        small = cv2.GaussianBlur(small, (k, k), blur_sigma / downscale + 0.5)
                        big = cv2.resize(small, (w2, h2), interpolation=cv2.INTER_LINEAR)
                        big = cv2.GaussianBlur(big, (k, k), blur_sigma)
                        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(big), format="rgb24")
                        for p in vout.encode(vf):
                            out.mux(p)
                    elif aout is not None:
                        frame.pts = None
                        for rf in resampler.resample(frame):
                            for p in aout.encode(rf):
                                out.mux(p)
            for p in vout.encode():
                out.mux(p)
            if aout is not None:
                for rf in resampler.resample(None):
                    for p in aout.encode(rf):
                        out.mux(p)
                for p in aout.encode():
                    out.mux(p)
    os.replace(tmp, dst)
    return dst
