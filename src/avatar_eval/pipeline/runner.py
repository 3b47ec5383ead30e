"""The local runner: manifest × models × metrics -> records.jsonl (resumable), run.json, reports.

Work unit = one clip of one model: a worker process builds a :class:`ClipContext`, decodes the
clip once for every frame artifact the pending metrics need, computes those metrics and returns
records. The main process appends them to the store as they arrive, so a killed run loses at
most the clips in flight and a rerun computes only what is missing.
"""

from __future__ import annotations

import json
import os
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

from .. import __version__
from ..errors import InputError, MetricUndefined, WeightsUnavailable
from ..metrics.base import Metric, MetricValue
from ..metrics.registry import get_metric, resolve_metrics
from ..results.schema import DATASET, GT_MODEL, Record
from ..results.store import RecordStore, atomic_write_text
from .context import ClipContext, PairContext
from .manifest import Manifest, Sample, file_digest


@dataclass
class RunConfig:
    metrics: list[str]
    out_dir: str
    workers: int = 1
    options: dict[str, Any] = field(default_factory=dict)
    theval_variant: str = "paper"
    reference: str | None = None
    reports: bool = True


@dataclass
class Job:
    model: str
    sample: Sample
    video: str | None
    metrics: list[str]  # pending sample/pair metrics
    dataset_metrics: list[str]  # dataset metrics whose features are missing for this clip
    options: dict[str, Any]
    feature_dir: str


def _record_for(metric: Metric, model: str, sample_id: str, fn: Callable[[], Any], t0: float | None = None) -> Record:
    t0 = time.perf_counter() if t0 is None else t0
    base = dict(model=model, sample_id=sample_id, metric=metric.name, metric_version=metric.version, region=metric.region)
    try:
        out = fn()
        mv = out if isinstance(out, MetricValue) else MetricValue(float(out))
        if not np.isfinite(mv.value):
            raise MetricUndefined(f"{metric.name} produced {mv.value}")
        return Record(status="ok", value=float(mv.value), details=mv.details, elapsed_s=time.perf_counter() - t0, **base)
    except MetricUndefined as e:
        return Record(status="skipped", reason="undefined", message=str(e), elapsed_s=time.perf_counter() - t0, **base)
    except WeightsUnavailable as e:
        return Record(status="skipped", reason="weights_unavailable", message=str(e), elapsed_s=time.perf_counter() - t0, **base)
    except InputError as e:
        return Record(status="error", reason="bad_input", message=str(e), elapsed_s=time.perf_counter() - t0, **base)
    except Exception as e:  # noqa: BLE001 - a bug or an unforeseen input: record it, go on
        tb = traceback.format_exc(limit=4)
        return Record(status="error", reason=type(e).__name__, message=f"{e}\n{tb}", elapsed_s=time.perf_counter() - t0, **base)


def _reraise(e: BaseException) -> Callable[[], Any]:
    """A computation that fails with ``e``, so an earlier failure is recorded like any other."""

    def fail() -> Any:
        raise e

    return fail


def _context(sample: Sample, model: str, video: str, options: dict[str, Any]) -> ClipContext:
    return ClipContext(
        video_path=video,
        sample_id=sample.id,
        model=model,
        audio_path=sample.audio,
        reference_image=sample.reference_image,
        transcript=sample.transcript,
        options={**options, "regions_file": sample.regions},
    )


def feature_path(feature_dir: str, metric: Metric, video: str) -> Path:
    return Path(feature_dir) / f"{metric.name}-v{metric.version}-{file_digest(video)[:32]}.npy"


def process_job(job: Job) -> dict[str, Any]:
    """Evaluate one clip (runs in a worker process). Never raises: failures become records."""
    t_start = time.perf_counter()
    metrics = [get_metric(n) for n in job.metrics]
    dmetrics = [get_metric(n) for n in job.dataset_metrics]
    records: list[Record] = []
    timings: dict[str, float] = {}
    n_frames = 0
    if job.video is None:
        return {"records": [], "timings": {}, "n_frames": 0}
    ctx = _context(job.sample, job.model, job.video, job.options)
    try:
        ctx.info  # probe: a corrupt file fails here for every metric with one message
        needed: list[str] = []
        for m in [*metrics, *dmetrics]:
            needed.extend(m.requires)
        pair_ctx = None
        pair_metrics = [m for m in metrics if m.level == "pair"]
        if pair_metrics and job.model != GT_MODEL and job.sample.gt:
            gt_ctx = _context(job.sample, GT_MODEL, job.sample.gt, job.options)
            pair_ctx = PairContext(ctx, gt_ctx)
            try:
                from .pairs import pair_prepare  # written by the regions/JWB-DH module
            except ImportError:
                pair_prepare = None
            if pair_prepare is not None:
                # all names: the pair pass also feeds the generated clip's own artifacts (one decode)
                pair_prepare(pair_ctx, [m.name for m in [*metrics, *dmetrics]])
        try:
            ctx.prepare(needed)
        except Exception:  # noqa: BLE001 - failures are cached per artifact and surface per metric
            pass
        for m in metrics:
            t0 = time.perf_counter()
            if m.level == "pair":
                if job.model == GT_MODEL:
                    continue
                if pair_ctx is None:
                    records.append(Record(model=job.model, sample_id=job.sample.id, metric=m.name, metric_version=m.version,
                                          region=m.region, status="skipped", reason="no_reference",
                                          message="no GT video for this sample: a paired metric needs one"))
                    continue
                records.append(_record_for(m, job.model, job.sample.id, lambda m=m: m.compute_pair(pair_ctx), t0))
            else:
                records.append(_record_for(m, job.model, job.sample.id, lambda m=m: m.compute(ctx), t0))
        for m in dmetrics:
            path = feature_path(job.feature_dir, m, job.video)
            try:
                feats = np.asarray(m.features(ctx))
                path.parent.mkdir(parents=True, exist_ok=True)
                tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
                np.save(tmp, feats)
                os.replace(tmp, path)
            except Exception as e:  # noqa: BLE001
                records.append(_record_for(m, job.model, job.sample.id, _reraise(e)))
        timings = dict(ctx.timings)
        n_frames = ctx.frames_decoded
        timings["decode_passes"] = ctx.decode_count
    except Exception as e:  # noqa: BLE001 - probe failure etc.: every pending metric gets the error
        for m in metrics:
            records.append(_record_for(m, job.model, job.sample.id, _reraise(e)))
    finally:
        ctx.release()
    timings["total"] = time.perf_counter() - t_start
    return {"records": [r.to_dict() for r in records], "timings": timings, "n_frames": n_frames}


def _worker_init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import torch

        torch.set_num_threads(1)
    except Exception:  # noqa: BLE001
        pass


def _weights_hashes(metric_names: Iterable[str]) -> dict[str, str | None]:
    names: list[str] = []
    for n in metric_names:
        names.extend(get_metric(n).weights)
    if not names:
        return {}
    try:
        from ..weights import weights_hashes

        return weights_hashes(sorted(set(names)))
    except Exception as e:  # noqa: BLE001
        return {n: f"unresolved ({type(e).__name__})" for n in names}


def write_run_json(out: Path, manifest: Manifest, cfg: RunConfig, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    from ..audio.vad import DEFAULT_VAD, vad_description, vad_sha256
    from ..provenance import numeric_environment, package_versions

    prev: dict[str, Any] = {}
    if (out / "run.json").exists():
        try:
            prev = json.loads((out / "run.json").read_text())
        except ValueError:
            prev = {}
    vad = cfg.options.get("vad_model", DEFAULT_VAD)
    meta = {
        "avatar_eval_version": __version__,
        "created": prev.get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {"metrics": cfg.metrics, "workers": cfg.workers, "options": cfg.options,
                   "theval_variant": cfg.theval_variant, "reference": cfg.reference},
        "metrics": {n: get_metric(n).info() for n in cfg.metrics},
        "manifest_hash": manifest.hash(),
        "manifest": manifest.to_list(),
        "models": manifest.models,
        "has_gt": manifest.has_gt,
        "vad": {"model": vad, "description": vad_description(vad), "sha256": vad_sha256(vad)},
        "face_mesh": "MediaPipe Face Mesh (mediapipe.solutions.face_mesh, bundled model), fresh tracker per clip",
        "weights": _weights_hashes(cfg.metrics),
        "libraries": package_versions(),
        # CPU, ISA, kernel paths, thread counts, decoder builds: what can move a number
        # across installs with identical packages (docs/reproducibility.md)
        "environment": numeric_environment(),
        **(extra or {}),
    }
    atomic_write_text(out / "run.json", json.dumps(meta, indent=2, default=str))
    return meta


def run(manifest: Manifest, cfg: RunConfig, progress: bool = True) -> RecordStore:
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = resolve_metrics(cfg.metrics)
    cfg.metrics = names
    store = RecordStore(out / "records.jsonl")
    feature_dir = str(out / "features")
    write_run_json(out, manifest, cfg)

    classes = {n: get_metric(n) for n in names}
    clip_metrics = [n for n in names if classes[n].level in ("sample", "pair")]
    ds_metrics = [n for n in names if classes[n].level == "dataset"]
    models = ([GT_MODEL] if manifest.has_gt else []) + manifest.models

    jobs: list[Job] = []
    for s in manifest.samples:
        for model in models:
            video = s.video(model)
            pending = []
            for n in clip_metrics:
                if classes[n].level == "pair" and model == GT_MODEL:
                    continue
                if not store.has(model, s.id, n):
                    pending.append(n)
            if video is None:
                # the model has no clip for this sample: say so once per metric
                recs = [Record(model=model, sample_id=s.id, metric=n, metric_version=classes[n].version,
                               region=classes[n].region, status="skipped", reason="missing_clip",
                               message=f"no video of model {model!r} for sample {s.id!r}") for n in pending]
                store.extend(recs)
                continue
            dpend = [n for n in ds_metrics if not store.has(model, DATASET, n) and not feature_path(feature_dir, classes[n], video).exists()]
            if pending or dpend:
                jobs.append(Job(model, s, video, pending, dpend, dict(cfg.options), feature_dir))

    stats: dict[str, Any] = {"timings": {}, "frames": 0, "clips": 0}

    def _collect(res: dict[str, Any]) -> None:
        store.extend(Record.from_dict(d) for d in res["records"])
        stats["clips"] += 1
        stats["frames"] += res["n_frames"]
        for k, v in res["timings"].items():
            stats["timings"][k] = stats["timings"].get(k, 0.0) + v

    bar = _Progress(len(jobs), enabled=progress)
    t0 = time.perf_counter()
    if cfg.workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            _collect(process_job(job))
            bar.advance(f"{job.model}/{job.sample.id}")
    else:
        import multiprocessing as mp

        with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=mp.get_context("spawn"), initializer=_worker_init) as ex:
            futs: dict[Future, Job] = {ex.submit(process_job, j): j for j in jobs}
            pending_f = set(futs)
            while pending_f:
                done, pending_f = wait(pending_f, return_when=FIRST_COMPLETED)
                for f in done:
                    job = futs[f]
                    try:
                        _collect(f.result())
                    except Exception as e:  # noqa: BLE001 - a crashed worker: record, go on
                        store.extend(
                            Record(model=job.model, sample_id=job.sample.id, metric=n, metric_version=classes[n].version,
                                   region=classes[n].region, status="error", reason="worker_crash", message=repr(e))
                            for n in job.metrics
                        )
                    bar.advance(f"{job.model}/{job.sample.id}")
    bar.close()
    wall = time.perf_counter() - t0

    # dataset-level metrics: reduce cached per-clip features, model vs GT
    for n in ds_metrics:
        m = classes[n]
        gt_feats = _load_feats(manifest, GT_MODEL, m, feature_dir)
        for model in manifest.models:
            if store.has(model, DATASET, n):
                continue
            feats = _load_feats(manifest, model, m, feature_dir)
            if not feats or not gt_feats:
                store.append(Record(model=model, sample_id=DATASET, metric=n, metric_version=m.version, region=m.region,
                                    status="skipped", reason="no_features",
                                    message=f"features for {len(feats)} {model} clips and {len(gt_feats)} GT clips"))
                continue
            store.append(_record_for(m, model, DATASET, lambda m=m, feats=feats: m.reduce(feats, gt_feats)))

    write_run_json(out, manifest, cfg, {"last_run": {"wall_s": wall, "clips": stats["clips"], "frames": stats["frames"],
                                                     "timings_s": stats["timings"]}})
    if cfg.reports:
        build = _report_builder()
        if build is not None:
            build(str(out), store.records(), theval_variant=cfg.theval_variant, reference=cfg.reference)
    return store


def _load_feats(manifest: Manifest, model: str, m: Metric, feature_dir: str) -> list[np.ndarray]:
    out = []
    for s in manifest.samples:
        v = s.video(model)
        if v and Path(v).exists():
            p = feature_path(feature_dir, m, v)
            if p.exists():
                out.append(np.load(p))
    return out


def _report_builder():
    try:
        from ..report.build import build_reports
    except ImportError:
        return None
    return build_reports


class _Progress:
    def __init__(self, total: int, enabled: bool = True):
        self.p = None
        if enabled and total:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.p = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                              TimeRemainingColumn(), TextColumn("{task.fields[clip]}"))
            self.p.start()
            self.task = self.p.add_task("clips", total=total, clip="")

    def advance(self, clip: str) -> None:
        if self.p is not None:
            self.p.update(self.task, advance=1, clip=clip)

    def close(self) -> None:
        if self.p is not None:
            self.p.stop()
