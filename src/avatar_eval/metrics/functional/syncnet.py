"""SyncNet evaluation formulas (joonson/syncnet_python), pure numpy.

* :func:`mfcc` — ``python_speech_features.mfcc`` with its defaults (25 ms Hann-less windows,
  10 ms hop → 100 Hz, 13 cepstra, 26 mel filters, NFFT 512, pre-emphasis 0.97, lifter 22, log
  energy as c0), on int16-valued samples as ``scipy.io.wavfile`` returns them.
* :func:`sync_windows` — 5 video frames (0.2 s at 25 fps) against 20 MFCC frames, one window per
  video frame ``i``: frames ``i..i+4`` and MFCC rows ``4i..4i+19``.
* :func:`pairwise_offsets` / :func:`offset_and_confidence` — distance of each video feature to
  the audio features shifted by −vshift..+vshift (zero-padded, ``F.pairwise_distance`` with its
  eps=1e-6), mean over frames per shift; LSE-D = min, LSE-C = median − min, offset = vshift − argmin.
* Face tracking and cropping as ``run_pipeline.py``: IoU tracker, ``min_track``, interpolation,
  minimum face size, median-filtered crop boxes (kernel 13), crop scale 0.4, pad value 110, 224².
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

VIDEO_FPS = 25
AUDIO_SR = 16000
SAMPLES_PER_FRAME = AUDIO_SR // VIDEO_FPS  # 640
MFCC_PER_FRAME = 4  # 100 Hz / 25 fps


# ---- audio ----------------------------------------------------------------------------------

def to_int16_values(wav: np.ndarray) -> np.ndarray:
    """Float samples in [−1, 1] → the int16 values ``ffmpeg -acodec pcm_s16le`` writes."""
    return np.clip(np.rint(np.asarray(wav, dtype=np.float64) * 32768.0), -32768, 32767).astype(np.int16)


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))


def _hz2mel(hz):
    return 2595 * np.log10(1 + np.asarray(hz, dtype=np.float64) / 700.0)


def _mel2hz(mel):
    return 700 * (10 ** (np.asarray(mel, dtype=np.float64) / 2595.0) - 1)


def mel_filterbank(nfilt: int = 26, nfft: int = 512, samplerate: int = AUDIO_SR, lowfreq: float = 0,
                   highfreq: float | None = None) -> np.ndarray:
    highfreq = highfreq or samplerate / 2
    mel = np.linspace(_hz2mel(lowfreq), _hz2mel(highfreq), nfilt + 2)
    bins = np.floor((nfft + 1) * _mel2hz(mel) / samplerate)
    fb = np.zeros((nfilt, nfft // 2 + 1))
    for j in range(nfilt):
        a, b, c = bins[j], bins[j + 1], bins[j + 2]
        for i in range(int(a), int(b)):
            fb[j, i] = (i - a) / (b - a)
        for i in range(int(b), int(c)):
            fb[j, i] = (c - i) / (c - b)
    return fb


def _dct2_ortho(x: np.ndarray) -> np.ndarray:
    from scipy.fftpack import dct

    return dct(x, type=2, axis=1, norm="ortho")


def mfcc(signal: np.ndarray, samplerate: int = AUDIO_SR, winlen: float = 0.025, winstep: float = 0.01,
         numcep: int = 13, nfilt: int = 26, nfft: int = 512, preemph: float = 0.97, ceplifter: int = 22) -> np.ndarray:
    """(n_frames, numcep) MFCCs, numerically as ``python_speech_features.mfcc`` (v0.6)."""
    sig = np.asarray(signal)
    if sig.ndim != 1:
        raise ValueError("mono signal expected")
    sig = sig.astype(np.float64)
    if sig.size == 0:
        raise ValueError("empty signal")
    sig = np.append(sig[0], sig[1:] - preemph * sig[:-1])
    flen = _round_half_up(winlen * samplerate)
    fstep = _round_half_up(winstep * samplerate)
    n = sig.size
    nframes = 1 if n <= flen else 1 + int(math.ceil((1.0 * n - flen) / fstep))
    padlen = int((nframes - 1) * fstep + flen)
    padded = np.concatenate([sig, np.zeros(padlen - n)])
    idx = np.arange(flen)[None, :] + fstep * np.arange(nframes)[:, None]
    frames = padded[idx]
    mag = np.abs(np.fft.rfft(frames, nfft))
    pspec = (1.0 / nfft) * mag ** 2
    energy = pspec.sum(1)
    eps = np.finfo(float).eps
    energy = np.where(energy == 0, eps, energy)
    feat = pspec @ mel_filterbank(nfilt, nfft, samplerate).T
    feat = np.where(feat == 0, eps, feat)
    cep = _dct2_ortho(np.log(feat))[:, :numcep]
    lift = 1 + (ceplifter / 2.0) * np.sin(np.pi * np.arange(numcep) / ceplifter)
    cep = cep * lift
    cep[:, 0] = np.log(energy)
    return cep


# ---- windows --------------------------------------------------------------------------------

def sync_windows(n_video_frames: int, n_audio_samples: int) -> int:
    """Number of 5-frame windows SyncNetInstance.evaluate scores: ``min(T, floor(S/640)) − 5``."""
    min_length = min(int(n_video_frames), int(n_audio_samples // SAMPLES_PER_FRAME))
    return max(0, min_length - 5)


def audio_windows(mfcc_feats: np.ndarray, n_windows: int) -> np.ndarray:
    """(n_windows, 13, 20) MFCC windows (rows 4i..4i+19 transposed to cepstra × time)."""
    m = np.asarray(mfcc_feats)
    out = np.stack([m[MFCC_PER_FRAME * i: MFCC_PER_FRAME * i + 20].T for i in range(n_windows)]) if n_windows else np.zeros((0, m.shape[1], 20))
    if out.shape[-1] != 20:
        raise ValueError("audio shorter than the video windows")
    return out


def video_window_starts(n_windows: int) -> np.ndarray:
    return np.arange(n_windows)


# ---- offsets ----------------------------------------------------------------------------------

def pairwise_offsets(video_feats: np.ndarray, audio_feats: np.ndarray, vshift: int = 15, eps: float = 1e-6) -> np.ndarray:
    """(N, 2·vshift+1) distances ``‖v_i − a_{i+j−vshift} + eps‖`` with zero audio features outside
    the clip (``calc_pdist``: ``F.pad`` then ``F.pairwise_distance``)."""
    v = np.asarray(video_feats, dtype=np.float64)
    a = np.asarray(audio_feats, dtype=np.float64)
    if v.shape != a.shape:
        raise ValueError(f"video {v.shape} and audio {a.shape} features differ")
    n = v.shape[0]
    win = 2 * vshift + 1
    ap = np.concatenate([np.zeros((vshift, a.shape[1])), a, np.zeros((vshift, a.shape[1]))])
    d = np.empty((n, win))
    for i in range(n):
        d[i] = np.linalg.norm(v[i][None, :] - ap[i:i + win] + eps, axis=1)
    return d


@dataclass
class SyncResult:
    offset: int
    min_dist: float  # LSE-D
    confidence: float  # LSE-C
    mean_dists: np.ndarray = field(repr=False)  # (2·vshift+1,)
    n_windows: int = 0


def offset_and_confidence(dists: np.ndarray, vshift: int = 15) -> SyncResult:
    """From the (N, 2·vshift+1) distance matrix: mean over frames per shift, LSE-D = its minimum,
    LSE-C = median − minimum (``torch.median``: the lower middle value), offset = vshift − argmin."""
    d = np.asarray(dists, dtype=np.float64)
    if d.ndim != 2 or d.shape[0] == 0:
        raise ValueError("no sync windows")
    if d.shape[1] != 2 * vshift + 1:
        raise ValueError(f"expected {2 * vshift + 1} shifts, got {d.shape[1]}")
    mdist = d.mean(0)
    idx = int(np.argmin(mdist))
    minval = float(mdist[idx])
    med = float(np.sort(mdist)[(mdist.size - 1) // 2])
    return SyncResult(offset=vshift - idx, min_dist=minval, confidence=med - minval, mean_dists=mdist, n_windows=d.shape[0])


def framewise_confidence(dists: np.ndarray, result: SyncResult, kernel: int = 9) -> np.ndarray:
    """``fconfm``: median − per-frame distance at the best shift, median-filtered (kernel 9)."""
    from scipy.signal import medfilt

    fdist = np.asarray(dists)[:, int(np.argmin(result.mean_dists))]
    fconf = float(np.sort(result.mean_dists)[(result.mean_dists.size - 1) // 2]) - fdist
    return medfilt(fconf, kernel_size=kernel)


# ---- frame rate ------------------------------------------------------------------------------

def resample_indices(n_frames: int, fps: float, target_fps: float = VIDEO_FPS) -> np.ndarray:
    """Source frame shown at each output frame when converting to ``target_fps`` (nearest frame
    in time, as FFmpeg's fps conversion with round-to-nearest). Identity when fps == target."""
    if n_frames <= 0:
        return np.zeros(0, dtype=np.int64)
    if abs(fps - target_fps) < 1e-6:
        return np.arange(n_frames)
    duration = n_frames / fps
    n_out = int(round(duration * target_fps))
    t = np.arange(n_out) / target_fps
    return np.clip(np.floor(t * fps + 0.5).astype(np.int64), 0, n_frames - 1)


# ---- face tracking (run_pipeline.py) --------------------------------------------------------------

def iou(a, b) -> float:
    xa, ya = max(a[0], b[0]), max(a[1], b[1])
    xb, yb = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, xb - xa) * max(0, yb - ya)
    area_a = (a[2] - a[0]) * (a[3] - a[1])
    area_b = (b[2] - b[0]) * (b[3] - b[1])
    return inter / float(area_a + area_b - inter)


@dataclass
class FaceTrackBoxes:
    frames: np.ndarray  # (n,) consecutive frame indices
    boxes: np.ndarray  # (n, 4) x1 y1 x2 y2, linearly interpolated over missed frames


def track_faces(dets: list[list[tuple[float, float, float, float]]], *, min_track: int = 100,
                num_failed_det: int = 25, min_face_size: float = 100, iou_thres: float = 0.5,
                frame_offset: int = 0) -> list[FaceTrackBoxes]:
    """``track_shot``: greedily chain detections whose IoU with the track's last box exceeds 0.5
    within ``num_failed_det`` frames; keep tracks longer than ``min_track`` detections whose mean
    box width or height exceeds ``min_face_size``. ``dets[k]`` are the boxes of frame
    ``frame_offset + k``. Reproduces the reference's list handling, including that a face taken
    from a frame's list makes the scan skip the face after it in that frame.
    """
    pool = [[(frame_offset + k, tuple(map(float, b[:4]))) for b in fr] for k, fr in enumerate(dets)]
    tracks: list[FaceTrackBoxes] = []
    while True:
        track: list[tuple[int, tuple]] = []
        for frame_faces in pool:
            i = 0
            while i < len(frame_faces):
                f, box = frame_faces[i]
                if not track:
                    track.append((f, box))
                    frame_faces.pop(i)
                elif f - track[-1][0] <= num_failed_det:
                    if iou(box, track[-1][1]) > iou_thres:
                        track.append((f, box))
                        frame_faces.pop(i)
                else:
                    break
                i += 1
        if not track:
            break
        if len(track) > min_track:
            fn = np.array([t[0] for t in track])
            bb = np.array([t[1] for t in track], dtype=np.float64)
            fi = np.arange(fn[0], fn[-1] + 1)
            if len(fn) > 1 and np.all(np.diff(fn) > 0):
                bi = np.stack([np.interp(fi, fn, bb[:, j]) for j in range(4)], axis=1)
            else:  # duplicated frame numbers: scipy interp1d keeps the last value per x
                from scipy.interpolate import interp1d

                bi = np.stack([interp1d(fn, bb[:, j])(fi) for j in range(4)], axis=1)
            if max(np.mean(bi[:, 2] - bi[:, 0]), np.mean(bi[:, 3] - bi[:, 1])) > min_face_size:
                tracks.append(FaceTrackBoxes(fi, bi))
    return tracks


@dataclass
class CropTrack:
    frames: np.ndarray  # frame indices (25-fps timeline)
    x: np.ndarray  # smoothed centre x
    y: np.ndarray  # smoothed centre y
    s: np.ndarray  # smoothed half size


def smooth_track(track: FaceTrackBoxes, kernel: int = 13) -> CropTrack:
    """``crop_video``: s = max(h, w)/2, centre (x, y), each median-filtered (scipy medfilt, zero
    padded at the ends, kernel 13)."""
    from scipy.signal import medfilt

    b = track.boxes
    s = np.maximum(b[:, 3] - b[:, 1], b[:, 2] - b[:, 0]) / 2
    y = (b[:, 1] + b[:, 3]) / 2
    x = (b[:, 0] + b[:, 2]) / 2
    return CropTrack(track.frames, medfilt(x, kernel_size=kernel), medfilt(y, kernel_size=kernel), medfilt(s, kernel_size=kernel))


def crop_face(frame: np.ndarray, x: float, y: float, s: float, crop_scale: float = 0.4, size: int = 224,
              pad_value: int = 110) -> np.ndarray:
    """One SyncNet crop: pad by ``int(s(1+2cs))`` with 110, take rows [my−s, my+s(1+2cs)) and columns
    [mx−s(1+cs), mx+s(1+cs)), resize to 224² (bilinear, cv2.resize default)."""
    import cv2

    bsi = int(s * (1 + 2 * crop_scale))
    img = np.pad(frame, ((bsi, bsi), (bsi, bsi), (0, 0)), "constant", constant_values=pad_value)
    my, mx = y + bsi, x + bsi
    face = img[int(my - s): int(my + s * (1 + 2 * crop_scale)), int(mx - s * (1 + crop_scale)): int(mx + s * (1 + crop_scale))]
    if face.size == 0:
        raise ValueError("empty face crop")
    return cv2.resize(face, (size, size))


def track_audio_span(frames: np.ndarray, fps: int = VIDEO_FPS, sr: int = AUDIO_SR) -> tuple[int, int]:
    """Audio samples of a track: ``[first/fps, (last+1)/fps)`` (the reference cuts with ffmpeg -ss/-to)."""
    return int(round(frames[0] / fps * sr)), int(round((frames[-1] + 1) / fps * sr))
