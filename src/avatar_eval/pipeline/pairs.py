"""Pair pass: a generated clip and its GT clip decoded together, frame-aligned by a stated rule.

``pair_prepare(pair, metric_names)`` is what the runner calls before the pair metrics of a
(generated, GT) pair. Pass every metric the clip will compute (sample and dataset metrics too):
their frame artifacts are then fed to the generated clip in the same pass. It

1. plans the alignment (:func:`plan_alignment`; refuses bad pairs with :class:`InputError`);
2. decodes both clips in lockstep ONCE: every frame artifact the metrics need on either clip that
   is not computed yet is fed in this pass (so a clip whose context was not prepared before is
   still decoded once), and the pair analyzers get the aligned frame pairs (full-frame SSIM /
   PSNR / pixel cosine); a GT context already prepared for another model is decoded again here
   only when a full-frame pair metric needs its pixels;
3. compares the region crop videos (``region_crops`` of both clips) frame by frame, which reads
   the small lossless crop files, not the clips.

Alignment rule (documented in docs/jwbdh.md), options under ``ctx.options["pair"]`` of the GT or
generated context (GT wins):

* frame rate: equal within ``fps_tolerance`` (default 1 %) → frames are paired by index; else
  (``fps_mismatch="resample"``, default) each GT frame ``i`` (time ``i / fps_gt``) is paired with
  the generated frame ``round(i · fps_gen / fps_gt)`` (nearest in time; generated frames are
  skipped or repeated), or ``fps_mismatch="refuse"`` raises :class:`InputError`.
* length: pairs stop at the end of the shorter clip; the unpaired tail of the longer one is
  counted (``unpaired_gen`` / ``unpaired_gt``). If fewer than ``min_overlap`` (default 0.5) of the
  GT frames get a partner the pair is refused (likely a wrong pairing), unless ``min_overlap=0``.
* resolution: different sizes with the same aspect ratio (within ``aspect_tolerance``, 2 %) → the
  generated frame is resized to the GT size (``INTER_AREA`` when shrinking, else bilinear) for
  full-frame metrics; region crops are fixed-size squares on both sides anyway. Different aspect
  ratios are refused (crop or pad the clips to the GT framing first).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame, VideoInfo
    from .context import PairContext

DEFAULT_PAIR_OPTIONS: dict[str, Any] = {
    "fps_tolerance": 0.01,
    "fps_mismatch": "resample",  # or "refuse"
    "min_overlap": 0.5,
    "aspect_tolerance": 0.02,
    "frame_stride": 1,  # full-frame pair metrics on every n-th aligned pair
}


@dataclass
class Alignment:
    mode: str  # "index" | "time"
    gen_fps: float
    gt_fps: float
    gen_size: tuple[int, int]  # (w, h)
    gt_size: tuple[int, int]
    resize_gen: bool
    n_gen: int = 0
    n_gt: int = 0
    n_pairs: int = 0
    unpaired_gen: int = 0
    unpaired_gt: int = 0
    notes: list[str] = field(default_factory=list)

    def gen_index(self, gt_index: int) -> int:
        if self.mode == "index":
            return gt_index
        return int(round(gt_index * self.gen_fps / self.gt_fps))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["gen_size"] = list(self.gen_size)
        d["gt_size"] = list(self.gt_size)
        return d


def pair_options(pair: "PairContext") -> dict[str, Any]:
    opts = dict(DEFAULT_PAIR_OPTIONS)
    for ctx in (pair.gen, pair.gt):  # GT last: its options win
        opts.update((ctx.options or {}).get("pair") or {})
    return opts


def plan_alignment(gen: "VideoInfo", gt: "VideoInfo", options: dict | None = None) -> Alignment:
    o = dict(DEFAULT_PAIR_OPTIONS, **(options or {}))
    notes: list[str] = []
    rel = abs(gen.fps - gt.fps) / gt.fps
    if rel <= o["fps_tolerance"]:
        mode = "index"
    elif o["fps_mismatch"] == "refuse":
        raise InputError(
            f"frame rates differ: generated {gen.fps:.3f} fps vs GT {gt.fps:.3f} fps "
            "(pair option fps_mismatch='refuse'); resample one clip or allow 'resample'"
        )
    else:
        mode = "time"
        notes.append(f"fps differ ({gen.fps:.3f} vs GT {gt.fps:.3f}): GT frame i paired with generated "
                     f"frame round(i*{gen.fps:.3f}/{gt.fps:.3f})")
    ar_gen, ar_gt = gen.width / gen.height, gt.width / gt.height
    if abs(ar_gen - ar_gt) / ar_gt > o["aspect_tolerance"]:
        raise InputError(
            f"aspect ratios differ: generated {gen.width}x{gen.height} vs GT {gt.width}x{gt.height}; "
            "crop or pad the clips to the same framing first (no silent stretching)"
        )
    resize = (gen.width, gen.height) != (gt.width, gt.height)
    if resize:
        notes.append(f"generated frames resized {gen.width}x{gen.height} -> {gt.width}x{gt.height} for full-frame metrics")
    al = Alignment(mode, gen.fps, gt.fps, (gen.width, gen.height), (gt.width, gt.height), resize, notes=notes)
    # overlap check on the container frame counts (re-checked on the decoded counts after the pass)
    _check_overlap(al, gen.n_frames, gt.n_frames, o["min_overlap"])
    return al


def _n_pairs(al: Alignment, n_gen: int, n_gt: int) -> int:
    if al.mode == "index":
        return min(n_gen, n_gt)
    n = 0
    while n < n_gt and al.gen_index(n) < n_gen:
        n += 1
    return n


def _check_overlap(al: Alignment, n_gen: int, n_gt: int, min_overlap: float) -> None:
    if n_gen <= 0 or n_gt <= 0:
        return
    n = _n_pairs(al, n_gen, n_gt)
    if n < min_overlap * n_gt:
        raise InputError(
            f"only {n} of the GT's {n_gt} frames have a generated partner (generated clip: {n_gen} "
            f"frames at {al.gen_fps:.3f} fps; GT at {al.gt_fps:.3f} fps): below min_overlap={min_overlap}; "
            "is this the right GT clip?"
        )


def aligned_pairs(al: Alignment, n_gen: int, n_gt: int) -> np.ndarray:
    """(N, 2) int array of (generated index, GT index) pairs under ``al``."""
    n = _n_pairs(al, n_gen, n_gt)
    gt = np.arange(n)
    gen = gt if al.mode == "index" else np.array([al.gen_index(i) for i in gt], dtype=np.int64)
    return np.stack([gen, gt], axis=1).astype(np.int64) if n else np.zeros((0, 2), dtype=np.int64)


# ---------------------------------------------------------------------- pair artifacts
class PairAnalyzer:
    """Fed the aligned (generated, GT) frames of the lockstep pass."""

    #: needs the pixels of both clips (forces the lockstep decode)
    needs_frames: bool = True

    def __init__(self, pair: "PairContext", alignment: Alignment):
        self.pair = pair
        self.alignment = alignment

    def update(self, k: int, gen: "Frame", gt: "Frame") -> None:
        raise NotImplementedError

    def finalize(self) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class PairArtifactSpec:
    name: str
    factory: Callable[..., Any]
    clip_requires: tuple[str, ...]
    kind: str  # "frames" (lockstep analyzer) | "value" (fn(pair, alignment) after the pass)
    doc: str = ""


_PAIR_ARTIFACTS: dict[str, PairArtifactSpec] = {}


def register_pair_artifact(name: str, factory: Callable[..., Any], *, clip_requires: Iterable[str] = (),
                           kind: str = "frames", doc: str = "") -> None:
    _PAIR_ARTIFACTS[name] = PairArtifactSpec(name, factory, tuple(clip_requires), kind, doc)


def list_pair_artifacts() -> dict[str, PairArtifactSpec]:
    _load()
    return dict(_PAIR_ARTIFACTS)


def _load() -> None:
    from ..metrics import registry

    registry._load()


def _cache(pair: "PairContext") -> dict[str, Any]:
    """The pair's artifact cache (``PairContext.cache``): pair artifacts by name, and ``__stats__``."""
    return pair.cache


class _Failed:
    def __init__(self, exc: BaseException):
        self.exc = exc


def pair_stats(pair: "PairContext") -> dict[str, Any]:
    return _cache(pair)["__stats__"]


def pair_get(pair: "PairContext", name: str) -> Any:
    """A pair artifact (computed by :func:`pair_prepare` on first use)."""
    c = _cache(pair)
    if name not in c:
        _prepare(pair, [name], ())
    v = c[name]
    if isinstance(v, _Failed):
        raise v.exc
    return v


def pair_alignment(pair: "PairContext") -> Alignment:
    c = _cache(pair)
    if "__alignment__" not in c:
        try:
            c["__alignment__"] = plan_alignment(pair.gen.info, pair.gt.info, pair_options(pair))
        except Exception as e:  # noqa: BLE001 - cached so every pair metric fails the same way
            c["__alignment__"] = _Failed(e)
    v = c["__alignment__"]
    if isinstance(v, _Failed):
        raise v.exc
    return v


def pair_prepare(pair: "PairContext", metric_names: Iterable[str]) -> None:
    """Prepare everything the named pair metrics need, decoding each clip at most once here.

    Metrics declare ``requires`` (clip artifacts, needed on both clips) and ``pair_requires``
    (pair artifacts). Errors are cached and re-raised by :func:`pair_get` / the clip contexts.
    """
    from ..metrics.registry import get_metric_class

    names: list[str] = []
    clip: list[str] = []
    gen_only: list[str] = []
    for m in metric_names:
        cls = get_metric_class(m)
        if cls.level != "pair":
            gen_only.extend(cls.requires)  # fed to the generated clip in the same pass (one decode)
            continue
        names.extend(cls.pair_requires)
        clip.extend(cls.requires)
    from .flags import flag_artifacts

    gen_only.extend(flag_artifacts(gen_only + clip))  # the generated clip's flags, same pass
    _prepare(pair, list(dict.fromkeys(names)), tuple(dict.fromkeys(clip)), tuple(dict.fromkeys(gen_only)))


def _prepare(pair: "PairContext", names: list[str], clip_requires: tuple[str, ...],
             gen_extra: tuple[str, ...] = ()) -> None:
    from .artifacts import get_spec

    _load()
    c = _cache(pair)
    todo = [n for n in names if n not in c]
    try:
        al = pair_alignment(pair)
    except Exception as e:  # noqa: BLE001
        for n in todo:
            c[n] = _Failed(e)
        return
    specs = [_PAIR_ARTIFACTS[n] for n in todo]
    clip_need = list(dict.fromkeys(list(clip_requires) + [r for s in specs for r in s.clip_requires]))
    frame_need = [n for n in clip_need if get_spec(n).kind == "frame"]
    gen_need = list(dict.fromkeys(frame_need + [n for n in gen_extra if get_spec(n).kind == "frame"]))
    lock = [s for s in specs if s.kind == "frames"]
    from .context import persisted

    # persisted tracks (a GT clip paired with several models) are loaded, or computed here once
    with persisted((pair.gen, gen_need), (pair.gt, frame_need)):
        if lock:
            _lockstep(pair, al, lock, gen_need, frame_need)
        else:
            # no pixels needed together: each clip computes what it lacks in its own single pass
            pair.gen.prepare(gen_need)
            pair.gt.prepare(frame_need)
    for s in specs:
        if s.kind != "value" or s.name in c:
            continue
        t0 = time.perf_counter()
        try:
            c[s.name] = s.factory(pair, al)
        except Exception as e:  # noqa: BLE001
            c[s.name] = _Failed(e)
        _add_pair_time(c, s.name, time.perf_counter() - t0)


def _add_pair_time(c: dict[str, Any], name: str, dt: float) -> None:
    t = c["__stats__"]["timings"]
    t[name] = t.get(name, 0.0) + dt


def _lockstep(pair: "PairContext", al: Alignment, specs: list[PairArtifactSpec], gen_need: list[str],
              gt_need: list[str]) -> None:
    from ..io.video import iter_frames

    c = _cache(pair)
    fg = pair.gen.feeder(gen_need)
    ft = pair.gt.feeder(gt_need)
    analyzers: dict[str, PairAnalyzer] = {}
    for s in specs:
        try:
            analyzers[s.name] = s.factory(pair, al)
        except Exception as e:  # noqa: BLE001
            c[s.name] = _Failed(e)
    c["__stats__"]["pair_decodes"] += 1
    failed: dict[str, BaseException] = {}
    n_gen = n_gt = n_pairs = 0
    t_start = time.perf_counter()
    gen_it = iter_frames(pair.gen.video_path)
    gt_it = iter_frames(pair.gt.video_path)
    gen_cur = None
    gen_done = False
    t_dec = {"gt": 0.0, "gen": 0.0}  # decode time of each clip, counted to its context
    t_pair = dict.fromkeys(analyzers, 0.0)
    try:
        t0 = time.perf_counter()
        for gt_f in gt_it:
            t_dec["gt"] += time.perf_counter() - t0
            ft.update(gt_f)
            n_gt += 1
            want = al.gen_index(gt_f.index)
            while not gen_done and (gen_cur is None or gen_cur.index < want):
                try:
                    t0 = time.perf_counter()
                    try:
                        gen_cur = next(gen_it)
                    finally:
                        t_dec["gen"] += time.perf_counter() - t0
                    fg.update(gen_cur)
                    n_gen += 1
                except StopIteration:
                    gen_done = True
            if gen_cur is None or gen_cur.index != want:
                t0 = time.perf_counter()
                continue  # no partner (generated clip ended)
            for n, a in analyzers.items():
                if n in failed:
                    continue
                ta = time.perf_counter()
                try:
                    a.update(n_pairs, gen_cur, gt_f)
                except Exception as e:  # noqa: BLE001
                    failed[n] = e
                t_pair[n] += time.perf_counter() - ta
            n_pairs += 1
            t0 = time.perf_counter()
        t0 = time.perf_counter()
        for gen_f in gen_it:  # drain: the generated clip's own artifacts need all its frames
            t_dec["gen"] += time.perf_counter() - t0
            fg.update(gen_f)
            n_gen += 1
            t0 = time.perf_counter()
    except InputError as e:
        fg.fail_all(e)
        ft.fail_all(e)
        for n in analyzers:
            failed.setdefault(n, e)
    finally:
        pair.gt.add_time("decode", t_dec["gt"])
        pair.gen.add_time("decode", t_dec["gen"])
        for n, dt in t_pair.items():
            _add_pair_time(c, n, dt)
        fg.finalize()
        ft.finalize()
    al.n_gen, al.n_gt, al.n_pairs = n_gen, n_gt, n_pairs
    al.unpaired_gt = n_gt - n_pairs
    al.unpaired_gen = max(0, n_gen - len(set(al.gen_index(i) for i in range(n_pairs))))
    o = pair_options(pair)
    try:
        _check_overlap(al, n_gen, n_gt, o["min_overlap"])
    except InputError as e:
        for n in analyzers:
            failed.setdefault(n, e)
    for n, a in analyzers.items():
        t0 = time.perf_counter()
        try:
            c[n] = _Failed(failed[n]) if n in failed else a.finalize()
        except Exception as e:  # noqa: BLE001
            c[n] = _Failed(e)
        _add_pair_time(c, n, time.perf_counter() - t0)
    c["__stats__"]["lockstep_s"] = time.perf_counter() - t_start  # wall of the pass (inclusive)
