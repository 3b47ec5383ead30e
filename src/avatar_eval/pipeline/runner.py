"""The local runner: manifest × models × metrics -> records.jsonl (resumable) and run.json.

:func:`run` computes records and returns the :class:`RecordStore`; it writes no report. The caller
renders them (``avatar-eval run`` calls :func:`avatar_eval.report.build.build_reports` after the
run; ``avatar-eval report RUN_DIR`` does the same on a finished run). ``run.json`` records each
metric's ``Metric.info()`` (direction, units, version, ...) so reports never depend on the code
installed when they are made.

Work unit = one clip of one model: a worker process builds a :class:`ClipContext`, decodes the
clip once for every frame artifact the pending metrics need, computes those metrics and returns
records. The main process appends them to the store as they arrive, so a killed run loses at
most the clips in flight.

Engines (``engine`` option, :class:`~avatar_eval.options.EngineOptions`): the local process pool
here, or Ray (:mod:`.ray_engine`: one task per clip running :func:`process_job`); either way the
records come back to this process, which alone writes the store. ``shard=(i, n)`` computes only
the samples of one shard (:func:`shard_of`); :mod:`.merge` joins shards. ``logs/tasks.jsonl``
says which worker (Ray node) computed each clip.

Resume (:mod:`avatar_eval.results.resume`): every record carries a fingerprint (metric name +
version, the options it reads, its weights' sha256, its inputs' content hashes, the THEval variant
and reference); a rerun reuses a record only when the fingerprint matches (errors are retried
unless ``keep_errors``; ``weights_unavailable`` skips always are). Feature files of dataset metrics
are named by the same fingerprint. A rerun whose run-level configuration differs from the one in
``run.json`` is refused (:class:`~avatar_eval.results.resume.RunConfigChanged`) unless
``overwrite``, which moves the old records aside.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import __version__
from ..errors import InputError, MetricUndefined, WeightsUnavailable
from ..metrics.base import Metric, MetricValue
from ..metrics.registry import DEPRECATED_NAMES, get_metric, resolve_metrics
from ..options import ENGINE_KEYS, ConfigError, EngineOptions, THEvalOptions, family_options, validate_options
from ..results.resume import (
    FileDigests,
    RunConfigChanged,
    config_changes,
    fingerprint,
    move_aside,
    run_config,
    run_config_fingerprint,
)
from ..results.schema import DATASET, GT_MODEL, Record, record_key
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
    #: for the caller: build the report files after the run (``avatar-eval run`` reads it;
    #: :func:`run` itself never builds reports, see ``avatar-eval report``)
    reports: bool = True
    #: reuse ``error`` records (default: retry them)
    keep_errors: bool = False
    #: a changed configuration: move the old records aside (``records.jsonl.<timestamp>.bak``) instead of refusing
    overwrite: bool = False
    #: (index, count): compute only the samples of shard ``index`` of ``count`` (:func:`shard_of`);
    #: dataset metrics then cache their clip features and are reduced by ``avatar-eval merge``
    shard: tuple[int, int] | None = None
    #: compute nothing per clip, only reduce dataset metrics (``avatar-eval merge``): a clip
    #: without its record is an error instead of a computation
    reduce_only: bool = False
    #: the engine options (:class:`~avatar_eval.options.EngineOptions`), split from ``options`` by
    #: :func:`run` (they may also be given there): recorded in run.json, never fingerprinted
    engine: dict[str, Any] = field(default_factory=dict)


@dataclass
class Job:
    model: str
    sample: Sample
    video: str | None
    metrics: list[str]  # pending sample/pair metrics
    dataset_metrics: list[str]  # dataset metrics whose features are missing for this clip
    options: dict[str, Any]
    feature_dir: str
    fingerprints: dict[str, str] = field(default_factory=dict)  # metric -> fingerprint of its record / features
    feature_paths: dict[str, str] = field(default_factory=dict)  # dataset metric -> feature file to write
    artifact_dir: str | None = None  # the run's artifact store: tracks shared across jobs and reruns
    regions_dir: str | None = None  # where the region boxes the metrics computed are kept (for reports)


def shard_of(sample_id: str, count: int) -> int:
    """The shard of a sample: sha256 of its id mod ``count``. Stable across machines, Python
    processes and manifest order; every clip of a sample (GT and each model's, hence its pair
    metrics) falls in the same shard."""
    import hashlib

    return int(hashlib.sha256(sample_id.encode("utf-8")).hexdigest()[:16], 16) % count


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/n"`` -> (i, n) with 0 <= i < n."""
    try:
        i_s, n_s = text.split("/")
        i, n = int(i_s), int(n_s)
    except ValueError:
        raise ConfigError(f"--shard takes I/N (e.g. 0/4), got {text!r}") from None
    if n < 1 or not 0 <= i < n:
        raise ConfigError(f"--shard {text}: need 0 <= I < N")
    return i, n


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


def _context(sample: Sample, model: str, video: str, options: dict[str, Any],
             artifact_dir: str | None = None) -> ClipContext:
    return ClipContext(
        video_path=video,
        sample_id=sample.id,
        model=model,
        audio_path=sample.audio,
        reference_image=sample.reference_image,
        transcript=sample.transcript,
        options={**options, "regions_file": sample.regions},
        artifact_dir=artifact_dir,
    )


def feature_path(feature_dir: str, metric: Metric, fp: str) -> Path:
    """The cached features of one clip, named by their fingerprint (see :class:`_Fingerprints`)."""
    return Path(feature_dir) / f"{metric.name}-v{metric.version}-{fp[:32]}.npy"


#: keys of a job's ``timings`` that are not stage seconds: the job's own wall time (what the stages
#: add up to) and the number of decode passes
NON_STAGE_KEYS = ("total", "decode_passes")


class _JobClock:
    """Exclusive stage times of one job: a stage's time less the clip-context stages (decode,
    artifacts) and pair-pass times counted inside it, so the stages add up to the job's wall time."""

    def __init__(self) -> None:
        self.stages: dict[str, float] = {}
        self.contexts: list[ClipContext] = []
        self.pair: PairContext | None = None

    def counted(self) -> float:
        t = sum(c.time_spent for c in self.contexts)
        if self.pair is not None:
            from .pairs import pair_stats

            t += sum(pair_stats(self.pair)["timings"].values())
        return t

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        before = self.counted()
        t0 = time.perf_counter()
        try:
            return fn()
        finally:
            dt = time.perf_counter() - t0 - (self.counted() - before)
            self.stages[name] = self.stages.get(name, 0.0) + dt

    def timings(self, total: float) -> dict[str, float]:
        """Every stage of the job: the contexts' (summed by name over the generated and the GT
        clip), the pair pass's (``pair:<artifact>``), the job's own (``metric:<name>``, ...) and
        ``job_other`` (what none of them covers), which with them adds up to ``total``."""
        out: dict[str, float] = {}
        for c in self.contexts:
            for k, v in c.timings.items():
                out[k] = out.get(k, 0.0) + v
        if self.pair is not None:
            from .pairs import pair_stats

            for k, v in pair_stats(self.pair)["timings"].items():
                out[f"pair:{k}"] = out.get(f"pair:{k}", 0.0) + v
        for k, v in self.stages.items():
            out[k] = out.get(k, 0.0) + v
        out["job_other"] = max(0.0, total - sum(out.values()))
        return out


def process_job(job: Job) -> dict[str, Any]:
    """Evaluate one clip (runs in a worker process). Never raises: failures become records."""
    t_start = time.perf_counter()
    started_at = time.time()  # wall clock: the main process derives worker start-up from it
    clock = _JobClock()
    # the metric classes; a worker's first job imports the metric modules here
    metrics, dmetrics = clock.run("metric_registry", lambda: (
        [get_metric(n) for n in job.metrics], [get_metric(n) for n in job.dataset_metrics]))
    records: list[Record] = []
    timings: dict[str, float] = {}
    stored = {"loaded": 0, "saved": 0}  # persisted artifacts (tracks) loaded / computed and kept
    n_frames = 0
    if job.video is None:
        return {"records": [], "timings": {}, "n_frames": 0, "artifacts": stored}
    ctx = _context(job.sample, job.model, job.video, job.options, job.artifact_dir)
    clock.contexts.append(ctx)
    pair_ctx = None
    try:
        clock.run("probe", lambda: ctx.info)  # a corrupt file fails here for every metric with one message
        # dataset features already in the content-addressed feature cache (cache.py; same clip
        # bytes, same extractor and options, any run directory): their artifacts are not computed
        cached: dict[str, np.ndarray] = {}
        for m in dmetrics:
            hit = getattr(m, "cached_features", None)
            if hit is not None:
                try:
                    v = clock.run("feature_cache", lambda hit=hit: hit(ctx))
                except Exception:  # noqa: BLE001 - a cache problem only means computing again
                    v = None
                if v is not None:
                    cached[m.name] = np.asarray(v)
        needed: list[str] = []
        for m in [*metrics, *(d for d in dmetrics if d.name not in cached)]:
            needed.extend(m.requires)
        from .flags import flag_artifacts

        needed.extend(flag_artifacts(needed))  # e.g. the multi_face count, in the same decode pass
        pair_metrics = [m for m in metrics if m.level == "pair"]
        if pair_metrics and job.model != GT_MODEL and job.sample.gt:
            gt_ctx = _context(job.sample, GT_MODEL, job.sample.gt, job.options, job.artifact_dir)
            pair_ctx = PairContext(ctx, gt_ctx)
            clock.contexts.append(gt_ctx)
            clock.pair = pair_ctx
            # no ImportError guard: a broken pairs module fails loudly (error records)
            from .pairs import pair_prepare

            # all names: the pair pass also feeds the generated clip's own artifacts (one decode)
            names = [m.name for m in [*metrics, *dmetrics] if m.name not in cached]
            clock.run("pair_pass", lambda: pair_prepare(pair_ctx, names))
        try:
            clock.run("prepare", lambda: ctx.prepare(needed))
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
                records.append(clock.run(f"metric:{m.name}", lambda m=m, t0=t0: _record_for(
                    m, job.model, job.sample.id, lambda: m.compute_pair(pair_ctx), t0)))
            else:
                records.append(clock.run(f"metric:{m.name}", lambda m=m, t0=t0: _record_for(
                    m, job.model, job.sample.id, lambda: m.compute(ctx), t0)))
        for m in dmetrics:
            path = Path(job.feature_paths[m.name]) if m.name in job.feature_paths else \
                feature_path(job.feature_dir, m, file_digest(job.video))
            try:
                feats = cached[m.name] if m.name in cached else \
                    clock.run(f"features:{m.name}", lambda m=m: np.asarray(m.features(ctx)))

                def save(path: Path = path, feats: np.ndarray = feats) -> None:
                    path.parent.mkdir(parents=True, exist_ok=True)
                    tmp = path.with_suffix(f".{os.getpid()}.tmp.npy")
                    np.save(tmp, feats)
                    os.replace(tmp, path)

                clock.run("feature_save", save)
            except Exception as e:  # noqa: BLE001
                records.append(_record_for(m, job.model, job.sample.id, _reraise(e)))
        from .flags import clip_flags, pair_flags

        if job.regions_dir:
            clock.run("region_boxes", lambda: _keep_region_boxes(
                job.regions_dir, [ctx, *([pair_ctx.gt] if pair_ctx is not None else [])]))  # type: ignore[arg-type]

        def all_flags() -> dict[str, Any]:
            f = clip_flags(ctx)
            if pair_ctx is not None:
                f.update(pair_flags(ctx, pair_ctx.gt))
            return f

        flags = clock.run("flags", all_flags)
        if flags:  # degenerate input said next to every number of the clip (values unchanged)
            for r in records:
                r.details = {**(r.details or {}), "flags": flags}
        n_frames = ctx.frames_decoded
        for c in [ctx] + ([pair_ctx.gt] if pair_ctx is not None else []):
            stored["loaded"] += len(c.artifacts_loaded)
            stored["saved"] += len(c._saved)
    except Exception as e:  # noqa: BLE001 - probe failure etc.: every pending metric gets the error
        for m in [*metrics, *dmetrics]:
            records.append(_record_for(m, job.model, job.sample.id, _reraise(e)))
    finally:
        ctx.release()
    total = time.perf_counter() - t_start
    timings = clock.timings(total)
    timings["decode_passes"] = ctx.decode_count
    timings["total"] = total
    import socket

    from ..provenance import torch_facts_if_loaded

    return {"records": [r.to_dict() for r in records], "timings": timings, "n_frames": n_frames, "artifacts": stored,
            "worker": {"host": socket.gethostname(), "pid": os.getpid()}, "started_at": started_at,
            "torch": torch_facts_if_loaded()}


def _worker_init() -> None:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    os.environ.setdefault("GLOG_minloglevel", "2")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if os.environ["OMP_NUM_THREADS"] == "1" and "torch" not in sys.modules:
        return  # torch, when a job imports it, starts with one intra-op thread (OMP_NUM_THREADS): not imported here (~3 s)
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


def _keep_region_boxes(regions_dir: str, contexts: Iterable[ClipContext]) -> None:
    """``regions_dir/<model>/<sample id>.npz``: the region boxes a clip's metrics computed (none
    computed here), for the report's frame strips. Best effort: a failure costs only the boxes."""
    for c in contexts:
        try:
            from ..regions.artifacts import computed_boxes

            boxes = computed_boxes(c)
            if not boxes:
                continue
            path = Path(regions_dir) / c.model / f"{c.sample_id}.npz"
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp.npz")
            np.savez_compressed(tmp, **boxes)
            os.replace(tmp, path)
        except Exception as e:  # noqa: BLE001 - boxes are a report aid, never a reason to fail a clip
            import logging

            logging.getLogger(__name__).warning("region boxes of %s/%s not kept: %s", c.model, c.sample_id, e)


def write_run_json(out: Path, manifest: Manifest, cfg: RunConfig, extra: dict[str, Any] | None = None, *,
                   weights: dict[str, str | None] | None = None, resume: dict[str, Any] | None = None,
                   manifest_hash: str | None = None,
                   torch_kernels: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Write ``out/run.json``. ``resume`` is the run-level configuration (:func:`run_config`) that
    a rerun must match; ``metrics`` / ``weights`` accumulate over the runs that extended this
    directory (they describe every record in it)."""
    from ..audio.vad import vad_description, vad_sha256
    from ..provenance import numeric_environment
    from .builtin_artifacts import still_threshold

    prev: dict[str, Any] = {}
    if (out / "run.json").exists():
        try:
            prev = json.loads((out / "run.json").read_text())
        except ValueError:
            prev = {}
    vad = family_options(cfg.options, THEvalOptions).vad_model
    weights = _weights_hashes(cfg.metrics) if weights is None else weights
    prev_metrics = prev.get("metrics") if isinstance(prev.get("metrics"), dict) else {}
    prev_weights = prev.get("weights") if isinstance(prev.get("weights"), dict) else {}
    # torch's facts come from the jobs that ran (`torch_kernels`), not from importing it here
    environment = numeric_environment(import_torch=False)
    if torch_kernels:
        environment["kernels"]["torch"] = torch_kernels[0] if len(torch_kernels) == 1 else \
            {"differ_between_workers": torch_kernels}
    else:  # nothing ran torch this time: keep what the earlier runs into this directory recorded
        prev_torch = ((prev.get("environment") or {}).get("kernels") or {}).get("torch")
        if isinstance(prev_torch, dict) and prev_torch.get("loaded") is not False:
            environment["kernels"]["torch"] = prev_torch
    meta = {
        "avatar_eval_version": __version__,
        "created": prev.get("created", time.strftime("%Y-%m-%dT%H:%M:%S%z")),
        "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "config": {"metrics": cfg.metrics, "workers": cfg.workers, "options": cfg.options,
                   "theval_variant": cfg.theval_variant, "reference": cfg.reference,
                   "keep_errors": cfg.keep_errors,
                   # how the clips were computed: never part of a fingerprint (the same records)
                   "engine": _engine_config(cfg.engine),
                   "shard": None if cfg.shard is None else {"index": cfg.shard[0], "count": cfg.shard[1]}},
        "metrics": {**prev_metrics, **{n: get_metric(n).info() for n in cfg.metrics}},
        "manifest_hash": manifest.hash() if manifest_hash is None else manifest_hash,
        "manifest": manifest.to_list(),
        "models": manifest.models,
        "has_gt": manifest.has_gt,
        "vad": {"model": vad, "description": vad_description(vad), "sha256": vad_sha256(vad)},
        "face_mesh": "MediaPipe Face Mesh (mediapipe.solutions.face_mesh, bundled model), fresh tracker per clip; "
                     "the default track holds still frames (compat tracks never do)",
        # 8-bit levels; None: the default track does not hold still frames (regions/face_mesh.py)
        "face_mesh_still_threshold": still_threshold(cfg.options),
        "weights": {**prev_weights, **weights},
        "libraries": environment["packages"],
        # CPU, ISA, kernel paths, thread counts, decoder builds: what can move a number
        # across installs with identical packages (docs/reproducibility.md)
        "environment": environment,
        **(extra or {}),
    }
    if resume is not None:
        # what a rerun into this directory must match (docs/architecture.md, "Resume")
        meta["resume"] = {"config": resume, "fingerprint": run_config_fingerprint(resume)}
    atomic_write_text(out / "run.json", json.dumps(meta, indent=2, default=str))
    return meta


def _engine_config(engine: dict[str, Any]) -> dict[str, Any]:
    from dataclasses import asdict

    return asdict(family_options(engine, EngineOptions))


def _split_engine_options(cfg: RunConfig) -> EngineOptions:
    """Move the engine keys out of ``cfg.options`` (they must not reach a fingerprint) into
    ``cfg.engine``; check the engine before anything is touched."""
    cfg.engine = validate_options({**cfg.engine, **{k: v for k, v in cfg.options.items() if k in ENGINE_KEYS}})
    cfg.options = {k: v for k, v in cfg.options.items() if k not in ENGINE_KEYS}
    eng = family_options(cfg.engine, EngineOptions)
    if eng.engine not in ("local", "ray"):
        raise ConfigError(f"unknown engine {eng.engine!r}: local or ray")
    if eng.engine == "ray":
        from .ray_engine import require_ray

        require_ray()
    if cfg.shard is not None:
        parse_shard(f"{cfg.shard[0]}/{cfg.shard[1]}")
    return eng


def _effective_options(options: dict[str, Any]) -> dict[str, Any]:
    """The run options with the defaults the metrics apply filled in (an unset ``vad_model`` is
    the default VAD, so API runs and CLI runs compare equal)."""
    from ..audio.vad import DEFAULT_VAD

    return {"vad_model": DEFAULT_VAD, **options}


def _previous_config(out: Path) -> dict[str, Any] | None:
    """The run-level configuration of the records in ``out`` (from ``run.json``), if known."""
    p = out / "run.json"
    if not p.exists():
        return None
    try:
        prev = json.loads(p.read_text())
    except ValueError:
        return None
    stored = (prev.get("resume") or {}).get("config")
    if isinstance(stored, dict):
        return stored
    # run.json written before resume fingerprints: rebuild the configuration from what it recorded
    c = prev.get("config") or {}
    versions = {n: str(i["version"]) for n, i in (prev.get("metrics") or {}).items()
                if isinstance(i, dict) and "version" in i}
    return run_config(_effective_options(c.get("options") or {}), c.get("theval_variant", "paper"),
                      c.get("reference"), versions)


def _claim_run_dir(out: Path, new: dict[str, Any], overwrite: bool) -> tuple[dict[str, Any], list[Path]]:
    """Refuse a changed configuration (or, with ``overwrite``, move the old run aside).

    Returns the configuration to store (the old metric versions kept: they describe records
    still in the directory) and the paths moved aside."""
    records = out / "records.jsonl"
    has_records = records.exists() and records.stat().st_size > 0
    if overwrite:
        moved = move_aside([records, out / "run.json", out / "features", out / "regions", out / "logs"])
        return new, moved
    old = _previous_config(out) if has_records else None
    if old is None:
        return new, []
    changes = config_changes(old, new)
    # records made before the naming grammar carry the old names: a rerun would add the same metric
    # again under its new name beside them, two records of one metric in one run directory
    renamed = sorted(k for k in (old.get("metric_versions") or {}) if k in DEPRECATED_NAMES)
    changes = [f"metric name: {k} → {DEPRECATED_NAMES[k]} (renamed; the records hold the old name)"
               for k in renamed] + changes
    if changes:
        raise RunConfigChanged(out, changes)
    merged = dict(new)
    merged["metric_versions"] = dict(sorted({**(old.get("metric_versions") or {}), **new["metric_versions"]}.items()))
    return merged, []


def _metric_options(metric: Metric, options: dict[str, Any]) -> dict[str, Any]:
    """The options a metric reads: ``reads_options`` when the metric declares it, else all."""
    reads = getattr(metric, "reads_options", None)
    if reads is None:
        return dict(options)
    return {k: options[k] for k in reads if k in options}


class _Fingerprints:
    """Fingerprints of this run's records and feature files (one place; see results/resume.py)."""

    def __init__(self, classes: dict[str, Metric], options: dict[str, Any], weights: dict[str, str | None],
                 settings: dict[str, Any]):
        self.classes = classes
        self.options = {n: _metric_options(m, options) for n, m in classes.items()}
        self.weights = {n: {w: weights.get(w) for w in m.weights} for n, m in classes.items()}
        self.settings = settings
        self.digest = FileDigests()
        self._inputs: dict[tuple[str, str, bool], dict[str, Any]] = {}

    def inputs(self, sample: Sample, model: str, video: str | None, pair: bool) -> dict[str, Any]:
        k = (sample.id, model, pair)
        if k not in self._inputs:
            d = {"video": self.digest(video), "audio": self.digest(sample.audio),
                 "reference_image": self.digest(sample.reference_image), "transcript": sample.transcript,
                 "regions": self.digest(sample.regions)}
            if pair:
                d["gt"] = self.digest(sample.gt)
            self._inputs[k] = d
        return self._inputs[k]

    def _fp(self, n: str, inputs: Any) -> str:
        return fingerprint(n, self.classes[n].version, options=self.options[n], weights=self.weights[n],
                           inputs=inputs, settings=self.settings)

    def clip(self, n: str, sample: Sample, model: str, video: str | None) -> str:
        """A sample/pair record, or the features of one clip for a dataset metric."""
        pair = self.classes[n].level == "pair" and model != GT_MODEL
        return self._fp(n, self.inputs(sample, model, video, pair))

    def dataset(self, n: str, gen: Iterable[str], gt: Iterable[str]) -> str:
        """A dataset record: the fingerprints of the clip features it reduces."""
        return self._fp(n, {"gen": sorted(gen), "gt": sorted(gt)})


def run(manifest: Manifest, cfg: RunConfig, progress: bool = True) -> RecordStore:
    """Compute the pending records of ``manifest`` × ``cfg.metrics`` into ``cfg.out_dir`` and
    return the store. No report is written here (``cfg.reports`` is for the caller).

    The options are checked first (:func:`~avatar_eval.options.validate_options`): an unknown key or a
    value of the wrong type is an error before the run directory is touched or a clip decoded."""
    t_run = time.perf_counter()
    main_s: dict[str, float] = {"run_json": 0.0, "records_io": 0.0}  # the main process's own stages
    cfg.options = validate_options(cfg.options)
    eng = _split_engine_options(cfg)
    out = Path(cfg.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    names = resolve_metrics(cfg.metrics)
    cfg.metrics = names
    classes = {n: get_metric(n) for n in names}
    options = _effective_options(cfg.options)
    settings = {"theval_variant": cfg.theval_variant, "reference": cfg.reference}  # engine-independent
    resume_cfg, moved = _claim_run_dir(
        out, run_config(options, cfg.theval_variant, cfg.reference, {n: m.version for n, m in classes.items()}),
        cfg.overwrite)
    store = RecordStore(out / "records.jsonl")
    feature_dir = str(out / "features")
    artifact_dir = None if os.environ.get("AVATAR_EVAL_ARTIFACT_STORE", "").lower() in ("0", "off") \
        else str(out / "artifacts")
    weights = _weights_hashes(names)
    manifest_hash = manifest.hash()
    t1 = time.perf_counter()
    write_run_json(out, manifest, cfg, weights=weights, resume=resume_cfg, manifest_hash=manifest_hash)
    main_s["run_json"] += time.perf_counter() - t1

    fpr = _Fingerprints(classes, options, weights, settings)
    keep = cfg.keep_errors
    clip_metrics = [n for n in names if classes[n].level in ("sample", "pair")]
    ds_metrics = [n for n in names if classes[n].level == "dataset"]
    models = ([GT_MODEL] if manifest.has_gt else []) + manifest.models
    counts = {"reused": 0, "written": 0}

    def _add(recs: Iterable[Record]) -> None:
        t1 = time.perf_counter()
        recs = list(recs)
        store.extend(recs)
        counts["written"] += len(recs)
        main_s["records_io"] += time.perf_counter() - t1

    # dataset metrics: which models need their dataset record (re)computed, hence features of
    # their clips and of the GT clips; a reusable dataset record needs no features at all
    feat_fp: dict[tuple[str, str, str], str] = {}
    need: dict[str, set[str]] = {}
    for n in ds_metrics:
        per_model: dict[str, list[str]] = {m: [] for m in models}
        for s in manifest.samples:
            for model in models:
                v = s.video(model)
                if v is not None:
                    feat_fp[(n, model, s.id)] = fp = fpr.clip(n, s, model, v)
                    per_model[model].append(fp)
        need[n] = set()
        for model in manifest.models:
            full = fpr.dataset(n, per_model[model], per_model.get(GT_MODEL, []))
            if store.reusable(record_key(model, DATASET, n), full, keep):
                counts["reused"] += 1
            else:
                need[n].add(model)
        if need[n] and manifest.has_gt:
            need[n].add(GT_MODEL)

    jobs: list[Job] = []
    for s in manifest.samples:
        if cfg.shard is not None and shard_of(s.id, cfg.shard[1]) != cfg.shard[0]:
            continue
        for model in models:
            video = s.video(model)
            pending: list[str] = []
            fps: dict[str, str] = {}
            for n in clip_metrics:
                if classes[n].level == "pair" and model == GT_MODEL:
                    continue
                fp = fpr.clip(n, s, model, video)
                if store.reusable(record_key(model, s.id, n), fp, keep):
                    counts["reused"] += 1
                    continue
                pending.append(n)
                fps[n] = fp
            if video is None:
                # the model has no clip for this sample: say so once per metric
                _add(Record(model=model, sample_id=s.id, metric=n, metric_version=classes[n].version,
                            region=classes[n].region, status="skipped", reason="missing_clip",
                            message=f"no video of model {model!r} for sample {s.id!r}", fingerprint=fps[n])
                     for n in pending)
                continue
            dpend: list[str] = []
            fpaths: dict[str, str] = {}
            for n in ds_metrics:
                if model not in need[n]:
                    continue
                fp = feat_fp[(n, model, s.id)]
                path = feature_path(feature_dir, classes[n], fp)
                if path.exists() or store.reusable(record_key(model, s.id, n), fp, keep):  # a kept feature error
                    continue
                dpend.append(n)
                fps[n] = fp
                fpaths[n] = str(path)
            if pending or dpend:
                jobs.append(Job(model, s, video, pending, dpend, dict(cfg.options), feature_dir,
                                fingerprints=fps, feature_paths=fpaths, artifact_dir=artifact_dir,
                                regions_dir=str(out / "regions")))

    if cfg.reduce_only:
        # merge: a clip with a record (even one a run would retry) is taken as it is; a clip
        # without any record was never computed and is not computed here either
        missing = [j for j in jobs if any(not store.has(j.model, j.sample.id, n) and
                                          not (n in j.feature_paths and Path(j.feature_paths[n]).exists())
                                          for n in [*j.metrics, *j.dataset_metrics])]
        if missing:
            j = missing[0]
            raise InputError(f"{len(missing)} clips have no record or features in {out} (e.g. model {j.model!r}, "
                             f"sample {j.sample.id!r}: {', '.join([*j.metrics, *j.dataset_metrics])}); compute "
                             "them first (the missing shard, or avatar-eval run into this directory)")
        jobs = []

    stats: dict[str, Any] = {"timings": {}, "frames": 0, "clips": 0, "artifacts": {"loaded": 0, "saved": 0},
                             "by_worker": {}, "first_job": {}, "torch": []}
    t0 = time.perf_counter()
    main_s["plan"] = t0 - t_run - main_s["run_json"] - main_s["records_io"]
    pool_started = time.time()  # worker start-up: from here to each worker's first job
    tasks_log = None
    if jobs:  # which worker computed which clip, when (a log: never read back by a run)
        (out / "logs").mkdir(exist_ok=True)
        tasks_log = open(out / "logs" / "tasks.jsonl", "a")

    def _collect(job: Job, res: dict[str, Any]) -> None:
        recs = [Record.from_dict(d) for d in res["records"]]
        for r in recs:
            r.fingerprint = job.fingerprints.get(r.metric)
        _add(recs)
        stats["clips"] += 1
        stats["frames"] += res["n_frames"]
        for k, v in res.get("artifacts", {}).items():
            stats["artifacts"][k] += v
        for k, v in res["timings"].items():
            stats["timings"][k] = stats["timings"].get(k, 0.0) + v
        if res.get("torch") is not None and res["torch"] not in stats["torch"]:
            stats["torch"].append(res["torch"])
        w = res.get("worker") or {}
        where = w.get("node_id") or w.get("host", "?")
        stats["by_worker"][where] = stats["by_worker"].get(where, 0) + 1
        if res.get("started_at") is not None:
            wid = f"{where}:{w.get('pid', '?')}"
            stats["first_job"][wid] = min(stats["first_job"].get(wid, res["started_at"]), res["started_at"])
        if tasks_log is not None:
            tasks_log.write(json.dumps({"model": job.model, "sample_id": job.sample.id, "engine": eng.engine,
                                        **w, "clip_s": res["timings"].get("total"),
                                        "done_s": time.perf_counter() - t0}) + "\n")
            tasks_log.flush()

    def _crash(job: Job, reason: str, message: str) -> None:
        _add(
            Record(model=job.model, sample_id=job.sample.id, metric=n, metric_version=classes[n].version,
                   region=classes[n].region, status="error", reason=reason, message=message,
                   fingerprint=job.fingerprints.get(n))
            for n in [*job.metrics, *job.dataset_metrics]
        )

    bar = _Progress(len(jobs), enabled=progress)
    engine_info: dict[str, Any] = {"engine": eng.engine}
    try:
        if eng.engine == "ray" and jobs:
            from .ray_engine import execute as ray_execute

            engine_info.update(ray_execute(jobs, eng, cfg.workers, _collect, _crash, bar))
        elif cfg.workers <= 1 or len(jobs) <= 1:
            for job in jobs:
                _collect(job, process_job(job))
                bar.advance(f"{job.model}/{job.sample.id}")
        else:
            import multiprocessing as mp

            pool_started = time.time()
            with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=mp.get_context("spawn"),
                                     initializer=_worker_init) as ex:
                futs: dict[Future, Job] = {ex.submit(process_job, j): j for j in jobs}
                pending_f = set(futs)
                while pending_f:
                    done, pending_f = wait(pending_f, return_when=FIRST_COMPLETED)
                    for f in done:
                        job = futs[f]
                        try:
                            _collect(job, f.result())
                        except Exception as e:  # noqa: BLE001 - a crashed worker: record, go on
                            _crash(job, "worker_crash", repr(e))
                        bar.advance(f"{job.model}/{job.sample.id}")
    finally:
        bar.close()
        if tasks_log is not None:
            tasks_log.close()
    wall = time.perf_counter() - t0
    t_reduce = time.perf_counter()
    records_io_jobs = main_s["records_io"]

    # dataset-level metrics: reduce cached per-clip features, model vs GT
    for n in ds_metrics:
        m = classes[n]
        if not need[n] - {GT_MODEL} or cfg.shard is not None:  # a shard caches features; merge reduces
            continue
        gt_items = _feature_items(manifest, GT_MODEL, n, m, feature_dir, feat_fp)
        for model in manifest.models:
            if model not in need[n]:
                continue
            items = _feature_items(manifest, model, n, m, feature_dir, feat_fp)
            fp = fpr.dataset(n, [f for f, _ in items], [f for f, _ in gt_items])
            if store.reusable(record_key(model, DATASET, n), fp, keep):
                counts["reused"] += 1
                continue
            if not items or not gt_items:
                _add([Record(model=model, sample_id=DATASET, metric=n, metric_version=m.version, region=m.region,
                             status="skipped", reason="no_features", fingerprint=fp,
                             message=f"features for {len(items)} {model} clips and {len(gt_items)} GT clips")])
                continue
            feats = [np.load(p) for _, p in items]
            gt_feats = [np.load(p) for _, p in gt_items]
            rec = _record_for(m, model, DATASET, lambda m=m, feats=feats, gt_feats=gt_feats: m.reduce(feats, gt_feats))
            rec.fingerprint = fp
            _add([rec])

    main_s["dataset_reduce"] = time.perf_counter() - t_reduce - (main_s["records_io"] - records_io_jobs)
    main_s["records_io_jobs"] = records_io_jobs  # the part of records_io spent while the jobs ran (in wall_s)
    # a worker's start-up (process spawn, imports, initializer) delays its first job; in-process
    # (-j 1) there is none: imports then happen inside the first clip's stages
    startup = {} if eng.engine != "local" or cfg.workers <= 1 or len(jobs) <= 1 else \
        {w: max(0.0, t - pool_started) for w, t in sorted(stats["first_job"].items())}
    last = {"wall_s": wall, "clips": stats["clips"], "frames": stats["frames"], "timings_s": stats["timings"],
            "main_s": main_s, "worker_startup_s": startup,
            "records_reused": counts["reused"], "records_written": counts["written"],
            "artifacts": {**stats["artifacts"], "store": artifact_dir},
            "engine": engine_info, "clips_by_worker": stats["by_worker"]}
    if cfg.shard is not None and ds_metrics:
        last["dataset_metrics_deferred"] = "shard: clip features cached in features/; `avatar-eval merge` reduces them"
    if moved:
        last["moved_aside"] = [str(p) for p in moved]
    write_run_json(out, manifest, cfg, {"last_run": last}, weights=weights, resume=resume_cfg,
                   manifest_hash=manifest_hash, torch_kernels=stats["torch"])
    return store


def _feature_items(manifest: Manifest, model: str, n: str, m: Metric, feature_dir: str,
                   feat_fp: dict[tuple[str, str, str], str]) -> list[tuple[str, Path]]:
    """(fingerprint, feature file) of every clip of ``model`` whose features exist (manifest order)."""
    out = []
    for s in manifest.samples:
        fp = feat_fp.get((n, model, s.id))
        if fp is not None:
            p = feature_path(feature_dir, m, fp)
            if p.exists():
                out.append((fp, p))
    return out


class _Progress:
    def __init__(self, total: int, enabled: bool = True):
        self.p = None
        if enabled and total:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeRemainingColumn,
            )

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
