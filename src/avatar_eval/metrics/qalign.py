"""Q-Align IQA and aesthetic scores (1–5), per sampled frame, mean over the clip.

Frames are sampled at ``options["qalign_fps"]`` (default 1 per second: frame round(k·fps)),
scored in batches of 8 with Q-Align's image mode (``q-future/one-align``). Needs the model
directory (``q_align_onealign``) and the optional extra; otherwise recorded as unavailable.
"""

from __future__ import annotations

import numpy as np

from ..errors import MetricUndefined
from ..models import common as C
from ..options import QAlignOptions, family_options
from ..pipeline.artifacts import FrameAnalyzer, register_frame_artifact
from .base import Metric, MetricValue
from .registry import register, register_suite


class QAlignAnalyzer(FrameAnalyzer):
    def __init__(self, ctx):
        super().__init__(ctx)
        from ..models.qalign import WEIGHT, load_qalign

        self.opts = ctx.options or {}
        self.device = C.default_device(self.opts)
        p = C.weight_path(WEIGHT, C.option_path(self.opts, WEIGHT))
        self.model = C.cached_model(("qalign", str(p), self.device), lambda: load_qalign(p, self.device))
        self.step = float(ctx.fps) / family_options(self.opts, QAlignOptions).fps
        self.next_k = 0
        self.items: list[np.ndarray] = []
        self.scores = {"quality": [], "aesthetic": []}

    def update(self, frame):
        if frame.index == int(round(self.next_k * self.step)):
            self.next_k += 1
            self.items.append(frame.rgb)
            if len(self.items) >= 8:
                self._run()

    def _run(self):
        from ..models.qalign import qalign_scores

        if self.items:
            for task in self.scores:
                self.scores[task].extend(qalign_scores(self.model, self.items, task))
            self.items = []

    def finalize(self):
        self._run()
        return {k: np.asarray(v) for k, v in self.scores.items()}


register_frame_artifact("qalign", QAlignAnalyzer, "Q-Align quality and aesthetic scores of frames sampled at 1 fps")


class _QAlign(Metric):
    protocol = "qalign"
    variant = "paper"
    higher_is_better = True
    requires = ("qalign",)
    weights = ("q_align_onealign",)
    task = ""

    def compute(self, ctx):
        s = ctx.get("qalign")[self.task]
        if s.size == 0:
            raise MetricUndefined("no frame sampled")
        return MetricValue(float(np.mean(s)), {"n_frames": int(s.size), "scale": "1-5"})


@register
class QAlignIQA(_QAlign):
    name = "qalign.iqa"
    family = "qalign"
    quantity = "iqa"
    estimator = "q-align"
    task = "quality"
    description = "Q-Align image quality (1–5), frames at 1 fps, mean"


@register
class QAlignAesthetic(_QAlign):
    name = "qalign.aesthetic"
    family = "qalign"
    quantity = "aesthetic"
    estimator = "q-align"
    task = "aesthetic"
    description = "Q-Align aesthetic score (ASE, 1–5), frames at 1 fps, mean"


register_suite("qalign", ["qalign.iqa", "qalign.aesthetic"], "Q-Align IQA and aesthetic scores (needs the optional extra)")
