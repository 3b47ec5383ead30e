"""A probe metric for the engine tests and benchmarks, registered only on request.

``testing.probe`` reads nothing but the container header (value: the clip's frame count, a known
answer), then appends one line per computation to ``$AVATAR_EVAL_PROBE_LOG`` (model, sample,
process id, Ray node id when inside a Ray worker) and sleeps ``$AVATAR_EVAL_PROBE_SLEEP`` seconds
(default 0): a clip that is "in flight" long enough to kill its worker or driver, and a count of
how many times each clip was computed, on which node.

Not part of the built-in registry: a process registers it with
``AVATAR_EVAL_METRIC_MODULES=avatar_eval.testing.probe`` (the local pool's spawned workers and
Ray workers inherit it; the Ray engine forwards it).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ..metrics.base import Metric, MetricValue
from ..metrics.registry import register

LOG_ENV = "AVATAR_EVAL_PROBE_LOG"
SLEEP_ENV = "AVATAR_EVAL_PROBE_SLEEP"


def _ray_node() -> str | None:
    import sys

    if "ray" not in sys.modules:  # never import ray here: the local engine must not
        return None
    try:
        import ray

        return ray.get_runtime_context().get_node_id() if ray.is_initialized() else None
    except Exception:  # noqa: BLE001
        return None


@register
class Probe(Metric):
    name = "testing.probe"
    version = "1"
    protocol = "testing"
    higher_is_better = None
    description = "engine test probe: the clip's frame count; logs each computation and sleeps (env)"
    reads_options = ()

    def compute(self, ctx: Any) -> MetricValue:
        n = int(ctx.info.n_frames)
        log = os.environ.get(LOG_ENV)
        if log:
            line = json.dumps({"model": ctx.model, "sample_id": ctx.sample_id, "pid": os.getpid(),
                               "node_id": _ray_node(), "t": time.time()}) + "\n"
            fd = os.open(log, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line.encode())  # one write of a short line: O_APPEND keeps lines whole
            finally:
                os.close(fd)
        time.sleep(float(os.environ.get(SLEEP_ENV, "0") or 0))
        return MetricValue(float(n))
