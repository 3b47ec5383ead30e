"""The Ray engine (``--engine ray``): one Ray task per clip, records streamed back to the driver.

Each task runs :func:`~avatar_eval.pipeline.runner.process_job`, the local runner's per-clip
function, unchanged: one decode per clip, the pair pass for paired metrics inside the generated
clip's task, features of dataset metrics written into the run directory's ``features/`` (a
shared filesystem on a cluster). The driver (:func:`avatar_eval.pipeline.runner.run`) alone
writes ``records.jsonl``, so the store, the resume fingerprints and the dataset reduction are the
local runner's.

* **Models once per worker.** Ray reuses a worker process for the next task of the same function
  (``max_calls=0`` on the remote function, also for GPU tasks, whose Ray default is a new
  process per task), so the per-process model cache (:mod:`avatar_eval.models.common`) loads
  each network once per worker, as the local process pool does.
* **Resources.** A task asks for one CPU; a task whose metrics use network weights also asks for
  ``ray_gpus_per_task`` GPUs when the cluster has GPUs (Face Mesh / decode-only clips never hold
  a GPU).
* **Failures.** ``process_job`` never raises (a metric's failure is a record), so a failed task
  means its worker process died (OOM kill, node loss): Ray retries it ``ray_max_retries`` times
  on a fresh worker, then the clip's metrics are recorded as ``error`` / ``worker_crash`` with
  Ray's reason, and the run goes on.
* **Back-pressure.** At most ``ray_max_in_flight`` tasks (default twice the cluster's CPUs) are
  submitted at once: a killed driver loses at most those, and a rerun resumes.

``ray`` is imported here only, and only when this engine runs (the package and the local engine
never import it: ``tests/pipeline/test_ray_engine.py``).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..errors import AvatarEvalError

if TYPE_CHECKING:  # pragma: no cover
    from ..options import EngineOptions
    from .runner import Job

#: environment variables a Ray worker needs from the driver (plugin metric modules)
FORWARDED_ENV = ("AVATAR_EVAL_METRIC_MODULES",)


class RayUnavailable(AvatarEvalError):
    """``--engine ray`` without the ``ray`` package."""


def require_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError as e:
        raise RayUnavailable(f"--engine ray needs the ray package ({e}): pip install 'avatar-eval[ray]' "
                             "(or pip install -c requirements/lock.txt ray)") from None


_worker_ready = False


def _ray_process_job(job: Job) -> dict[str, Any]:
    """The task body: the local runner's per-clip function, plus where it ran."""
    global _worker_ready
    import socket

    import ray

    from .runner import _worker_init, process_job

    if not _worker_ready:
        _worker_init()
        _worker_ready = True
    res = process_job(job)
    res["worker"] = {"host": socket.gethostname(), "pid": os.getpid(),
                     "node_id": ray.get_runtime_context().get_node_id(), "gpu_ids": list(ray.get_gpu_ids())}
    return res


def _uses_gpu(job: Job) -> bool:
    from ..metrics.registry import get_metric

    return any(get_metric(n).weights for n in [*job.metrics, *job.dataset_metrics])


def execute(jobs: list[Job], eng: EngineOptions, workers: int, collect: Callable[[Job, dict[str, Any]], None],
            crash: Callable[[Job, str, str], None], bar: Any) -> dict[str, Any]:
    """Run ``jobs`` as Ray tasks; ``collect`` each result on the driver as it arrives, ``crash``
    a clip whose retries are spent. Returns what the run summary records about the engine."""
    import ray

    t0 = time.perf_counter()
    started_here = not ray.is_initialized()
    if started_here:
        env = {k: os.environ[k] for k in FORWARDED_ENV if k in os.environ}
        kw: dict[str, Any] = {"include_dashboard": False, "log_to_driver": False, "configure_logging": False}
        if env:
            kw["runtime_env"] = {"env_vars": env}
        if eng.ray_address is None:
            # a local Ray instance on this machine: -j (or ray_num_cpus) CPUs
            kw["num_cpus"] = eng.ray_num_cpus if eng.ray_num_cpus is not None else max(1, workers)
            if eng.ray_num_gpus is not None:
                kw["num_gpus"] = eng.ray_num_gpus
        # "local": always a new instance, never one found in /tmp/ray (as address=None would)
        ray.init(address=eng.ray_address or "local", **kw)
    try:
        resources = ray.cluster_resources()
        startup_s = time.perf_counter() - t0
        has_gpu = resources.get("GPU", 0) > 0
        # max_calls=0 (never recycle the worker): Ray's default for GPU tasks is 1, a fresh process
        # per task, which would reload every network for every clip; the model cache keeps them
        remote = ray.remote(max_calls=0)(_ray_process_job)
        base = remote.options(num_cpus=1, max_retries=eng.ray_max_retries, retry_exceptions=False)
        gpu = remote.options(num_cpus=1, num_gpus=eng.ray_gpus_per_task, max_retries=eng.ray_max_retries,
                             retry_exceptions=False) if has_gpu else base
        cpus = int(resources.get("CPU", 1))
        window = eng.ray_max_in_flight if eng.ray_max_in_flight > 0 else max(2, 2 * cpus)
        pending: dict[Any, Job] = {}
        todo = iter(jobs)
        exhausted = False
        crashed = 0
        while pending or not exhausted:
            while not exhausted and len(pending) < window:
                job = next(todo, None)
                if job is None:
                    exhausted = True
                    break
                f = gpu if has_gpu and _uses_gpu(job) else base
                pending[f.remote(job)] = job
            if not pending:
                break
            ready, _ = ray.wait(list(pending), num_returns=1)
            for ref in ready:
                job = pending.pop(ref)
                try:
                    res = ray.get(ref)
                except ray.exceptions.RayError as e:  # the worker died more times than retried
                    crashed += 1
                    first = str(e).strip().splitlines()[0] if str(e).strip() else ""
                    crash(job, "worker_crash", f"{type(e).__name__} after {eng.ray_max_retries} retries: {first}")
                else:
                    collect(job, res)
                bar.advance(f"{job.model}/{job.sample.id}")
        return {"startup_s": startup_s, "cluster_cpus": cpus, "cluster_gpus": resources.get("GPU", 0),
                "nodes": sum(1 for n in ray.nodes() if n.get("Alive")), "clips_failed_after_retries": crashed,
                "max_in_flight": window, "address": eng.ray_address}
    finally:
        if started_here:
            ray.shutdown()
