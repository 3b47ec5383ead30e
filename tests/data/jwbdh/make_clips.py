"""Regenerate the JWB-DH test clips from ../shared/data (run from the repository root).

Sources (licences in ../shared/data/README.md):
* halfbody_24f.mp4  — whole_body/halfbody_silent_audio.mp4 (KwaiVGI/LivePortrait, MIT):
  frames 0–23, resized to 240×454, both hands visible on every frame.
* halfbody_masked_24f.mp4 — the same frames with the lower 45 % blacked out on frames 8–15
  (hands hidden: the region tracks must report those frames missing).
* aragaki_gt_20f.mp4 / aragaki_gen_20f.mp4 — driven_pairs/aragaki_real_driving.mp4 and
  aragaki_generated_aniportrait.mp4 (Zejun-Yang/AniPortrait, Apache-2.0): frames 0–19 at 256×256.
* aragaki_gen_12p5fps.mp4 — the generated clip's frames 0, 2, …, 18 written at 12.5 fps (the same
  0.8 s at half the frame rate) to test the fps alignment rule.
All are H.264 (libx264, crf 12, yuv420p), no audio.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "src"))
from avatar_eval.io.video import iter_frames  # noqa: E402

SHARED = ROOT.parent / "shared" / "data"
OUT = Path(__file__).resolve().parent


def write(path: Path, frames: list[np.ndarray], fps: float) -> None:
    c = av.open(str(path), "w")
    s = c.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001))
    s.width, s.height = frames[0].shape[1], frames[0].shape[0]
    s.pix_fmt = "yuv420p"
    s.options = {"crf": "12"}
    for f in frames:
        for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()


def take(src: Path, n: int, size: tuple[int, int], step: int = 1) -> list[np.ndarray]:
    out = []
    for f in iter_frames(src):
        if f.index % step == 0:
            out.append(cv2.resize(f.rgb, size, interpolation=cv2.INTER_AREA))
        if len(out) >= n:
            break
    return out


def main() -> None:
    hb = take(SHARED / "whole_body" / "halfbody_silent_audio.mp4", 24, (240, 454))
    write(OUT / "halfbody_24f.mp4", hb, 30.0)
    masked = [f.copy() for f in hb]
    for i in range(8, 16):
        masked[i][int(0.55 * 454):] = 0
    write(OUT / "halfbody_masked_24f.mp4", masked, 30.0)
    gt = take(SHARED / "driven_pairs" / "aragaki_real_driving.mp4", 20, (256, 256))
    gen = take(SHARED / "driven_pairs" / "aragaki_generated_aniportrait.mp4", 20, (256, 256))
    write(OUT / "aragaki_gt_20f.mp4", gt, 25.0)
    write(OUT / "aragaki_gen_20f.mp4", gen, 25.0)
    gen_half = take(SHARED / "driven_pairs" / "aragaki_generated_aniportrait.mp4", 10, (256, 256), step=2)
    write(OUT / "aragaki_gen_12p5fps.mp4", gen_half, 12.5)


if __name__ == "__main__":
    main()
