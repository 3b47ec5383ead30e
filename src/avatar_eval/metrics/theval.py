"""THEval landmark/audio metrics: lip dynamics, eyebrow dynamics, silent-lip stability, lip-sync,
and head-motion dynamics from face-mesh geometry.

Each has a ``paper`` variant (the published definition, default) and, where the public code
(Newbyl/THEval @ cfe23fe) differs, a ``compat`` variant (name suffix ``.compat``) that follows
that script's decoder output (OpenCV's or decord's pixels, ``io.video.PIXELS``), frame size, Face
Mesh settings and formula. See docs/theval.md.
The quality metrics (TOPIQ/MUSIQ) and FaceXFormer head motion live in ``theval_quality``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

import numpy as np

from ..errors import MetricUndefined
from ..options import THEvalOptions, family_options
from ..pipeline.artifacts import artifact, register_frame_artifact
from ..pipeline.builtin_artifacts import require_audio
from . import functional as _f  # noqa: F401
from .base import Metric, MetricValue
from .functional import theval as F
from .registry import register, register_suite

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.context import ClipContext
    from ..regions.face_mesh import FaceTrack


# -- compat landmark tracks (one per official script's settings) ----------------------------
# Every compat track is fed the pixels the official script's reader returns (``io.video.PIXELS``):
# OpenCV's for three scripts, decord's for lip_sync.py. They are converted from the same decoded
# frame as ``frame.rgb`` (no second decode); on untagged 8-bit 4:2:0 clips they are ``frame.rgb``
# itself, and a compat track with the settings of a paper track is then shared with it.
def _mesh(**kw):
    def factory(ctx: "ClipContext"):
        from ..pipeline.builtin_artifacts import face_mesh_analyzer

        return face_mesh_analyzer(ctx, **kw)

    return factory


register_frame_artifact(
    "face_mesh.theval_full",
    _mesh(pixels="opencv", refine=True),
    "Face Mesh as THEval eyebrow_dynamics.py: OpenCV's pixels (BT.601 whatever the tags), full "
    "resolution, refine on (shared with `face_mesh` where the pixels agree).",
)
register_frame_artifact(
    "face_mesh.theval_256",
    _mesh(pixels="opencv", refine=True, resize=(256, 256)),
    "Face Mesh as THEval lip_dynamics.py: OpenCV's pixels resized to 256×256 (INTER_LINEAR, aspect "
    "not kept), refine on.",
)
def _sync_mesh(ctx: "ClipContext"):
    from ..io.compat_readers import decord_index_map
    from ..pipeline.builtin_artifacts import face_mesh_analyzer

    feed = decord_index_map(ctx.video_path, ctx.info.n_frames)
    return face_mesh_analyzer(ctx, pixels="decord", refine=False, swap_rb=True, feed=feed)


register_frame_artifact(
    "face_mesh.theval_sync",
    _sync_mesh,
    "Face Mesh as THEval lip_sync.py: decord's pixels, full resolution, R/B swapped (decord RGB + "
    "COLOR_BGR2RGB), refine off, frames in the order decord returns them (io/compat_readers.py).",
)


@artifact("audio.ffmpeg_cli_skip", "Samples at the start of the video's audio track that the ffmpeg command line "
          "(pydub, moviepy) drops and PyAV keeps: 0 but for Opus in Matroska/WebM (io/compat_readers.py); 0 for a "
          "manifest audio file, which is read as it is.")
def _cli_skip(ctx: "ClipContext") -> int:
    if ctx.audio_path:
        return 0
    from ..io.compat_readers import ffmpeg_cli_extra_skip

    return ffmpeg_cli_extra_skip(ctx.video_path)


@artifact("audio44k.ffmpeg_cli", "The int16 stereo 44.1 kHz samples moviepy 1.0.3 reads from the ffmpeg command line "
          "(`-ar 44100 -ac 2 -f s16le`) for the video's track, made with libswresample's defaults as the command line "
          "makes them (io/compat_readers.ffmpeg_cli_pcm), the Opus pre-skip dropped as the command line drops it.")
def _audio44k_cli(ctx: "ClipContext") -> tuple[np.ndarray, int]:
    from ..io.compat_readers import ffmpeg_cli_pcm

    return ffmpeg_cli_pcm(ctx.video_path, 44100, 2, skip=ctx.get("audio.ffmpeg_cli_skip")), 44100


@artifact("vad.theval_silent", "VAD as silent_lip_stability.py sees it: pydub's decode (the ffmpeg command line) at "
          "the track's rate, resampled to 16 kHz as silero's read_audio does (torchaudio's sinc resampler).")
def _vad_silent(ctx: "ClipContext") -> list[tuple[float, float]]:
    from ..audio.resample import resample_like_torchaudio
    from ..audio.vad import speech_segments
    from ..io.video import decode_audio

    skip = ctx.get("audio.ffmpeg_cli_skip")
    if not skip and not ctx.audio_path and ctx.info.audio_rate == 16000:
        return ctx.get("vad")  # read_audio does not resample: the default VAD's input, bit for bit
    model = family_options(ctx.options, THEvalOptions).vad_model
    wav, sr = decode_audio(ctx.audio_path or ctx.video_path, None, skip=skip)
    if sr == 16000:
        return ctx.get("vad") if not skip else speech_segments(wav, sr, model=model)
    return speech_segments(resample_like_torchaudio(wav, sr, 16000), 16000, model=model)


@artifact("audio44k.moviepy", "Audio as lip_sync.py reads it: moviepy 1.0.3's 44.1 kHz export of the video's "
          "track, replayed (io/compat_readers.py); a manifest audio file is read as it is.")
def _audio_moviepy(ctx: "ClipContext") -> tuple[np.ndarray, int]:
    from ..io.compat_readers import (
        MoviepyExportError,
        ffmpeg_listed_duration,
        moviepy_audio_export,
    )

    if ctx.audio_path:  # --audio_folder: librosa.load of the given file
        return ctx.get("audio44k")
    wav, sr = ctx.get("audio44k.ffmpeg_cli")
    try:
        return moviepy_audio_export(wav, sr, ffmpeg_listed_duration(ctx.video_path)), sr
    except MoviepyExportError as e:
        raise MetricUndefined(str(e)) from e


@artifact("vad.theval_sync", "VAD as lip_sync.py sees it: on the 44.1 kHz export, resampled back to 16 kHz.")
def _vad_sync(ctx: "ClipContext") -> list[tuple[float, float]]:
    from ..audio.resample import resample_like_torchaudio
    from ..audio.vad import speech_segments

    # silero's read_audio of the exported WAV: the channel mean (the export's mono, exactly) resampled
    # with torchaudio's sinc filter (audio/resample.py). Until the export was the official bytes
    # (ffmpeg_cli_pcm) this stayed on resample_poly, which then agreed better (76 of 80 clips within
    # 1 % against 75).
    wav, sr = ctx.get("audio44k.moviepy")
    return speech_segments(resample_like_torchaudio(wav, sr, 16000), 16000,
                           model=family_options(ctx.options, THEvalOptions).vad_model)


@artifact("theval.silent_frames_compat", "Silent frame indices as silent_lip_stability.py computes them.")
def _silent_frames_compat(ctx: "ClipContext") -> np.ndarray:
    require_audio(ctx)  # info.n_frames is OpenCV's CAP_PROP_FRAME_COUNT (see io.video.probe)
    return F.silent_frames(ctx.get("vad.theval_silent"), ctx.info.n_frames, ctx.info.fps)


def _silent_mesh(ctx: "ClipContext"):
    from ..io.compat_readers import opencv_seek_map
    from ..pipeline.builtin_artifacts import face_mesh_analyzer

    frames = [int(i) for i in ctx.get("theval.silent_frames_compat")]
    landed = opencv_seek_map(ctx.video_path, frames, ctx.info.n_frames)
    feed: list[int] = []
    for i in frames if landed is None else landed:  # the public code stops at the first failed read
        if i is None:
            break
        feed.append(i)
    return face_mesh_analyzer(ctx, pixels="opencv", refine=True, resize=(256, 256), feed=feed)


register_frame_artifact(
    "face_mesh.theval_silent",
    _silent_mesh,
    "Face Mesh as silent_lip_stability.py: OpenCV's pixels, only the silent frames, 256×256, refine on (the tracker "
    "sees non-consecutive frames, as the official script feeds it; on unindexed containers the "
    "frames its CAP_PROP_POS_FRAMES seeks land on, see io/compat_readers.py).",
)


def _need_face(track: "FaceTrack", what: str, at_least: int = 1) -> None:
    if track.n_present < at_least:
        raise MetricUndefined(
            f"{what}: face found in {track.n_present} of {track.n_frames} frames (need ≥ {at_least})"
        )


def _face_details(track: "FaceTrack") -> dict:
    d = {"n_frames": track.n_frames, "n_face_frames": track.n_present}
    if track.held_from is not None:  # the default track: still frames keep the last measured landmarks
        d["n_still_frames"] = track.n_held
    return d


class _THEval(Metric):
    family = "theval"
    protocol = "theval"
    estimator = "face-mesh"
    higher_is_better = None  # THEval scores every metric by closeness to GT
    #: the variant row's settings (see _VARIANTS)
    params: ClassVar[dict[str, Any]] = {}


# One class per quantity; its variants (paper / compat / offline) are rows of _VARIANTS below,
# whose ``params`` the class reads (pyiqa-style config table, as _DIMENSIONS in metrics/vbench.py).

# -- lip dynamics -------------------------------------------------------------------------------
class LipDynamics(_THEval):
    """params: ``track`` (face-mesh artifact), ``ddof``, ``no_face_zero`` (no face at all -> 0.0,
    as lip_dynamics.py) or else at least two frames with a face."""

    quantity = "lip_dynamics"

    def compute(self, ctx):
        p = self.params
        t = ctx.get(p["track"])
        if p["no_face_zero"]:
            if t.n_present == 0:
                return MetricValue(0.0, {**_face_details(t), "note": "no face: the public code returns 0.0"})
        else:
            _need_face(t, "lip dynamics", 2)
        lips = t.landmarks[:, list(F.LIP_INDICES), :2].astype(np.float64) * 256.0
        return MetricValue(F.lip_dynamics(lips, ddof=p["ddof"]), _face_details(t))


# -- eyebrow dynamics ---------------------------------------------------------------------------
class EyebrowDynamics(_THEval):
    """params: ``track``, ``ratios`` (functional.theval function of the pixel landmarks giving the
    left/right ratios: the vectorised form, or the script's own operation order for compat),
    ``formula`` (functional.theval function of the left/right ratios),
    ``min_faces`` (frames with a face below which the value is undefined; 0: no check)."""

    quantity = "eyebrow_dynamics"

    def compute(self, ctx):
        p = self.params
        t = ctx.get(p["track"])
        if p["min_faces"]:
            _need_face(t, "eyebrow dynamics", p["min_faces"])
        left, right = p["ratios"](t.pixels())
        return MetricValue(p["formula"](left, right), _face_details(t))


# -- silent-lip stability -----------------------------------------------------------------------
class SilentLipStability(_THEval):
    """params: ``compat`` (silent frames and the tracker fed only those frames as
    silent_lip_stability.py, 256×256 pixels, median(|x − mean|)) or the paper's MAD around the
    median on the default track."""

    quantity = "silent_lip_stability"

    def compute(self, ctx):
        require_audio(ctx)
        return self._compat(ctx) if self.params["compat"] else self._paper(ctx)

    def _paper(self, ctx):
        t = ctx.get("face_mesh")
        silent = F.silent_frames(ctx.get("vad"), t.n_frames, ctx.fps)
        if silent.size == 0:
            raise MetricUndefined("no silent run of ≥ 300 ms in the audio")
        opening = F.mouth_opening(t.pixels())[silent]
        n = int((~np.isnan(opening)).sum())
        if n < 2:
            raise MetricUndefined(f"{silent.size} silent frames but a face in only {n} of them (need ≥ 2)")
        return MetricValue(F.mad_median(opening), {"n_silent_frames": int(silent.size), "n_measured": n, **_face_details(t)})

    def _compat(self, ctx):
        frames = ctx.get("theval.silent_frames_compat")
        if frames.size == 0:
            raise MetricUndefined("no silent run of ≥ 300 ms (the public code writes NaN)")
        t = ctx.get("face_mesh.theval_silent")
        # the script's own operation order (per-frame np.linalg.norm): its floats bit for bit
        opening = F.mouth_opening_compat(t.landmarks[:, :, :2])
        n = int((~np.isnan(opening)).sum())
        if n < 2:
            raise MetricUndefined(f"face in {n} silent frames (need ≥ 2; the public code writes NaN)")
        return MetricValue(F.mad_mean_compat(opening), {"n_silent_frames": int(frames.size), "n_measured": n})


# -- lip-sync ---------------------------------------------------------------------------------
#: below this range of mouth openness over speech frames (in interocular units) the mouth is
#: considered still: min–max normalisation would turn tracker jitter into a "signal".
DEGENERATE_OPENNESS_RANGE = 0.02


class LipSync(_THEval):
    """params: ``track``, ``vad``, ``audio`` (artifacts), ``openness`` ("pixels": isotropic
    openness of the pixel landmarks; "normalised": lip_sync.py's normalised-coordinate openness),
    ``still_mouth_undefined`` (the paper variant refuses a mouth that does not move)."""

    quantity = "lip_sync"

    def compute(self, ctx):
        p = self.params
        require_audio(ctx)
        t = ctx.get(p["track"])
        wav, sr = ctx.get(p["audio"])
        n = t.n_frames
        times = np.arange(n) / ctx.fps
        o = F.lip_openness(t.pixels()) if p["openness"] == "pixels" else F.lip_openness_compat(t.landmarks)
        v = F.volume_at_frames(wav, sr, times, dtype=np.float32 if p.get("rms") == "librosa_float32" else None)
        sp = F.speech_mask(ctx.get(p["vad"]), n, ctx.fps)
        val, det = F.lip_sync_distance(o, v, sp)
        if np.isnan(val):
            if not p["still_mouth_undefined"]:
                raise MetricUndefined(
                    f"lip-sync undefined (public code: NaN): speech in {det['speech_ratio']:.0%} of frames, "
                    f"{det['n_speech_frames_with_face']} speech frames with a face"
                )
            raise MetricUndefined(
                f"lip-sync undefined: speech in {det['speech_ratio']:.0%} of frames (need ≥ 10 %), "
                f"{det['n_speech_frames_with_face']} speech frames with a face (need ≥ 2)"
            )
        if p["still_mouth_undefined"] and det["openness_range"] < DEGENERATE_OPENNESS_RANGE:
            raise MetricUndefined(
                f"lip-sync undefined: the mouth does not move during speech (openness range "
                f"{det['openness_range']:.4f} < {DEGENERATE_OPENNESS_RANGE}); per-clip min–max normalisation "
                "would score tracker jitter"
            )
        return MetricValue(val, det)


# -- head motion from face-mesh geometry ------------------------------------------------------
class HeadMotionMesh(_THEval):
    """THEval's head-motion formula on face-mesh geometry (the offline substitute for the paper's
    FaceXFormer estimator, which is ``theval.head_motion`` in metrics/theval_quality.py)."""

    quantity = "head_motion"

    def compute(self, ctx):
        t = ctx.get("face_mesh")
        _need_face(t, "head motion", 3)
        pres = t.present
        lm = t.landmarks[pres].astype(np.float64)
        xyz = lm * np.array([t.src_width, t.src_height, t.src_width], dtype=np.float64)
        pyr = F.mesh_head_pose(xyz)
        cx = (xyz[:, :, 0].min(1) + xyz[:, :, 0].max(1)) / 2
        cy = (xyz[:, :, 1].min(1) + xyz[:, :, 1].max(1)) / 2
        val = F.head_motion_dynamics(pyr[:, 0], pyr[:, 1], pyr[:, 2], cx, cy)
        return MetricValue(val, {**_face_details(t), "pose_std_deg": [float(x) for x in pyr.std(0)]})


class _Row(NamedTuple):
    """One registered metric: a variant of a quantity class."""

    name: str
    cls: type[_THEval]
    variant: str
    version: str
    display: str
    requires: tuple[str, ...]
    description: str
    params: dict[str, Any]


_V3 = "3"  # v2: the default face_mesh track holds still frames; v3: luma rule + key-frame refresh (issue 12)
#: v2 of eyebrow / silent-lip compat: the scripts' own operation order (per-frame np.linalg.norm,
#: left-to-right sums), so their floats bit for bit
#: v2 of lip-dynamics compat, v3 of eyebrow compat: interlaced frames converted as progressive ones,
#: as OpenCV's swscale does (io.video.to_rgb; held-out k09: -4.9 % and -3.3 % before)
#: v2 of lip-sync compat: decord's frames on AVI are the sequential decode (was shifted by the seek landing);
#: v3 of silent-lip compat (v2: the operation order above) and lip-sync compat: Opus in Matroska/WebM decoded as the ffmpeg command
#: line that pydub / moviepy call (the whole pre-skip dropped; io/compat_readers.ffmpeg_cli_extra_skip); lip-sync
#: compat also turns frames by the display matrix as decord does (io.video.decord_rotate); both convert
#: interlaced frames as progressive ones (io.video.to_rgb)
#: v3 of lip-dynamics compat, v4 of eyebrow and silent-lip compat: the OpenCV-pixel tracks take OpenCV's own
#: frames where PyAV's swscale does not convert the format as OpenCV's does (io.video.OpenCVFrames: 10-bit
#: 4:2:0; held-out g03 -1.15 %, +1.12 %, -26.4 % before, bit-identical after)
_OPENCV_LIP, _OPENCV_EYEBROW, _OPENCV_SILENT = "3", "4", "6"
#: (v5 of silent-lip compat: OpenCV's seeks past a timestamp gap land where OpenCV's pts-based frame numbers put
#: them, io/compat_readers._sequential; held-out n04, MPEG-4 in AVI with pts 0, 4, 5, ...: +48.6 % before;
#: v6: the same on indexed containers (MP4, Matroska), whose seeks may then step back, and the tracker fed the
#: frames in that order (FaceMeshAnalyzer feed); held-out p19, MPEG-4 in Matroska with dropped frames: -35.8 %)
#: v4 of lip-sync compat: moviepy's export replayed from the command line's own int16 stereo samples
#: (io/compat_readers.ffmpeg_cli_pcm, was: the mono track resampled with resample_poly), librosa's float32
#: RMS (functional.rms_librosa), silero's read_audio resampler for its VAD: 8 of 9 held-out clips
#: bit-identical (was 0; g08, 8 kHz: +1.19 % before, -3e-9 after)
_EXPORT = "4"
_VARIANTS: list[_Row] = [
    _Row("theval.lip_dynamics", LipDynamics, "paper", _V3, "Lip dynamics", ("face_mesh",),
         "Mean over the 780 lip-landmark distances of their std over time (ddof=1), 256-px units.",
         {"track": "face_mesh", "ddof": 1, "no_face_zero": False}),
    _Row("theval.lip_dynamics.compat", LipDynamics, "compat", _OPENCV_LIP, "Lip dynamics (compat)",
         ("face_mesh.theval_256",),
         "As lip_dynamics.py: 256×256 frames, np.std (ddof=0); no face at all -> 0.0.",
         {"track": "face_mesh.theval_256", "ddof": 0, "no_face_zero": True}),
    _Row("theval.eyebrow_dynamics", EyebrowDynamics, "paper", _V3, "Eyebrow dynamics", ("face_mesh",),
         "Paper: std over frames (ddof=1) of eyebrow–eye distance / inter-eye distance, mean of sides.",
         {"track": "face_mesh", "ratios": F.eyebrow_ratios, "formula": F.eyebrow_dynamics_paper, "min_faces": 2}),
    # eyebrow_dynamics.py: OpenCV's pixels, full res, refine on
    _Row("theval.eyebrow_dynamics.compat", EyebrowDynamics, "compat", _OPENCV_EYEBROW, "Eyebrow dynamics (compat)",
         ("face_mesh.theval_full",),
         "As eyebrow_dynamics.py: mean |Δ| of consecutive detected frames pooled over sides; no face -> 0.0.",
         {"track": "face_mesh.theval_full", "ratios": F.eyebrow_ratios_compat, "formula": F.eyebrow_dynamics_compat,
          "min_faces": 0}),
    _Row("theval.silent_lip_stability", SilentLipStability, "paper", _V3, "Silent lip stability", ("face_mesh", "vad"),
         "Paper: MAD around the median of the mouth opening over silent runs ≥ 300 ms.", {"compat": False}),
    _Row("theval.silent_lip_stability.compat", SilentLipStability, "compat", _OPENCV_SILENT, "Silent lip stability (compat)",
         ("vad.theval_silent", "theval.silent_frames_compat", "face_mesh.theval_silent"),
         "As silent_lip_stability.py: median(|x − mean|), 256×256 frames, tracker fed silent frames only.",
         {"compat": True}),
    _Row("theval.lip_sync", LipSync, "paper", _V3, "Lip sync", ("face_mesh", "vad", "audio16k"),
         "Mean |openness* − volume*| over speech frames (lower = better aligned); RGB frames, isotropic "
         "openness; undefined without speech (< 10 % of frames) or when the mouth does not move.",
         {"track": "face_mesh", "vad": "vad", "audio": "audio16k", "openness": "pixels",
          "still_mouth_undefined": True}),
    _Row("theval.lip_sync.compat", LipSync, "compat", _EXPORT, "Lip sync (compat)",
         ("face_mesh.theval_sync", "vad.theval_sync", "audio44k.moviepy"),
         "As lip_sync.py: colour-swapped frames, refine off, normalised-coordinate openness, 44.1 kHz RMS.",
         {"track": "face_mesh.theval_sync", "vad": "vad.theval_sync", "audio": "audio44k.moviepy",
          "openness": "normalised", "still_mouth_undefined": False, "rms": "librosa_float32"}),
    _Row("theval.head_motion.offline", HeadMotionMesh, "offline", _V3, "Head motion (mesh pose)", ("face_mesh",),
         "THEval head-motion formula on pitch/yaw/roll from face-mesh geometry (not FaceXFormer: a "
         "different estimator) and the landmark-box centre in pixels.", {}),
]


def _register_variants(rows: list[_Row]) -> dict[str, type[_THEval]]:
    out: dict[str, type[_THEval]] = {}
    for row in rows:
        # not the quantity class's own name: `avatar-eval metrics NAME` then points at the row
        cls_name = f"{row.cls.__name__}_{row.variant}"
        out[row.name] = register(type(cls_name, (row.cls,), {
            "name": row.name, "variant": row.variant, "version": row.version, "display": row.display,
            "requires": row.requires, "description": row.description, "params": row.params,
            "__module__": __name__, "__qualname__": cls_name}))
    return out


CLASSES = _register_variants(_VARIANTS)


PAPER = [
    "theval.global_aesthetics",
    "theval.face_quality",
    "theval.mouth_quality",
    "theval.lip_dynamics",
    "theval.head_motion",
    "theval.eyebrow_dynamics",
    "theval.silent_lip_stability",
    "theval.lip_sync",
]
COMPAT = [
    "theval.global_aesthetics",
    "theval.face_quality.compat",
    "theval.mouth_quality.compat",
    "theval.lip_dynamics.compat",
    "theval.head_motion",
    "theval.eyebrow_dynamics.compat",
    "theval.silent_lip_stability.compat",
    "theval.lip_sync.compat",
]
LANDMARK = ["theval.lip_dynamics", "theval.head_motion.offline", "theval.eyebrow_dynamics", "theval.silent_lip_stability", "theval.lip_sync"]
LANDMARK_COMPAT = ["theval.lip_dynamics.compat", "theval.eyebrow_dynamics.compat", "theval.silent_lip_stability.compat", "theval.lip_sync.compat"]


register_suite("theval", PAPER + ["theval.head_motion.offline"],
               "THEval, paper definitions (the 8 metrics; plus head motion from the mesh-pose estimator)")
register_suite("theval-compat", COMPAT, "THEval as the public code computes it (compat variants)")
register_suite("theval-landmarks", LANDMARK, "THEval metrics that need no downloaded weights (paper definitions)")
register_suite("theval-landmarks-compat", LANDMARK_COMPAT, "THEval landmark metrics, compat variants")
