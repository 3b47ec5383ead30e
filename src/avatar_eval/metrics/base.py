"""Metric base class: metadata lives on the metric, the computation reads a clip context.

A metric is a small class whose class attributes describe it (name, version, direction, what
it needs) and whose :meth:`compute` reads shared artifacts from a
:class:`~avatar_eval.pipeline.context.ClipContext`. Pure formulas live in
``avatar_eval.metrics.functional`` so tests can hit them without any model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal

if TYPE_CHECKING:  # pragma: no cover
    from ..pipeline.context import ClipContext, PairContext

Level = Literal["sample", "pair", "dataset"]


@dataclass
class MetricValue:
    """What ``compute`` returns: a finite number plus optional diagnostics."""

    value: float
    details: dict[str, Any] = field(default_factory=dict)


class Metric:
    #: registry name, ``<family>.<quantity>[.<region>][.<variant>]`` of the fields below (the
    #: registry checks it: metrics/naming.py), e.g. ``theval.lip_dynamics.compat``
    name: ClassVar[str] = ""
    #: naming family (metrics/naming.py FAMILIES): "theval", "jwbdh", "vbench", "landmarks", ...
    family: ClassVar[str] = ""
    #: what is measured, snake_case ("lip_dynamics", "ssim", "lpips_vgg")
    quantity: ClassVar[str] = ""
    #: bump when the numbers a metric produces change
    version: ClassVar[str] = "1"
    #: True / False, or None when "closer to GT is better" (THEval normalises against GT)
    higher_is_better: ClassVar[bool | None] = None
    #: protocol the metric belongs to (``avatar-eval metrics --protocol``): "theval", "jwbdh", "extras", ...
    protocol: ClassVar[str] = ""
    #: "paper" (published definition), "compat" (the public code), "offline" (a substitute
    #: estimator needing no downloaded weights) or "offline_compat" (both); in the name unless paper
    variant: ClassVar[str] = "paper"
    #: the network / tracker that produces the value ("face-mesh", "dwpose", "dis", "raft", ...)
    estimator: ClassVar[str] = ""
    #: artifact names read from the clip context (see avatar_eval.pipeline.artifacts)
    requires: ClassVar[tuple[str, ...]] = ()
    #: pair metrics: pair artifacts (pipeline/pairs.py) computed in the lockstep pass over both clips
    pair_requires: ClassVar[tuple[str, ...]] = ()
    #: weight-file names (see avatar_eval.weights) the metric needs
    weights: ClassVar[tuple[str, ...]] = ()
    #: "sample": one clip; "pair": generated clip vs its GT clip; "dataset": all clips of a model
    level: ClassVar[Level] = "sample"
    #: one line for `avatar-eval metrics`
    description: ClassVar[str] = ""
    #: the display name used in leaderboards (defaults to ``name``)
    display: ClassVar[str] = ""
    #: region in the name ("face", "mouth", "hands", "left_hand", ...); "full" (not in the name) for
    #: the whole frame / clip or a quantity that names what it measures (``theval.face_quality``)
    region: ClassVar[str] = "full"
    #: unit of the value, for reports ("" = unitless or not stated); recorded in run.json
    units: ClassVar[str] = ""

    def compute(self, ctx: "ClipContext") -> MetricValue | float:
        raise NotImplementedError

    def compute_pair(self, pair: "PairContext") -> MetricValue | float:
        raise NotImplementedError

    @classmethod
    def info(cls) -> dict[str, Any]:
        return {
            "name": cls.name,
            "family": cls.family,
            "quantity": cls.quantity,
            "version": cls.version,
            "higher_is_better": cls.higher_is_better,
            "protocol": cls.protocol,
            "variant": cls.variant,
            "estimator": cls.estimator,
            "requires": list(cls.requires),
            "weights": list(cls.weights),
            "level": cls.level,
            "region": cls.region,
            "units": cls.units,
            "description": cls.description,
        }
