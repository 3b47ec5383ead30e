"""sync.av_offset / sync.av_confidence: sign, known answers on the shipped clips, degenerate input.

Fast tests use synthetic signals (no Face Mesh) and the shipped example clips (examples/clips,
present on a fresh clone); the ``slow`` test measures shifted copies of real clips of ../shared and
skips with a reason when ../shared is absent. Importing the metric module registers the metrics.
"""

from __future__ import annotations

import numpy as np
import pytest

import avatar_eval.metrics.av_offset as M
from avatar_eval.errors import MetricUndefined
from avatar_eval.metrics.functional import av_offset as F
from avatar_eval.pipeline.context import ClipContext
from avatar_eval.testing import variants as V

FPS = 25.0


# -- synthetic signals: the sign convention and the search itself --------------------------------
def _smooth_noise(rng, n, fps=FPS):
    x = rng.standard_normal(n + 40)
    k = np.hanning(7)
    return np.convolve(x, k / k.sum(), mode="same")[20:-20]


def _audio_lagging(mouth, lag, rng, n_bands=8, noise=0.5):
    """Band signals that follow the mouth ``lag`` frames later (audio late: positive lag)."""
    n = len(mouth)
    out = np.empty((n, n_bands))
    for j in range(n_bands):
        src = np.roll(mouth, lag)
        if lag > 0:
            src[:lag] = 0.0
        elif lag < 0:
            src[lag:] = 0.0
        out[:, j] = (0.5 + 0.1 * j) * src + noise * rng.standard_normal(n)
    return out


@pytest.mark.parametrize("lag", [-12, -5, 0, 3, 9])
def test_positive_offset_means_audio_lags_video(lag):
    rng = np.random.default_rng(lag + 100)
    mouth = _smooth_noise(rng, 250)
    est = F.estimate_offset(mouth, _audio_lagging(mouth, lag, rng), FPS, max_shift=15)
    assert est.offset == lag
    assert abs(est.offset_refined - lag) <= 0.5
    assert est.offset_s == pytest.approx(lag / FPS)
    assert not est.at_edge
    assert est.confidence > 0.3 and est.z > 4


def test_unrelated_signals_give_low_confidence():
    rng = np.random.default_rng(1)
    mouth = _smooth_noise(rng, 250)
    related = F.estimate_offset(mouth, _audio_lagging(mouth, 4, rng), FPS)
    unrelated = F.estimate_offset(mouth, _audio_lagging(_smooth_noise(rng, 250), 4, rng), FPS)
    assert unrelated.confidence < 0.5 * related.confidence
    assert unrelated.z < 0.5 * related.z


def test_window_edge_is_flagged_and_the_wide_window_finds_it():
    rng = np.random.default_rng(2)
    mouth = _smooth_noise(rng, 300)
    bands = _audio_lagging(mouth, 22, rng)
    narrow = F.estimate_offset(mouth, bands, FPS, max_shift=15)
    wide = F.estimate_offset(mouth, bands, FPS, max_shift=F.WIDE_MAX_SHIFT)
    assert wide.offset == 22 and not wide.at_edge
    assert narrow.confidence < wide.confidence
    assert len(narrow.curve) == 31 and len(wide.curve) == 61


def test_log_mel_timing_and_audio_start():
    sr = 16000
    t = np.arange(3 * sr) / sr
    wav = np.where((t >= 1.0) & (t < 1.4), 0.5 * np.sin(2 * np.pi * 440 * t), 0.0).astype(np.float32)
    grid = np.arange(75) / FPS
    b = F.log_mel_at(wav, sr, grid, FPS)[:, 3]  # a band around 440 Hz
    rise = int(np.argmax(np.diff(b)))
    assert abs(rise + 1 - 25) <= 1  # the tone starts at 1.0 s = frame 25
    # audio sample 0 played 0.2 s after the video started: the tone is at 1.2 s on the video clock
    b2 = F.log_mel_at(wav, sr, grid, FPS, audio_start=0.2)[:, 3]
    assert int(np.argmax(np.diff(b2))) - rise == 5


def test_outer_lip_opening_units():
    p = np.zeros((2, 478, 2))
    p[:, 33], p[:, 133], p[:, 362], p[:, 263] = (0, 0), (20, 0), (60, 0), (80, 0)  # eye midpoints 60 px apart
    p[0, 0], p[0, 17] = (40, 100), (40, 112)
    p[1] = np.nan
    o = F.outer_lip_opening(p)
    assert o[0] == pytest.approx(12 / 60) and np.isnan(o[1])


# -- the shipped clips ---------------------------------------------------------------------------
NAMES = {"may": "may.mp4", "face5": "face5.mp4", "grid": "grid_bbaf2n"}


def _gt(clips, name):
    return clips / "gt" / ("grid_bbaf2n.mpg" if name == "grid" else NAMES[name])


def _shifted(clips, name):
    return clips / "audio_shift_0.5s" / ("grid_bbaf2n.mp4" if name == "grid" else NAMES[name])


def _measure(path):
    ctx = ClipContext(video_path=str(path))
    return {m.name: m.compute(ctx) for m in (M.AVOffset(), M.AVConfidence(), M.AVOffsetWide())}


@pytest.fixture(scope="module")
def shipped(clips, tmp_path_factory):
    d = tmp_path_factory.mktemp("avoffset")
    out = {}
    for name in NAMES:
        out[("gt", name)] = _measure(_gt(clips, name))
        out[("shift", name)] = _measure(_shifted(clips, name))
    # another clip's audio on the same video (cut or zero-padded to length)
    for video, audio in (("may", "face5"), ("grid", "may")):
        p = V.swap_audio(_gt(clips, video), _gt(clips, audio), d / f"{video}_with_{audio}.mp4")
        out[("swap", video)] = _measure(p)
    return out


def test_metric_metadata():
    assert M.AVOffset.name == "sync.av_offset" and M.AVOffset.units == "frames"
    assert M.AVOffset.higher_is_better is None and M.AVConfidence.higher_is_better is True
    assert (M.AVOffsetWide.quantity, M.AVOffsetWide.variant) == ("av_offset_wide", "paper")  # naming grammar
    from avatar_eval.metrics.registry import get_metric_class, resolve_metrics

    assert get_metric_class("sync.av_confidence") is M.AVConfidence
    assert resolve_metrics(["sync"]) == ["sync.av_offset", "sync.av_confidence"]


@pytest.mark.parametrize("name", list(NAMES))
def test_audio_delayed_half_a_second_reads_plus_half_a_second(shipped, name):
    """examples/clips/audio_shift_0.5s: the audio delayed by 0.5 s = 12.5 frames at 25 fps."""
    gt = shipped[("gt", name)]["sync.av_offset"].value
    for metric in ("sync.av_offset", "sync.av_offset_wide"):
        mv = shipped[("shift", name)][metric]
        # relative to the source clip's own reading: does not assume the source is in sync
        assert abs(mv.value - gt - 12.5) <= 2, (name, metric, mv.value, gt)
        assert mv.value > 0 and mv.details["offset_s"] == pytest.approx(mv.value / 25.0)
        assert "audio lags video" in mv.details["sign"]
    if name != "may":  # see test_gt_clips_read_in_sync
        assert abs(shipped[("shift", name)]["sync.av_offset"].value - 12.5) <= 2


def test_gt_clips_read_in_sync(shipped):
    for name in ("face5", "grid"):
        mv = shipped[("gt", name)]["sync.av_offset"]
        assert abs(mv.value) <= 2, (name, mv.value)
        assert mv.details["window_frames"] == [-15, 15] and len(mv.details["curve"]) == 31
    # may.mp4 (HDTF, from Real3DPortrait) reads +3 frames (audio 0.12 s late); its delayed copy reads
    # 0.5 s more (test above). Other HDTF clips read +3 to +6 the same way while lab-recorded GRID and
    # audio-driven generated clips read 0 to +2 (docs/theval.md, "Offline AV offset"): we take it for
    # the source's own offset, which no weights-free reference here can confirm or refute.
    assert 0 <= shipped[("gt", "may")]["sync.av_offset"].value <= 4


@pytest.mark.parametrize("video", ["may", "grid"])
def test_swapped_audio_gives_lower_confidence(shipped, video):
    own = shipped[("gt", video)]["sync.av_confidence"]
    swapped = shipped[("swap", video)]["sync.av_confidence"]
    assert swapped.value < own.value - 0.05, (video, own.value, swapped.value)
    assert swapped.value < 0.3
    assert swapped.details["z"] < own.details["z"]


def test_confidence_and_offset_share_one_estimate(shipped):
    r = shipped[("gt", "grid")]
    assert r["sync.av_confidence"].value == pytest.approx(r["sync.av_offset"].details["confidence"])
    assert r["sync.av_confidence"].details["offset_frames"] == r["sync.av_offset"].value


def test_window_option(clips):
    ctx = ClipContext(video_path=str(_gt(clips, "grid")), options={"av_offset_max_shift": 5})
    mv = M.AVOffset().compute(ctx)
    assert mv.details["window_frames"] == [-5, 5] and len(mv.details["curve"]) == 11


# -- degenerate input: skipped as undefined, through the runner ----------------------------------
@pytest.fixture(scope="module")
def degenerate(clips, tmp_path_factory):
    from avatar_eval.pipeline.manifest import Manifest, Sample
    from avatar_eval.pipeline.runner import RunConfig, run

    d = tmp_path_factory.mktemp("avoffset_degenerate")
    src = _gt(clips, "grid")
    made = {
        "frozen": clips / "frozen" / "grid_bbaf2n.mp4",
        "muted": V.mute(src, d / "muted.mp4"),
        "noaudio": V.strip_audio(src, d / "noaudio.mp4"),
        "black": V.black(src, d / "black.mp4"),
        "short": V.first_frames(_gt(clips, "face5"), d / "short.mp4", 30),  # 1.2 s, all speech
    }
    samples = [Sample(id=k, models={"m": str(v)}) for k, v in made.items()]
    store = run(Manifest(samples), RunConfig(metrics=["sync.av_offset", "sync.av_confidence"],
                                             out_dir=str(d / "run"), workers=1, reports=False), progress=False)
    return {(r.sample_id, r.metric): r for r in store.records()}


@pytest.mark.parametrize("sample, why", [
    ("frozen", "mouth does not move"),
    ("muted", "of speech"),
    ("noaudio", "no audio track"),
    ("black", "face found in 0 of"),
    ("short", "too short"),
])
def test_degenerate_input_is_skipped_as_undefined(degenerate, sample, why):
    for metric in ("sync.av_offset", "sync.av_confidence"):
        r = degenerate[(sample, metric)]
        assert (r.status, r.reason) == ("skipped", "undefined"), (sample, metric, r.status, r.message)
        assert why in r.message, r.message


def test_undefined_is_raised_directly(clips):
    with pytest.raises(MetricUndefined, match="mouth does not move"):
        M.AVOffset().compute(ClipContext(video_path=str(clips / "frozen" / "may.mp4")))


# -- real clips of ../shared, shifted with PyAV (slow) -------------------------------------------
SHIFTS = (-0.5, -0.2, 0.0, 0.2, 0.5, 1.0)


@pytest.mark.slow
def test_known_offsets_on_shared_clips(shared_data, tmp_path):
    """12 real clips (7 GRID + 5 talking heads) × audio shifts of −0.5 … +1.0 s, ±30-frame window.

    Two known answers that do not depend on a source clip being in sync — the estimate moves by the
    shift (relative), and the lab-recorded GRID clips read 0 — and one that does (nominal, reported
    in the message; see docs/theval.md for the full table and why some sources read +3 frames).
    """
    srcs = sorted((shared_data / "talking_head" / "grid").glob("*.mpg"))
    srcs += [shared_data / "talking_head" / f for f in (
        "real3dportrait_May_5s.mp4", "retalking_face_1.mp4", "retalking_face_2.mp4", "retalking_face_4.mp4",
        "retalking_face_5.mp4")]
    assert len(srcs) >= 10, srcs
    est: dict[tuple[str, float], float] = {}
    fps: dict[str, float] = {}
    conf: dict[tuple[str, str], float] = {}
    for i, src in enumerate(srcs):
        for s in SHIFTS:
            p = V.shift_audio(src, tmp_path / f"{src.stem}_{s:+.1f}.mp4", s)
            ctx = ClipContext(video_path=str(p))
            est[(src.stem, s)] = M.AVOffsetWide().compute(ctx).value
            fps[src.stem] = ctx.fps
            if s == 0.0:
                conf[(src.stem, "own")] = M.AVConfidence().compute(ctx).value
        other = srcs[(i + len(srcs) // 2) % len(srcs)]
        p = V.swap_audio(src, other, tmp_path / f"{src.stem}_swap.mp4")
        conf[(src.stem, "swap")] = M.AVConfidence().compute(ClipContext(video_path=str(p))).value
    names = [s.stem for s in srcs]
    rel = [abs(est[(n, s)] - est[(n, 0.0)] - s * fps[n]) <= 2 for n in names for s in SHIFTS if s]
    nominal = [abs(est[(n, s)] - s * fps[n]) <= 2 for n in names for s in SHIFTS]
    grid = [n for n, p in zip(names, srcs) if p.parent.name == "grid"]
    grid_nominal = [abs(est[(n, s)] - s * fps[n]) <= 2 for n in grid for s in SHIFTS]
    table = "; ".join(f"{n}: " + " ".join(f"{est[(n, s)]:+.0f}" for s in SHIFTS) for n in names)
    msg = (f"relative {sum(rel)}/{len(rel)}, nominal {sum(nominal)}/{len(nominal)}, GRID nominal "
           f"{sum(grid_nominal)}/{len(grid_nominal)}; estimates at {SHIFTS} s: {table}")
    assert sum(rel) >= 0.85 * len(rel), msg
    assert sum(grid_nominal) >= 0.9 * len(grid_nominal), msg
    assert all(abs(est[(n, 0.0)]) <= 2 for n in grid), msg
    own = np.median([conf[(n, "own")] for n in names])
    swapped = np.median([conf[(n, "swap")] for n in names])
    assert swapped < own - 0.05, (own, swapped, conf)


@pytest.mark.slow
def test_nominal_accuracy_on_sources_in_sync_by_construction(shared_data):
    """≥ 90 % within ±2 frames of the nominal shift on 10 sources in sync by construction.

    The sources are chosen for how they were made, not for what they read: the 7 lab-recorded GRID
    sentences and 3 of the audio-driven generations of ``same_audio_6_models`` (each frame rendered
    from the audio at that time). One Face Mesh track per source; the audio array is shifted by
    −0.5 … +1.0 s (zero-filled, as ``testing.variants.shift_audio`` does, without the re-encode) and
    the offset searched with the default ±15 window (±30 for +1.0 s, as ``sync.av_offset_wide``).
    Clips of unknown sync (HDTF sources read +3 … +6 frames at every shift) are in the benchmark's
    table, docs/theval.md.
    """
    srcs = sorted((shared_data / "talking_head" / "grid").glob("*.mpg"))
    srcs += [shared_data / "same_audio_6_models" / f"{m}.mp4" for m in ("anitalker", "float", "hallo")]
    srcs = [p for p in srcs if p.exists()]
    if len(srcs) < 10:
        pytest.skip(f"only {len(srcs)} of the 10 in-sync sources are in {shared_data}")
    hits, table = [], []
    for src in srcs:
        ctx = ClipContext(video_path=str(src))
        sig = ctx.get("av_offset.signals")
        wav, sr = ctx.get("audio16k")
        row = []
        for s in SHIFTS:
            k = int(round(abs(s) * sr))
            moved = np.zeros_like(wav)
            if s >= 0:
                moved[k:] = wav[: len(wav) - k]
            else:
                moved[: len(wav) - k] = wav[k:]
            bands = F.log_mel_at(moved, sr, sig.grid, sig.fps, audio_start=sig.audio_start)
            window = F.WIDE_MAX_SHIFT if abs(s) > 0.5 else F.DEFAULT_MAX_SHIFT
            est = F.estimate_offset(sig.mouth, bands, sig.fps, window)
            row.append(est.offset)
            hits.append(abs(est.offset - s * sig.fps) <= 2)
        table.append(f"{src.stem}: " + " ".join(f"{o:+d}" for o in row))
        assert abs(row[SHIFTS.index(0.0)]) <= 2, table[-1]
    # measured 78/78 (docs/theval.md); 90 % is the bar, not a fitted tolerance
    assert sum(hits) >= 0.9 * len(hits), f"{sum(hits)}/{len(hits)}: " + "; ".join(table)
