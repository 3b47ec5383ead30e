"""Make the THEval decode-fidelity variant clips from ../shared/data with Debian's ffmpeg.

    python benchmarks/make_theval_variants.py [--shared ../shared] [--out /work/scratch/variants] [--list]

Each variant re-encodes (or stream-copies) a real clip of ../shared/data at another size, aspect,
codec, container, frame rate, GOP or colour tagging: the cases the 27 shared reference clips
(all ≤ 844 px, square or 4:3, untagged H.264/MPEG-4 or MPEG-1) never exercised. The official THEval
numbers on these clips are in benchmarks/data/theval_official_on_variants.csv; ``--list`` prints
the exact ffmpeg command of each clip (``kind`` there is the CSV's ``clip_kind``).

The clips are not committed (some sources are CC BY-NC; see ../shared/data/README.md). Measured
with ffmpeg 5.1.9 (Debian 12, libx264 164, libx265 3.5); another encoder build gives other bytes,
hence other values: regenerate and re-run the official scripts rather than trusting old numbers.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
from pathlib import Path

BT709 = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv"]
X264 = ["-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p"]
X265 = ["-c:v", "libx265", "-preset", "ultrafast", "-crf", "24", "-pix_fmt", "yuv420p", "-tag:v", "hvc1",
        "-x265-params", "log-level=error"]
AAC = ["-c:a", "aac", "-b:a", "128k"]
#: drop the colour tags a tagged source passes on to the encoder (ffmpeg copies them by default)
UNTAG = "setparams=colorspace=unknown:color_primaries=unknown:color_trc=unknown:range=unknown"


def pad(w: int, h: int) -> str:
    """Scale to fit w×h keeping the aspect, pad with black (a talking head in an HD frame)."""
    return f"scale={w}:{h}:force_original_aspect_ratio=decrease:flags=bicubic,pad={w}:{h}:(ow-iw)/2:(oh-ih)/2,setsar=1"


def crop_scale(w: int, h: int) -> str:
    """Crop to the w:h aspect around the centre, then scale (fills the frame)."""
    return (f"crop='min(iw,ih*{w}/{h})':'min(ih,iw*{h}/{w})',scale={w}:{h}:flags=bicubic,setsar=1")


# name, source (under ../shared), kind (CSV clip_kind), ffmpeg output options (after -i)
VARIANTS: list[tuple[str, str, str, list[str]]] = [
    ("v01_may_1280x720_h264_bt709_25.mp4", "data/talking_head/real3dportrait_May_5s.mp4",
     "1280x720 pad, H.264 High, bt709-tagged, 25 fps, GOP 250",
     ["-vf", pad(1280, 720), *X264, "-g", "250", *BT709, *AAC]),
    ("v02_may_1280x720_h264_untagged_25.mp4", "data/talking_head/real3dportrait_May_5s.mp4",
     "1280x720 pad, H.264 High, untagged, 25 fps, GOP 250",
     ["-vf", pad(1280, 720), *X264, "-g", "250", *AAC]),
    ("v03_obama_1280x704_h264_bt709_25.mp4", "data/talking_head/edtalk_uncrop_Obama.mp4",
     "1280x704 pad, H.264 High, bt709-tagged, 25 fps, GOP 250, 20 s",
     ["-vf", pad(1280, 704), *X264, "-g", "250", *BT709, *AAC]),
    ("v04_infinitetalk_896x448_h264_untagged_25.mp4", "data/talking_head/infinitetalk_ref_video.mp4",
     "896x448 pad, H.264 High, untagged, 25 fps, GOP 250, 15 s",
     ["-vf", pad(896, 448), *X264, "-g", "250", *AAC]),
    ("v05_float_2304x1152_h264_bt709_25.mp4", "data/same_audio_6_models/float.mp4",
     "2304x1152 pad, H.264 High, bt709-tagged, 25 fps, GOP 250, 8 s",
     ["-t", "8", "-vf", pad(2304, 1152), *X264, "-g", "250", *BT709, *AAC]),
    ("v06_aoc_1080x1920_hevc_bt709_25.mp4", "data/talking_head/sadtalker_WDA_AOC_000.mp4",
     "1080x1920 pad (portrait), HEVC Main, bt709-tagged, 25 fps, GOP 250",
     ["-vf", pad(1080, 1920), *X265, "-g", "250", *BT709, *AAC]),
    ("v07_aoc_720x1280_h264_bt709_25.mp4", "data/talking_head/sadtalker_WDA_AOC_000.mp4",
     "720x1280 pad (portrait), H.264 High, bt709-tagged, 25 fps, GOP 12",
     ["-vf", pad(720, 1280), *X264, "-g", "12", *BT709, *AAC]),
    ("v08_face2_1920x1080_h264_bt709_30.mp4", "data/talking_head/retalking_face_2.mp4",
     "1920x1080 pad, H.264 High, bt709-tagged, 25->30 fps, GOP 250",
     ["-vf", pad(1920, 1080) + ",fps=30", *X264, "-g", "250", *BT709, *AAC]),
    ("v09_aragaki_1280x720_h264_bt709_24.mp4", "data/driven_pairs/aragaki_real_driving.mp4",
     "1280x720 crop+upscale, H.264 High, bt709-tagged, 25->24 fps, GOP 250",
     ["-t", "10", "-vf", crop_scale(1280, 720) + ",fps=24", *X264, "-g", "250", *BT709, *AAC]),
    ("v10_aragaki_1280x720_h264_bt709_50.mp4", "data/driven_pairs/aragaki_generated_aniportrait.mp4",
     "1280x720 crop+upscale, H.264 High, bt709-tagged, 25->50 fps, GOP 12",
     ["-t", "6", "-vf", crop_scale(1280, 720) + ",fps=50", *X264, "-g", "12", *BT709, *AAC]),
    ("v11_creator_1280x720_h264_bt709_30.mp4", "data/whole_body/creator_gesturing_phone.mp4",
     "1280x720 downscale of a real 1080p30 bt709 clip, H.264 High, bt709-tagged, 30 fps, GOP 250, 8 s",
     ["-t", "8", "-vf", "scale=1280:720:flags=bicubic", *X264, "-g", "250", *BT709, *AAC]),
    ("v12_creator_1920x1080_h264_untagged_24.mp4", "data/whole_body/creator_gesturing_phone.mp4",
     "1920x1080 real clip re-encoded, H.264 High, tags removed (untagged), 30->24 fps, GOP 250, 6 s",
     ["-t", "6", "-vf", "fps=24," + UNTAG, *X264, "-g", "250", *AAC]),
    ("v13_creator_1920x1080_copy_bt709_30.mp4", "data/whole_body/creator_gesturing_phone.mp4",
     "1920x1080 real clip, original H.264 bitstream (stream copy, bt709-tagged), 30 fps, first 6 s",
     ["-t", "6", "-c", "copy"]),
    ("v14_seated_1080x1920_hevc_copy_bt709_25.mp4", "data/whole_body/seated_woman_speaking.mp4",
     "1080x1920 real clip, original HEVC bitstream (stream copy, bt709-tagged), 25 fps, first 6 s",
     ["-t", "6", "-c", "copy"]),
    ("v15_seated_720x1280_h264_bt709_25.mp4", "data/whole_body/seated_woman_speaking.mp4",
     "720x1280 downscale (portrait), H.264 High, bt709-tagged, 25 fps, GOP 25",
     ["-vf", "scale=720:1280:flags=bicubic", *X264, "-g", "25", *BT709, *AAC]),
    ("v16_seated_1080x1920_hevc10_bt709_25.mp4", "data/whole_body/seated_woman_speaking.mp4",
     "1080x1920 real clip, HEVC Main10 (yuv420p10le), bt709-tagged, 25 fps, GOP 250, 5 s",
     ["-t", "5", "-c:v", "libx265", "-preset", "ultrafast", "-crf", "24", "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1",
      "-x265-params", "log-level=error", "-g", "250", *BT709, *AAC]),
    ("v17_may_1280x720_h264_fullrange_25.mp4", "data/talking_head/real3dportrait_May_5s.mp4",
     "1280x720 pad, H.264 High, full range (yuvj420p, bt709 pc), 25 fps, GOP 250",
     ["-vf", pad(1280, 720), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuvj420p",
      "-g", "250", "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "pc", *AAC]),
    ("v18_katie_1280x720_mpeg4_25.mp4", "data/talking_head/sadtalker_WDA_KatieHill_000.mp4",
     "1280x720 pad, MPEG-4 part 2 (mpeg4) in MP4, untagged, 25 fps, GOP 12",
     ["-vf", pad(1280, 720), "-c:v", "mpeg4", "-q:v", "3", "-g", "12", *AAC]),
    ("v19_katie_1280x720_mpeg4_bt709_avi_25.avi", "data/talking_head/sadtalker_WDA_KatieHill_000.mp4",
     "1280x720 pad, MPEG-4 part 2 in AVI, bt709 tags asked for but not carried (decodes untagged), 25 fps, GOP 250, B-frames",
     ["-vf", pad(1280, 720), "-c:v", "mpeg4", "-q:v", "3", "-g", "250", "-bf", "2", *BT709,
      "-c:a", "libmp3lame", "-b:a", "128k"]),
    ("v20_face4_1280x720_mpeg2_ps_25.mpg", "data/talking_head/retalking_face_4.mp4",
     "1280x720 pad, MPEG-2 video in MPEG-PS (.mpg), 30->25 fps, GOP 12",
     ["-vf", pad(1280, 720) + ",fps=25", "-c:v", "mpeg2video", "-q:v", "3", "-g", "12", "-bf", "2",
      "-c:a", "mp2", "-b:a", "192k", "-f", "mpeg"]),
    ("v21_face5_720x1280_mpeg1_ps_25.mpg", "data/talking_head/retalking_face_5.mp4",
     "720x1280 pad (portrait), MPEG-1 video in MPEG-PS (.mpg), 25 fps, GOP 15",
     ["-vf", pad(720, 1280), "-c:v", "mpeg1video", "-q:v", "3", "-g", "15", "-c:a", "mp2", "-b:a", "192k",
      "-f", "mpeg"]),
    ("v22_grid_1280x720_h264_bt709_25.mp4", "data/talking_head/grid/bbaf2n.mpg",
     "1280x720 crop+upscale of a GRID clip, H.264 High, bt709-tagged, 25 fps, GOP 250, 3 s",
     ["-vf", crop_scale(1280, 720), *X264, "-g", "250", *BT709, *AAC]),
    ("v23_kristi_1280x720_h264_bt709_30_long.mp4", "data/talking_head/styletalk_KristiNoem.mp4",
     "1280x720 pad (256² source), H.264 High, bt709-tagged, 30 fps, GOP 600, 18 s",
     ["-vf", pad(1280, 720), *X264, "-g", "600", *BT709, *AAC]),
    ("v24_obama_256x256_h264_bt709_30.mp4", "data/talking_head/styletalk_Obama_clip1.mp4",
     "256x256 (native), H.264 High re-encode, bt709-tagged, 30 fps, GOP 30, 20 s",
     [*X264, "-g", "30", *BT709, *AAC]),
    ("v25_creator_1280x720_h264_bt709_30_long.mp4", "data/whole_body/creator_gesturing_phone.mp4",
     "1280x720 downscale of a real 1080p30 clip, H.264 High, bt709-tagged, 30 fps, GOP 300, 30 s",
     ["-t", "30", "-vf", "scale=1280:720:flags=bicubic", *X264, "-g", "300", *BT709, *AAC]),
]


#: Held-out clips (session 7): made and measured with the official scripts only AFTER every compat
#: fix of the main list above, to check that the agreement generalises. Kinds the main list lacks
#: (VP9/WebM, MOV, MKV, non-square pixels, NTSC 30000/1001, all-intra, heavy compression, 48/22.05
#: kHz and mono audio, two-face composites, 3 s cuts) and sources it never used.
HELDOUT: list[tuple[str, str, str, list[str]]] = [
    ("h01_feifeili_1920x1080_hevc_bt709_30.mp4", "data/talking_head/styletalk_feifeili_clip1.mp4",
     "1920x1080 pad (256² source), HEVC Main, bt709-tagged, 30 fps, GOP 250",
     ["-vf", pad(1920, 1080), *X265, "-g", "250", *BT709, *AAC]),
    ("h02_face1_640x360_h264_intra_25.mp4", "data/talking_head/retalking_face_1.mp4",
     "640x360 pad, H.264 Baseline, all-intra (GOP 1), untagged, 30->25 fps",
     ["-vf", pad(640, 360) + ",fps=25", "-c:v", "libx264", "-profile:v", "baseline", "-preset", "veryfast",
      "-crf", "20", "-pix_fmt", "yuv420p", "-g", "1", *AAC]),
    ("h03_hallo_1080x1920_h264_bt709_25.mp4", "data/same_audio_6_models/hallo.mp4",
     "1080x1920 crop+upscale (portrait), H.264 High, bt709-tagged, 25 fps, GOP 50",
     ["-vf", crop_scale(1080, 1920), *X264, "-g", "50", *BT709, *AAC]),
    ("h04_echomimic_1280x720_vp9_25.webm", "data/same_audio_6_models/echomimic.mp4",
     "1280x720 pad, VP9 in WebM, Opus audio, 25 fps",
     ["-vf", pad(1280, 720), "-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "2M",
      "-c:a", "libopus", "-b:a", "96k"]),
    ("h05_anitalker_1024x576_h264_mov_25.mov", "data/same_audio_6_models/anitalker.mp4",
     "1024x576 pad, H.264 High in QuickTime MOV, 25 fps, 10 s",
     ["-t", "10", "-vf", pad(1024, 576), *X264, "-g", "250", *AAC]),
    ("h06_edtalk_960x540_h264_bt709_50.mp4", "data/same_audio_6_models/edtalk.mp4",
     "960x540 pad, H.264 High, bt709-tagged, 25->50 fps, GOP 100, 8 s",
     ["-t", "8", "-vf", pad(960, 540) + ",fps=50", *X264, "-g", "100", *BT709, *AAC]),
    ("h07_sadtalker_1440x1080_h264_crf35_25.mp4", "data/same_audio_6_models/sadtalker.mp4",
     "1440x1080 (4:3) pad, H.264 heavily compressed (CRF 35), 25 fps",
     ["-vf", pad(1440, 1080), "-c:v", "libx264", "-preset", "veryfast", "-crf", "35", "-pix_fmt", "yuv420p",
      "-g", "250", *AAC]),
    ("h08_gtreal_512x512_ntsc_3s.mp4", "data/portraits/aoc_ref_audio_gt/gt_real.mp4",
     "512x512 native, H.264 High, 30000/1001 fps (NTSC), first 3 s",
     ["-t", "3", *X264, "-g", "60", *AAC]),
    ("h09_grid_720x576_sar_h264_25.mp4", "data/talking_head/grid/lrwp9a.mpg",
     "720x576 with non-square pixels (SAR 16:15, PAL), H.264 High, 25 fps, 3 s",
     ["-vf", "scale=720:576:flags=bicubic,setsar=16/15", *X264, "-g", "250", *AAC]),
    ("h10_aragaki_1920x1080_mpeg4_mkv_30.mkv", "data/driven_pairs/aragaki_real_driving.mp4",
     "1920x1080 crop+upscale, MPEG-4 part 2 in Matroska, 25->30 fps, 48 kHz audio",
     ["-vf", crop_scale(1920, 1080) + ",fps=30", "-c:v", "mpeg4", "-q:v", "4", "-g", "30",
      "-c:a", "aac", "-b:a", "128k", "-ar", "48000"]),
    ("h11_halfbody_480x908_h264_30.mp4", "data/whole_body/halfbody_silent_audio.mp4",
     "480x908 native half body (silent audio track), H.264 High re-encode, 30 fps",
     [*X264, "-g", "250", *AAC]),
    ("h12_kristi_512x512_h264_22k_mono_30.mp4", "data/talking_head/styletalk_KristiNoem.mp4",
     "512x512 upscale, H.264 High, 30 fps, 22.05 kHz mono audio, 12 s",
     ["-t", "12", "-vf", "scale=512:512:flags=lanczos", *X264, "-g", "250", "-c:a", "aac", "-b:a", "64k",
      "-ar", "22050", "-ac", "1"]),
    ("h13_twofaces_1024x512_h264_25.mp4", "data/same_audio_6_models/hallo.mp4",
     "two faces side by side (hallo | echomimic, same audio), 1024x512, H.264 High, 25 fps, 8 s",
     ["-t", "8", "-i", "{shared}/data/same_audio_6_models/echomimic.mp4", "-filter_complex",
      "[0:v][1:v]hstack=inputs=2[v]", "-map", "[v]", "-map", "0:a", *X264, "-g", "250", *AAC]),
    ("h14_face4_700x700_h264_30_gop5.mp4", "data/talking_head/retalking_face_4.mp4",
     "700x700 native, H.264 Main, 30 fps, GOP 5 with 3 B-frames",
     ["-c:v", "libx264", "-profile:v", "main", "-preset", "medium", "-crf", "23", "-bf", "3", "-g", "5",
      "-pix_fmt", "yuv420p", *AAC]),
    ("h15_obama_1280x720_h264_bt709_25_long.mp4", "data/talking_head/styletalk_Obama_clip1.mp4",
     "1280x720 pad (256² source), H.264 High, bt709-tagged, 30->25 fps, GOP 250, 20 s",
     ["-vf", pad(1280, 720) + ",fps=25", *X264, "-g", "250", *BT709, *AAC]),
    ("h16_echomimic_360x640_h264_25.mp4", "data/same_audio_6_models/echomimic.mp4",
     "360x640 crop (portrait, downscale), H.264 High, untagged, 25 fps, 6 s",
     ["-t", "6", "-vf", crop_scale(360, 640), *X264, "-g", "250", *AAC]),
]


#: last option of a variant: encode, then stream-copy with a 90° display matrix (ffmpeg 5.1 writes
#: the matrix from a ``rotate`` tag only when it copies the stream)
ROTATE90 = "<then stream-copy with -metadata:s:v:0 rotate=90>"

#: Second held-out set (session 7): made after the Opus fix that h04 prompted, measured once.
#: Phone rotation metadata, MPEG-TS, FLV, ProRes, 10-bit and 4:2:2 H.264, odd sizes (4:4:4), 60 fps,
#: variable frame rate, 8 kHz mono, 5.1 and PCM audio.
HELDOUT2: list[tuple[str, str, str, list[str]]] = [
    ("g01_aoc_rot90_h264_25.mp4", "data/talking_head/sadtalker_WDA_AOC_000.mp4",
     "phone-style rotation: 1280x720 stored, rotate=90 display matrix (720x1280 shown), H.264, 25 fps",
     ["-vf", "transpose=2," + pad(1280, 720), *X264, "-g", "250", *AAC, ROTATE90]),
    ("g02_face2_1280x720_h264_ts_25.ts", "data/talking_head/retalking_face_2.mp4",
     "1280x720 pad, H.264 in MPEG-TS, 30->25 fps, AAC",
     ["-vf", pad(1280, 720) + ",fps=25", *X264, "-g", "50", *AAC, "-f", "mpegts"]),
    ("g03_may_1280x720_h264_10bit_25.mp4", "data/talking_head/real3dportrait_May_5s.mp4",
     "1280x720 pad, H.264 High 10 (yuv420p10le), bt709-tagged, 25 fps",
     ["-vf", pad(1280, 720), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p10le",
      "-g", "250", *BT709, *AAC]),
    ("g04_katie_1280x720_h264_422_25.mp4", "data/talking_head/sadtalker_WDA_KatieHill_000.mp4",
     "1280x720 pad, H.264 High 4:2:2 (yuv422p), 25 fps",
     ["-vf", pad(1280, 720), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv422p",
      "-g", "250", *AAC]),
    ("g05_kristi_641x361_h264_444_30.mp4", "data/talking_head/styletalk_KristiNoem.mp4",
     "641x361 (odd size) pad, H.264 High 4:4:4 (yuv444p), 30 fps, 8 s",
     ["-t", "8", "-vf", pad(641, 361), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv444p",
      "-g", "250", *AAC]),
    ("g06_edtalk_1280x720_h264_60.mp4", "data/same_audio_6_models/edtalk.mp4",
     "1280x720 pad, H.264 High, 25->60 fps, GOP 120, 6 s",
     ["-t", "6", "-vf", pad(1280, 720) + ",fps=60", *X264, "-g", "120", *BT709, *AAC]),
    ("g07_face1_700x700_vfr.mp4", "data/talking_head/retalking_face_1.mp4",
     "700x700, variable frame rate (every 4th frame dropped, timestamps kept), H.264",
     ["-vf", "select='not(eq(mod(n,4),3))'", "-fps_mode", "vfr", *X264, "-g", "250", *AAC]),
    ("g08_obama_512x512_h264_8k_mono_25.mp4", "data/talking_head/styletalk_Obama_clip1.mp4",
     "512x512 upscale, H.264 High, 30->25 fps, 8 kHz mono audio, 10 s",
     ["-t", "10", "-vf", "scale=512:512:flags=bicubic,fps=25", *X264, "-g", "250", "-c:a", "aac", "-b:a", "32k",
      "-ar", "8000", "-ac", "1"]),
    ("g09_anitalker_960x540_h264_51_25.mp4", "data/same_audio_6_models/anitalker.mp4",
     "960x540 pad, H.264 High, 25 fps, 5.1 audio (6 channels, 48 kHz AAC), 8 s",
     ["-t", "8", "-vf", pad(960, 540), *X264, "-g", "250", "-af", "pan=5.1|FL=c0|FR=c1|FC=0.5*c0+0.5*c1|LFE=0*c0|BL=c0|BR=c1",
      "-c:a", "aac", "-b:a", "256k", "-ar", "48000"]),
    ("g10_hallo_854x480_h264_flv_25.flv", "data/same_audio_6_models/hallo.mp4",
     "854x480 pad, H.264 in FLV, MP3 audio 44.1 kHz, 25 fps, 10 s",
     ["-t", "10", "-vf", pad(854, 480), *X264, "-g", "250", "-c:a", "libmp3lame", "-b:a", "128k", "-ar", "44100"]),
    ("g11_sadtalker_1024x1024_prores_25.mov", "data/same_audio_6_models/sadtalker.mp4",
     "1024x1024 upscale, ProRes 422 (yuv422p10le) in MOV, PCM s16 audio, 25 fps, 6 s",
     ["-t", "6", "-vf", "scale=1024:1024:flags=bicubic", "-c:v", "prores_ks", "-profile:v", "2",
      "-c:a", "pcm_s16le"]),
    ("g12_aragaki_1280x720_h264_bt601_25.mp4", "data/driven_pairs/aragaki_generated_aniportrait.mp4",
     "1280x720 crop+upscale, H.264 High, bt470bg/smpte170m-tagged (BT.601), 25 fps, 8 s",
     ["-t", "8", "-vf", crop_scale(1280, 720), *X264, "-g", "250", "-color_primaries", "bt470bg",
      "-color_trc", "smpte170m", "-colorspace", "smpte170m", "-color_range", "tv", *AAC]),
]


#: Third held-out set (session 7): made after the fixes h01-h16 and g01-g12 prompted, measured once.
HELDOUT3: list[tuple[str, str, str, list[str]]] = [
    ("k01_float_1280x720_hevc_opus_25.mkv", "data/same_audio_6_models/float.mp4",
     "1280x720 pad, HEVC in Matroska, Opus 48 kHz audio, 25 fps, 10 s",
     ["-t", "10", "-vf", pad(1280, 720), *X265, "-g", "250", "-c:a", "libopus", "-b:a", "96k"]),
    ("k02_face5_1280x720_h264_aac_25.mkv", "data/talking_head/retalking_face_5.mp4",
     "1280x720 pad, H.264 in Matroska, AAC, 25 fps",
     ["-vf", pad(1280, 720), *X264, "-g", "250", *AAC]),
    ("k03_may_960x540_mjpeg_pcm_25.avi", "data/talking_head/real3dportrait_May_5s.mp4",
     "960x540 pad, Motion JPEG (yuvj422p) in AVI, PCM s16 audio, 25 fps",
     ["-vf", pad(960, 540), "-c:v", "mjpeg", "-q:v", "3", "-c:a", "pcm_s16le"]),
    ("k04_kristi_1080x1080_h264_30_long.mp4", "data/talking_head/styletalk_KristiNoem.mp4",
     "1080x1080 upscale, H.264 High, bt709-tagged, 30 fps, GOP 300, 18 s",
     ["-vf", "scale=1080:1080:flags=lanczos", *X264, "-g", "300", *BT709, *AAC]),
    ("k05_face2_720x720_h264_15.mp4", "data/talking_head/retalking_face_2.mp4",
     "720x720 pad, H.264 High, 30->15 fps",
     ["-vf", pad(720, 720) + ",fps=15", *X264, "-g", "250", *AAC]),
    ("k06_echomimic_1024x576_h264_adelay.mp4", "data/same_audio_6_models/echomimic.mp4",
     "1024x576 pad, H.264 High, 25 fps, audio track starting 0.5 s after the video (adelay), 10 s",
     ["-t", "10", "-vf", pad(1024, 576), *X264, "-g", "250", "-af", "adelay=500|500", *AAC]),
    ("k07_edtalk_1280x720_h264_96k_25.mp4", "data/same_audio_6_models/edtalk.mp4",
     "1280x720 pad, H.264 High, 25 fps, 96 kHz AAC audio, 8 s",
     ["-t", "8", "-vf", pad(1280, 720), *X264, "-g", "250", "-c:a", "aac", "-b:a", "192k", "-ar", "96000"]),
    ("k08_aoc_854x480_vp8_vorbis_25.webm", "data/talking_head/sadtalker_WDA_AOC_000.mp4",
     "854x480 pad, VP8 + Vorbis in WebM, 25 fps",
     ["-vf", pad(854, 480), "-c:v", "libvpx", "-b:v", "1M", "-c:a", "libvorbis", "-q:a", "4"]),
    ("k09_aragaki_1920x1080_h264_interlaced_25.mp4", "data/driven_pairs/aragaki_real_driving.mp4",
     "1920x1080 crop+upscale, H.264 interlaced (tff, +ildct+ilme), 25 fps, 8 s",
     ["-t", "8", "-vf", crop_scale(1920, 1080), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
      "-pix_fmt", "yuv420p", "-flags", "+ildct+ilme", "-x264opts", "tff=1", "-g", "250", *AAC]),
    ("k10_hallo_768x768_h264_2audio_25.mp4", "data/same_audio_6_models/hallo.mp4",
     "768x768 upscale, H.264 High, 25 fps, two audio tracks (speech first, then a silent one), 10 s",
     ["-t", "10", "-f", "lavfi", "-i", "anullsrc=r=44100:cl=stereo", "-map", "0:v", "-map", "0:a", "-map", "1:a",
      "-vf", "scale=768:768:flags=bicubic", *X264, "-g", "250", "-c:a", "aac", "-b:a", "128k", "-shortest"]),
]


#: Fourth held-out set (session 8): made after the session's fixes (OpenCV's own frames for 10-bit 4:2:0,
#: moviepy's export from the command line's own samples), measured once. More 10-bit (H.264, HEVC, VP9,
#: 4:2:2), 23.976 / 29.97 / 12 fps, QHD, odd-but-even sizes, lossless H.264, WMV2 in ASF, full range
#: without yuvj, 11.025 / 16 / 24 / 32 kHz audio, a muted stretch, another speaker's audio, a 3 s clip.
HELDOUT4: list[tuple[str, str, str, list[str]]] = [
    ("m01_aocgt_1280x720_h264_10bit_30.mp4", "data/portraits/aoc_ref_audio_gt/gt_real.mp4",
     "1280x720 pad, H.264 High 10 (yuv420p10le), untagged, 29.97 fps",
     ["-vf", pad(1280, 720), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv420p10le",
      "-g", "250", *AAC]),
    ("m02_obamauncrop_900x900_hevc10_opus.mkv", "data/talking_head/edtalk_uncrop_Obama.mp4",
     "900x900 upscale, HEVC Main 10 (yuv420p10le) bt709-tagged in Matroska, Opus, 25 fps, 8 s",
     ["-t", "8", "-vf", "scale=900:900:flags=bicubic", "-c:v", "libx265", "-preset", "ultrafast", "-crf", "24",
      "-pix_fmt", "yuv420p10le", "-x265-params", "log-level=error", *BT709, "-c:a", "libopus", "-b:a", "64k"]),
    ("m03_infinitetalk_1920x1080_h264_23976.mp4", "data/talking_head/infinitetalk_ref_video.mp4",
     "1920x1080 pad, H.264 High, 25->23.976 fps, B-pyramid, AAC 48 kHz, 8 s",
     ["-t", "8", "-vf", pad(1920, 1080) + ",fps=24000/1001", *X264, "-bf", "3", "-b_strategy", "2", "-g", "250",
      "-c:a", "aac", "-b:a", "128k", "-ar", "48000"]),
    ("m04_face4_800x800_mpeg4_mov_2997.mov", "data/talking_head/retalking_face_4.mp4",
     "800x800 upscale, MPEG-4 part 2 in MOV, 30->29.97 fps, AAC 32 kHz",
     ["-vf", "scale=800:800:flags=bicubic,fps=30000/1001", "-c:v", "mpeg4", "-q:v", "3", "-c:a", "aac",
      "-b:a", "96k", "-ar", "32000"]),
    ("m05_seated_540x960_h264_crf28_24k.mp4", "data/whole_body/seated_woman_speaking.mp4",
     "540x960 downscale (portrait whole body), H.264 CRF 28, 25 fps, AAC 24 kHz mono, 8 s",
     ["-t", "8", "-vf", "scale=540:960:flags=bicubic," + UNTAG, "-c:v", "libx264", "-preset", "veryfast", "-crf", "28",
      "-pix_fmt", "yuv420p", "-g", "250", "-c:a", "aac", "-b:a", "64k", "-ar", "24000", "-ac", "1"]),
    ("m06_halfbody_480x908_h264_pcm16k.mov", "data/whole_body/halfbody_silent_audio.mp4",
     "480x908 half body, H.264, 30 fps, PCM s16 16 kHz mono in MOV, 8 s",
     ["-t", "8", *X264, "-g", "250", "-c:a", "pcm_s16le", "-ar", "16000", "-ac", "1"]),
    ("m07_grid_640x480_h264_16k_25.mp4", "data/talking_head/grid/bbaf2n.mpg",
     "640x480 (4:3) upscale of a GRID clip, H.264, 25 fps, AAC 16 kHz mono",
     ["-vf", "scale=640:480:flags=bicubic", *X264, "-g", "250", "-c:a", "aac", "-b:a", "48k", "-ar", "16000",
      "-ac", "1"]),
    ("m08_float_360x360_h264_crf40_12.mp4", "data/same_audio_6_models/float.mp4",
     "360x360 downscale, H.264 CRF 40, 25->12 fps, 8 s",
     ["-t", "8", "-vf", "scale=360:360:flags=area,fps=12", "-c:v", "libx264", "-preset", "veryfast", "-crf", "40",
      "-pix_fmt", "yuv420p", "-g", "250", *AAC]),
    ("m09_sadtalker_512x512_h264_otheraudio.mp4", "data/same_audio_6_models/sadtalker.mp4",
     "512x512, H.264, 25 fps, another speaker's audio muxed in (RD_Radio31 wav, 16 kHz -> AAC), 6 s",
     ["-i", "{shared}/data/portraits/sadtalker/RD_Radio31_000.wav", "-map", "0:v", "-map", "1:a", "-t", "6",
      "-vf", "scale=512:512:flags=bicubic", *X264, "-g", "250", *AAC, "-shortest"]),
    ("m10_hallo_768x768_h264_muted.mp4", "data/same_audio_6_models/hallo.mp4",
     "768x768 upscale, H.264, 25 fps, speech muted from 2 to 4.5 s, 10 s",
     ["-t", "10", "-vf", "scale=768:768:flags=bicubic", *X264, "-g", "250",
      "-af", "volume=enable='between(t,2,4.5)':volume=0", *AAC]),
    ("m11_anitalker_960x540_h264_lossless.mp4", "data/same_audio_6_models/anitalker.mp4",
     "960x540 pad, H.264 lossless (qp 0, High 4:4:4 Predictive, yuv420p), 25 fps, 6 s",
     ["-t", "6", "-vf", pad(960, 540), "-c:v", "libx264", "-preset", "veryfast", "-qp", "0", "-pix_fmt", "yuv420p",
      "-g", "250", *AAC]),
    ("m12_echomimic_854x480_wmv2_asf.wmv", "data/same_audio_6_models/echomimic.mp4",
     "854x480 pad, WMV2 + WMA v2 in ASF, 25 fps, 8 s",
     ["-t", "8", "-vf", pad(854, 480), "-c:v", "wmv2", "-b:v", "2M", "-c:a", "wmav2", "-b:a", "128k"]),
    ("m13_aragaki_1280x720_h264_fullrange_tag.mp4", "data/driven_pairs/aragaki_generated_aniportrait.mp4",
     "1280x720 crop+upscale, H.264 yuv420p tagged full range (not yuvj) and BT.709, 25 fps, 8 s",
     ["-t", "8", "-vf", crop_scale(1280, 720) + ",scale=out_range=pc", "-c:v", "libx264", "-preset", "veryfast",
      "-crf", "20", "-pix_fmt", "yuv420p", "-color_range", "pc", "-colorspace", "bt709", "-color_primaries",
      "bt709", "-color_trc", "bt709", "-g", "250", *AAC]),
    ("m14_obama_1280x720_h264_422_10bit.mp4", "data/talking_head/styletalk_Obama_clip1.mp4",
     "1280x720 pad, H.264 High 4:2:2 10-bit (yuv422p10le), 30 fps, 8 s",
     ["-t", "8", "-vf", pad(1280, 720), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
      "-pix_fmt", "yuv422p10le", "-g", "250", *AAC]),
    ("m15_katie_1280x720_vp9_10bit.webm", "data/talking_head/sadtalker_WDA_KatieHill_000.mp4",
     "1280x720 pad, VP9 profile 2 (yuv420p10le) + Opus in WebM, 25 fps",
     ["-vf", pad(1280, 720), "-c:v", "libvpx-vp9", "-b:v", "2M", "-pix_fmt", "yuv420p10le", "-row-mt", "1",
      "-c:a", "libopus", "-b:a", "96k"]),
    ("m16_may_1280x720_h264_3s.mp4", "data/talking_head/real3dportrait_May_5s.mp4",
     "1280x720 pad, H.264, 25 fps, 3 s (a short clip)",
     ["-t", "3", "-vf", pad(1280, 720), *X264, "-g", "250", *AAC]),
    ("m17_face1_2560x1440_h264_25.mp4", "data/talking_head/retalking_face_1.mp4",
     "2560x1440 (QHD) pad, H.264 High, 30->25 fps",
     ["-vf", pad(2560, 1440) + ",fps=25", *X264, "-g", "250", *AAC]),
    ("m18_creator_1080x1920_hevc_30.mp4", "data/whole_body/creator_gesturing_phone.mp4",
     "1080x1920 centre crop of a 1080p whole-body clip (small face), HEVC 8-bit, 30 fps, 8 s",
     ["-t", "8", "-vf", "crop=608:1080,scale=1080:1920:flags=bicubic", *X265, "-g", "250", *AAC]),
    ("m19_kristi_720x720_h264_mp3_11k.mkv", "data/talking_head/styletalk_KristiNoem.mp4",
     "720x720 pad, H.264 in Matroska, 30 fps, MP3 11.025 kHz mono, 8 s",
     ["-t", "8", "-vf", pad(720, 720), *X264, "-g", "250", "-c:a", "libmp3lame", "-b:a", "32k", "-ar", "11025",
      "-ac", "1"]),
    ("m20_face2_722x406_h264_2997.mp4", "data/talking_head/retalking_face_2.mp4",
     "722x406 pad (not a multiple of 16), H.264, 30->29.97 fps",
     ["-vf", pad(722, 406) + ",fps=30000/1001", *X264, "-g", "250", *AAC]),
]


#: Fifth held-out set (session 8): made after the fixes the fourth set prompted (no 10-bit format through
#: PyAV's conversion for OpenCV's pixels), measured once. Everyday encodes in new combinations plus edits
#: that move the face or the audio: black lead-in without a face, a mirrored face, quiet and band-limited
#: speech, a 256x256 clip, a 15 s clip, one 10-bit clip.
HELDOUT5: list[tuple[str, str, str, list[str]]] = [
    ("n01_face5_1024x1024_h264_48k_30.mp4", "data/talking_head/retalking_face_5.mp4",
     "1024x1024 upscale, H.264 CRF 23, 30 fps, AAC 48 kHz",
     ["-vf", "scale=1024:1024:flags=bicubic", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23",
      "-pix_fmt", "yuv420p", "-g", "250", "-c:a", "aac", "-b:a", "128k", "-ar", "48000"]),
    ("n02_katie_1280x720_hevc_mov_25.mov", "data/talking_head/sadtalker_WDA_KatieHill_000.mp4",
     "1280x720 pad, HEVC 8-bit (hvc1) in MOV, 25 fps",
     ["-vf", pad(1280, 720), *X265, "-g", "250", *AAC]),
    ("n03_may_1080x1920_h264_portrait_25.mp4", "data/talking_head/real3dportrait_May_5s.mp4",
     "1080x1920 portrait pad (face in a tall frame), H.264, 25 fps",
     ["-vf", pad(1080, 1920), *X264, "-g", "250", *AAC]),
    ("n04_feifeili_960x960_mpeg4_avi_mp3.avi", "data/talking_head/styletalk_feifeili_clip1.mp4",
     "960x960 upscale, MPEG-4 part 2 + MP3 in AVI, 25 fps, 8 s",
     ["-t", "8", "-vf", "scale=960:960:flags=bicubic", "-c:v", "mpeg4", "-q:v", "4", "-c:a", "libmp3lame",
      "-b:a", "128k"]),
    ("n05_aoc_640x640_h264_baseline_20.mp4", "data/talking_head/sadtalker_WDA_AOC_000.mp4",
     "640x640 pad, H.264 Baseline, 25->20 fps",
     ["-vf", pad(640, 640) + ",fps=20", "-c:v", "libx264", "-profile:v", "baseline", "-preset", "veryfast",
      "-crf", "20", "-pix_fmt", "yuv420p", "-g", "250", *AAC]),
    ("n06_obamauncrop_1280x720_h264_bt709_15s.mp4", "data/talking_head/edtalk_uncrop_Obama.mp4",
     "1280x720 pad, H.264 bt709-tagged, 25 fps, 15 s",
     ["-t", "15", "-vf", pad(1280, 720), *X264, "-g", "250", *BT709, *AAC]),
    ("n07_infinitetalk_720x720_vp9_opus.webm", "data/talking_head/infinitetalk_ref_video.mp4",
     "720x720 upscale, VP9 8-bit + Opus in WebM, 25 fps, 8 s",
     ["-t", "8", "-vf", "scale=720:720:flags=bicubic", "-c:v", "libvpx-vp9", "-b:v", "1M", "-row-mt", "1",
      "-c:a", "libopus", "-b:a", "64k"]),
    ("n08_anitalker_1280x720_h264_10bit_25.mp4", "data/same_audio_6_models/anitalker.mp4",
     "1280x720 pad, H.264 High 10 (yuv420p10le), 25 fps, 8 s",
     ["-t", "8", "-vf", pad(1280, 720), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
      "-pix_fmt", "yuv420p10le", "-g", "250", *AAC]),
    ("n09_echomimic_576x1024_hevc_25.mp4", "data/same_audio_6_models/echomimic.mp4",
     "576x1024 portrait pad, HEVC 8-bit, 25 fps, 8 s",
     ["-t", "8", "-vf", pad(576, 1024), *X265, "-g", "250", *AAC]),
    ("n10_sadtalker_256x256_h264_25.mp4", "data/same_audio_6_models/sadtalker.mp4",
     "256x256 downscale, H.264, 25 fps",
     ["-vf", "scale=256:256:flags=area", *X264, "-g", "250", *AAC]),
    ("n11_hallo_1280x720_mjpeg_pcm.mov", "data/same_audio_6_models/hallo.mp4",
     "1280x720 pad, Motion JPEG (yuvj422p) + PCM s16 in MOV, 25 fps, 6 s",
     ["-t", "6", "-vf", pad(1280, 720), "-c:v", "mjpeg", "-q:v", "4", "-c:a", "pcm_s16le"]),
    ("n12_float_1920x1080_h264_50.mp4", "data/same_audio_6_models/float.mp4",
     "1920x1080 pad, H.264, 25->50 fps, 6 s",
     ["-t", "6", "-vf", pad(1920, 1080) + ",fps=50", *X264, "-g", "100", *AAC]),
    ("n13_aragakireal_1080x1080_h264_bt601.mp4", "data/driven_pairs/aragaki_real_driving.mp4",
     "1080x1080 centre crop+upscale, H.264 bt470bg/smpte170m-tagged, 25 fps, 8 s",
     ["-t", "8", "-vf", crop_scale(1080, 1080), *X264, "-g", "250", "-color_primaries", "bt470bg",
      "-color_trc", "smpte170m", "-colorspace", "smpte170m", "-color_range", "tv", *AAC]),
    ("n14_face1_700x700_h264_blackstart.mp4", "data/talking_head/retalking_face_1.mp4",
     "700x700, 1 s of black frames (no face) before the clip, audio delayed to match, H.264",
     ["-vf", "tpad=start_duration=1:color=black", "-af", "adelay=1000|1000", *X264, "-g", "250", *AAC]),
    ("n15_face2_700x700_h264_mirrored.mp4", "data/talking_head/retalking_face_2.mp4",
     "mirrored (hflip), H.264, 30 fps",
     ["-vf", "hflip", *X264, "-g", "250", *AAC]),
    ("n16_kristi_1280x720_h264_quiet.mp4", "data/talking_head/styletalk_KristiNoem.mp4",
     "1280x720 pad, H.264, 30 fps, speech 20 dB quieter, 8 s",
     ["-t", "8", "-vf", pad(1280, 720), *X264, "-g", "250", "-af", "volume=-20dB", *AAC]),
    ("n17_obama_720x720_h264_telephone.mp4", "data/talking_head/styletalk_Obama_clip1.mp4",
     "720x720 upscale, H.264, 30 fps, speech band-limited to 300-3400 Hz, 8 s",
     ["-t", "8", "-vf", "scale=720:720:flags=bicubic", *X264, "-g", "250",
      "-af", "highpass=f=300,lowpass=f=3400", *AAC]),
    ("n18_aocgt_512x512_h264_crf30_mono.mp4", "data/portraits/aoc_ref_audio_gt/gt_real.mp4",
     "512x512, H.264 CRF 30, 29.97 fps, AAC mono 44.1 kHz",
     ["-c:v", "libx264", "-preset", "veryfast", "-crf", "30", "-pix_fmt", "yuv420p", "-g", "250", "-c:a", "aac",
      "-b:a", "64k", "-ac", "1"]),
    ("n19_halfbody_720x1364_h264_25.mp4", "data/whole_body/halfbody_silent_audio.mp4",
     "720x1364 upscale (half body, silent audio), H.264, 30->25 fps",
     ["-vf", "scale=720:1364:flags=bicubic,fps=25", *X264, "-g", "250", *AAC]),
    ("n20_grid_360x288_mpeg4_avi_pcm16k.avi", "data/talking_head/grid/bbaf2n.mpg",
     "360x288 (GRID's own size), MPEG-4 part 2 + PCM s16 16 kHz mono in AVI, 25 fps",
     ["-c:v", "mpeg4", "-q:v", "3", "-c:a", "pcm_s16le", "-ar", "16000", "-ac", "1"]),
]


#: Sixth held-out set (session 8): made after the fix the fifth set prompted (OpenCV's seeks past a timestamp
#: gap), measured once. Other audio codecs (MP2, ALAC, FLAC, AC-3), MPEG-2 in MPEG-TS, deep B-frame
#: pyramids, VP8 again, full range, 4:4:4, whole-body landscape and portrait, a trailing silence, one 10-bit.
HELDOUT6: list[tuple[str, str, str, list[str]]] = [
    ("p01_face4_1280x720_h264_bt709_50.mp4", "data/talking_head/retalking_face_4.mp4",
     "1280x720 pad, H.264 bt709-tagged, 30->50 fps",
     ["-vf", pad(1280, 720) + ",fps=50", *X264, "-g", "100", *BT709, *AAC]),
    ("p02_face5_960x540_h264_10bit_25.mp4", "data/talking_head/retalking_face_5.mp4",
     "960x540 pad, H.264 High 10 (yuv420p10le), 30->25 fps",
     ["-vf", pad(960, 540) + ",fps=25", "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
      "-pix_fmt", "yuv420p10le", "-g", "250", *AAC]),
    ("p03_aoc_1024x576_mpeg2_ts_mp2.ts", "data/talking_head/sadtalker_WDA_AOC_000.mp4",
     "1024x576 pad, MPEG-2 video + MP2 audio in MPEG-TS, 25 fps",
     ["-vf", pad(1024, 576), "-c:v", "mpeg2video", "-q:v", "3", "-g", "12", "-bf", "2", "-c:a", "mp2",
      "-b:a", "192k", "-ar", "48000", "-f", "mpegts"]),
    ("p04_kristi_854x480_h264_alac.mov", "data/talking_head/styletalk_KristiNoem.mp4",
     "854x480 pad, H.264 + ALAC in MOV, 30 fps, 8 s",
     ["-t", "8", "-vf", pad(854, 480), *X264, "-g", "250", "-c:a", "alac"]),
    ("p05_obama_1280x720_h264_flac.mkv", "data/talking_head/styletalk_Obama_clip1.mp4",
     "1280x720 pad, H.264 + FLAC in Matroska, 30 fps, 8 s",
     ["-t", "8", "-vf", pad(1280, 720), *X264, "-g", "250", "-c:a", "flac"]),
    ("p06_may_640x360_h264_crf32_22k.mp4", "data/talking_head/real3dportrait_May_5s.mp4",
     "640x360 pad, H.264 CRF 32, 25 fps, AAC 22.05 kHz stereo",
     ["-vf", pad(640, 360), "-c:v", "libx264", "-preset", "veryfast", "-crf", "32", "-pix_fmt", "yuv420p",
      "-g", "250", "-c:a", "aac", "-b:a", "64k", "-ar", "22050"]),
    ("p07_feifeili_1080x1080_h264_bt709_12s.mp4", "data/talking_head/styletalk_feifeili_clip1.mp4",
     "1080x1080 upscale, H.264 bt709-tagged, 30 fps, 12 s",
     ["-t", "12", "-vf", "scale=1080:1080:flags=lanczos", *X264, "-g", "250", *BT709, *AAC]),
    ("p08_hallo_720x1280_h264_portrait_crop.mp4", "data/same_audio_6_models/hallo.mp4",
     "720x1280 portrait crop+upscale (face fills the width), H.264, 25 fps, 8 s",
     ["-t", "8", "-vf", crop_scale(720, 1280), *X264, "-g", "250", *AAC]),
    ("p09_float_1280x720_vp8_vorbis.webm", "data/same_audio_6_models/float.mp4",
     "1280x720 pad, VP8 + Vorbis in WebM, 25 fps, 8 s",
     ["-t", "8", "-vf", pad(1280, 720), "-c:v", "libvpx", "-b:v", "2M", "-c:a", "libvorbis", "-q:a", "4"]),
    ("p10_edtalk_768x432_h264_bf16.mp4", "data/same_audio_6_models/edtalk.mp4",
     "768x432 pad, H.264 with 16 B-frames and 8 references, 25 fps, 8 s",
     ["-t", "8", "-vf", pad(768, 432), "-c:v", "libx264", "-preset", "slow", "-crf", "22", "-bf", "16",
      "-refs", "8", "-pix_fmt", "yuv420p", "-g", "250", *AAC]),
    ("p11_sadtalker_1280x720_hevc_ac3.mkv", "data/same_audio_6_models/sadtalker.mp4",
     "1280x720 pad, HEVC 8-bit + AC-3 in Matroska, 25 fps",
     ["-vf", pad(1280, 720), *X265, "-g", "250", "-c:a", "ac3", "-b:a", "192k"]),
    ("p12_echomimic_1024x1024_mjpeg_avi.avi", "data/same_audio_6_models/echomimic.mp4",
     "1024x1024 pad, Motion JPEG + PCM s16 in AVI, 25 fps, 6 s",
     ["-t", "6", "-vf", pad(1024, 1024), "-c:v", "mjpeg", "-q:v", "3", "-c:a", "pcm_s16le"]),
    ("p13_anitalker_512x512_h264_tailsilence.mp4", "data/same_audio_6_models/anitalker.mp4",
     "512x512 upscale, H.264, 25 fps, speech cut after 5 s (silence to the end), 8 s",
     ["-t", "8", "-vf", "scale=512:512:flags=bicubic", *X264, "-g", "250",
      "-af", "volume=enable='gte(t,5)':volume=0", *AAC]),
    ("p14_aragaki_1280x720_h264_yuvj.mp4", "data/driven_pairs/aragaki_generated_aniportrait.mp4",
     "1280x720 crop+upscale, H.264 yuvj420p (full range), untagged matrix, 25 fps, 8 s",
     ["-t", "8", "-vf", crop_scale(1280, 720), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20",
      "-pix_fmt", "yuvj420p", "-g", "250", *AAC]),
    ("p15_creator_1280x720_h264_30.mp4", "data/whole_body/creator_gesturing_phone.mp4",
     "1280x720 downscale of a 1080p whole-body clip, H.264, 30 fps, 8 s",
     ["-t", "8", "-vf", "scale=1280:720:flags=bicubic", *X264, "-g", "250", *AAC]),
    ("p16_seated_720x1280_h264_25.mp4", "data/whole_body/seated_woman_speaking.mp4",
     "720x1280 downscale of a portrait whole-body HEVC clip, H.264, untagged, 25 fps, 8 s",
     ["-t", "8", "-vf", "scale=720:1280:flags=bicubic," + UNTAG, *X264, "-g", "250", *AAC]),
    ("p17_infinitetalk_458x458_h264_native.mp4", "data/talking_head/infinitetalk_ref_video.mp4",
     "458x458 (the source's size, not a multiple of 16), H.264 CRF 18, 25 fps, 10 s",
     ["-t", "10", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18", "-pix_fmt", "yuv420p", "-g", "250",
      *AAC]),
    ("p18_aocgt_1280x720_h264_444.mp4", "data/portraits/aoc_ref_audio_gt/gt_real.mp4",
     "1280x720 pad, H.264 High 4:4:4 (yuv444p), 29.97 fps",
     ["-vf", pad(1280, 720), "-c:v", "libx264", "-preset", "veryfast", "-crf", "20", "-pix_fmt", "yuv444p",
      "-g", "250", *AAC]),
    ("p19_face1_700x700_mpeg4_mkv_mp3.mkv", "data/talking_head/retalking_face_1.mp4",
     "700x700, MPEG-4 part 2 + MP3 in Matroska, 30 fps",
     ["-c:v", "mpeg4", "-q:v", "3", "-c:a", "libmp3lame", "-b:a", "128k"]),
    ("p20_gridbrbk_720x576_h264_16k.mp4", "data/talking_head/grid/brbk7n.mpg",
     "720x576 upscale of another GRID clip, H.264, 25 fps, AAC 16 kHz mono",
     ["-vf", "scale=720:576:flags=bicubic", *X264, "-g", "250", "-c:a", "aac", "-b:a", "48k", "-ar", "16000",
      "-ac", "1"]),
]


#: Seventh held-out set (session 8): made after the fix the sixth set prompted (seeks past timestamp gaps on
#: MP4/Matroska, a feed that steps back), measured once. Everyday talking-head deliveries again, in combinations
#: not used before, a few edits (speed change, crop that cuts the chin, letterbox, noise), one VFR MP4.
HELDOUT7: list[tuple[str, str, str, list[str]]] = [
    ("q01_may_1080x1080_h264_crf26_30.mp4", "data/talking_head/real3dportrait_May_5s.mp4",
     "1080x1080 crop+upscale, H.264 CRF 26, 25->30 fps",
     ["-vf", crop_scale(1080, 1080) + ",fps=30", "-c:v", "libx264", "-preset", "veryfast", "-crf", "26",
      "-pix_fmt", "yuv420p", "-g", "250", *AAC]),
    ("q02_katie_720x1280_hevc_portrait.mp4", "data/talking_head/sadtalker_WDA_KatieHill_000.mp4",
     "720x1280 portrait pad, HEVC 8-bit bt709-tagged, 25 fps",
     ["-vf", pad(720, 1280), *X265, "-g", "250", *BT709, *AAC]),
    ("q03_kristi_960x540_vp9_opus_30.webm", "data/talking_head/styletalk_KristiNoem.mp4",
     "960x540 pad, VP9 + Opus in WebM, 30 fps, 8 s",
     ["-t", "8", "-vf", pad(960, 540), "-c:v", "libvpx-vp9", "-b:v", "1M", "-row-mt", "1", "-c:a", "libopus",
      "-b:a", "64k"]),
    ("q04_obama_512x512_h264_speed110.mp4", "data/talking_head/styletalk_Obama_clip1.mp4",
     "512x512 upscale, H.264, played 1.1x faster (video and audio), 30 fps, 8 s",
     ["-t", "8.8", "-vf", "scale=512:512:flags=bicubic,setpts=PTS/1.1,fps=30", "-af", "atempo=1.1", *X264,
      "-g", "250", *AAC]),
    ("q05_face2_700x600_h264_chincut.mp4", "data/talking_head/retalking_face_2.mp4",
     "700x600 crop of the top (the chin partly cut), H.264, 30 fps",
     ["-vf", "crop=700:600:0:0", *X264, "-g", "250", *AAC]),
    ("q06_face4_1280x720_h264_letterbox.mp4", "data/talking_head/retalking_face_4.mp4",
     "1280x720 with black bars (face 700x700 in a 1280x720 frame with 4:3 pillarbox), H.264, 30 fps",
     ["-vf", "scale=540:540:flags=bicubic,pad=960:720:(ow-iw)/2:(oh-ih)/2,pad=1280:720:(ow-iw)/2:0,setsar=1",
      *X264, "-g", "250", *AAC]),
    ("q07_face5_700x700_h264_noise.mp4", "data/talking_head/retalking_face_5.mp4",
     "700x700, H.264, 30 fps, film grain (noise filter), AAC",
     ["-vf", "noise=alls=12:allf=t", *X264, "-g", "250", *AAC]),
    ("q08_feifeili_1280x720_h264_vfr.mp4", "data/talking_head/styletalk_feifeili_clip1.mp4",
     "1280x720 pad, H.264, variable frame rate (every 5th frame dropped, timestamps kept), 8 s",
     ["-t", "8", "-vf", pad(1280, 720) + ",select='not(eq(mod(n,5),4))'", "-fps_mode", "vfr", *X264, "-g", "250",
      *AAC]),
    ("q09_aoc_1280x720_h264_aac_he.mp4", "data/talking_head/sadtalker_WDA_AOC_000.mp4",
     "1280x720 pad, H.264, 25 fps, AAC 32 kb/s mono 22.05 kHz",
     ["-vf", pad(1280, 720), *X264, "-g", "250", "-c:a", "aac", "-b:a", "32k", "-ar", "22050", "-ac", "1"]),
    ("q10_echomimic_768x768_mpeg4_mp4.mp4", "data/same_audio_6_models/echomimic.mp4",
     "768x768 upscale, MPEG-4 part 2 in MP4, 25 fps, 8 s",
     ["-t", "8", "-vf", "scale=768:768:flags=bicubic", "-c:v", "mpeg4", "-q:v", "4", *AAC]),
    ("q11_edtalk_1920x1080_hevc_bt709_25.mkv", "data/same_audio_6_models/edtalk.mp4",
     "1920x1080 pad, HEVC 8-bit bt709-tagged in Matroska, AAC, 25 fps, 6 s",
     ["-t", "6", "-vf", pad(1920, 1080), *X265, "-g", "250", *BT709, *AAC]),
    ("q12_anitalker_640x640_h264_main_24.mp4", "data/same_audio_6_models/anitalker.mp4",
     "640x640 crop+scale, H.264 Main, 25->24 fps, 8 s",
     ["-t", "8", "-vf", crop_scale(640, 640) + ",fps=24", "-c:v", "libx264", "-profile:v", "main", "-preset",
      "veryfast", "-crf", "20", "-pix_fmt", "yuv420p", "-g", "250", *AAC]),
    ("q13_float_896x512_h264_48k.mov", "data/same_audio_6_models/float.mp4",
     "896x512 pad, H.264 + AAC 48 kHz in MOV, 25 fps, 8 s",
     ["-t", "8", "-vf", pad(896, 512), *X264, "-g", "250", "-c:a", "aac", "-b:a", "128k", "-ar", "48000"]),
    ("q14_sadtalker_1024x576_h264_gop1.mp4", "data/same_audio_6_models/sadtalker.mp4",
     "1024x576 pad, H.264 all-intra (GOP 1), 25 fps",
     ["-vf", pad(1024, 576), *X264, "-g", "1", *AAC]),
    ("q15_hallo_600x600_h264_pcm24.mov", "data/same_audio_6_models/hallo.mp4",
     "600x600 downscale, H.264 + PCM s24 48 kHz in MOV, 25 fps, 8 s",
     ["-t", "8", "-vf", "scale=600:600:flags=area", *X264, "-g", "250", "-c:a", "pcm_s24le", "-ar", "48000"]),
    ("q16_aragakireal_720x720_h264_25.mp4", "data/driven_pairs/aragaki_real_driving.mp4",
     "720x720 centre crop, H.264, 25 fps, 8 s",
     ["-t", "8", "-vf", crop_scale(720, 720), *X264, "-g", "250", *AAC]),
    ("q17_obamauncrop_640x360_h264_10s.mp4", "data/talking_head/edtalk_uncrop_Obama.mp4",
     "640x360 pad, H.264 CRF 24, 25 fps, 10 s",
     ["-t", "10", "-vf", pad(640, 360), "-c:v", "libx264", "-preset", "veryfast", "-crf", "24",
      "-pix_fmt", "yuv420p", "-g", "250", *AAC]),
    ("q18_gridlbbc_720x576_mpeg2_ps.mpg", "data/talking_head/grid/lbbc2a.mpg",
     "720x576 upscale of a GRID clip, MPEG-2 + MP2 in MPEG-PS, 25 fps",
     ["-vf", "scale=720:576:flags=bicubic", "-c:v", "mpeg2video", "-q:v", "3", "-bf", "2", "-c:a", "mp2",
      "-b:a", "192k", "-ar", "48000", "-f", "vob"]),
    ("q19_seated_1080x1080_h264_25.mp4", "data/whole_body/seated_woman_speaking.mp4",
     "1080x1080 crop of the upper half of a portrait whole-body clip, H.264, 25 fps, 8 s",
     ["-t", "8", "-vf", "crop=1080:1080:0:0," + UNTAG, *X264, "-g", "250", *AAC]),
    ("q20_aocgt_854x480_h264_mp3.mkv", "data/portraits/aoc_ref_audio_gt/gt_real.mp4",
     "854x480 pad, H.264 + MP3 in Matroska, 29.97 fps",
     ["-vf", pad(854, 480), *X264, "-g", "250", "-c:a", "libmp3lame", "-b:a", "128k"]),
]


def command(src: Path, dst: Path, opts: list[str], shared: Path | None = None) -> list[str]:
    if shared is not None:
        opts = [o.replace("{shared}", str(shared)) for o in opts]
    return ["ffmpeg", "-hide_banner", "-loglevel", "error", "-y", "-i", str(src), *opts, str(dst)]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default=str(Path(__file__).resolve().parents[1].parent / "shared"))
    ap.add_argument("--out", default="/work/scratch/variants")
    ap.add_argument("--list", action="store_true", help="print the commands, make nothing")
    ap.add_argument("--only", nargs="*", default=None, help="names (or prefixes such as v05) to make")
    ap.add_argument("--set", choices=("main", "heldout", "heldout2", "heldout3", "heldout4", "heldout5", "heldout6", "heldout7",
                                             "all"), default="all",
                    help="main: v01-v25 (tuned on); heldout: h01-h16 (checked only after the fixes); "
                         "heldout2: g01-g12 (after the Opus fix h04 prompted); heldout3: k01-k10 (after all of those); "
                         "heldout4: m01-m20 (after session 8's fixes); heldout5: n01-n20 (after those m01-m20 prompted); heldout6: p01-p20 (after n04's); heldout7: q01-q20 (after p19's)")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    chosen = {"main": VARIANTS, "heldout": HELDOUT, "heldout2": HELDOUT2, "heldout3": HELDOUT3, "heldout4": HELDOUT4,
              "heldout5": HELDOUT5, "heldout6": HELDOUT6, "heldout7": HELDOUT7,
              "all": VARIANTS + HELDOUT + HELDOUT2 + HELDOUT3 + HELDOUT4 + HELDOUT5 + HELDOUT6 + HELDOUT7}[a.set]
    for name, src, kind, opts in chosen:
        if a.only and not any(name.startswith(p) for p in a.only):
            continue
        cmd = command(Path(a.shared) / src, out / name, opts, Path(a.shared))
        if a.list:
            if opts and opts[-1] == ROTATE90:
                tmp = out / f"unrotated_{name}"
                cmd = command(Path(a.shared) / src, tmp, opts[:-1], Path(a.shared))
                copy = command(tmp, out / name, ["-c", "copy", "-metadata:s:v:0", "rotate=90"])
                print(f"# {name}: {kind}\n{shlex.join(cmd)}\n{shlex.join(copy)}\n")
                continue
            print(f"# {name}: {kind}\n{shlex.join(cmd)}\n")
            continue
        if (out / name).exists():
            continue
        print(name, flush=True)
        if opts and opts[-1] == ROTATE90:
            tmp = out / f"unrotated_{name}"
            subprocess.run(command(Path(a.shared) / src, tmp, opts[:-1], Path(a.shared)), check=True)
            subprocess.run(command(tmp, out / name, ["-c", "copy", "-metadata:s:v:0", "rotate=90"]), check=True)
            tmp.unlink()
            continue
        subprocess.run(cmd, check=True)


if __name__ == "__main__":
    main()
