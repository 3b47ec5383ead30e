"""THEval final score: per-metric closeness to GT, dimension scores and the equal-weight final.

Definition (paper Eq. 12; official code ``theval/scoring.py``, GitHub Newbyl/THEval @ cfe23fe)::

    s_k   = 1 - |m_k - m_GT,k| / |m_GT,k|        (m = a model's mean over its clips; may be < 0)
    final = mean of the available s_k             (equal weights)

Dimensions (official grouping): quality = global aesthetics, mouth quality, face quality;
naturalness = lip dynamics, head-motion dynamics, eyebrow dynamics; synchronization = silent-lip
stability, lip sync. A dimension score is the mean of its available metric scores.

Differences from the official script, on purpose:

* the official script refuses a table with a missing metric; here a missing metric is listed
  (``missing`` column, with the reason) and scored by the ``missing`` rule:

  - ``"worst"`` (default): every model is averaged over the same metrics — those with a GT value
    that at least one scored model has. A model without a value for such a metric gets, for the
    final and dimension scores only, the **lowest score any model obtained on it, or 0 if that is
    higher** (``min(0, worst)``; 0 is THEval's "as far from GT as GT itself"), flagged in the
    ``penalized`` column and the notes. A model can therefore never rank above another by
    *missing* a metric the other has (a muted clip whose lip-sync is undefined ranks last on lip
    sync). Its per-metric ``score.<slot>`` stays NaN: no measurement is invented.
  - ``"common"``: final and dimension scores use only the metrics every scored model has; the
    others are listed in ``dropped`` and the notes.
  - ``"zero"``: as ``"worst"`` but the penalty is always 0.
  - ``"drop"``: THEval's own rule, faithfully: each model averages the metrics it has (models may
    then average different numbers of metrics; the table is sorted by that number first).

  A metric no scored model has (or without a GT value) is left out for every model under every
  rule. See docs/theval.md ("Final score with missing metrics") for why ``"worst"`` is the default.
* GT values come from the run's own GT clips (model ``"gt"``) or from a stored
  :class:`~avatar_eval.protocols.theval_reference.ReferenceSet`, which must be valid for the
  metric variant being scored (else :class:`ReferenceMismatchError`, unless forced).
* ``|m_GT| <= 1e-9`` raises :class:`ZeroGTError` (as the official script does).

Each THEval *slot* maps to one of our metric names depending on the variant:

=====================  ===============================  ====================================
slot                   ``paper`` (default)              ``compat`` (public-code behaviour)
=====================  ===============================  ====================================
global_aesthetics      theval.global_aesthetics         theval.global_aesthetics
mouth_quality          theval.mouth_quality (SPAQ)      theval.mouth_quality.compat (KonIQ)
face_quality           theval.face_quality              theval.face_quality.compat
lip_dynamics           theval.lip_dynamics              theval.lip_dynamics.compat
head_motion            theval.head_motion (FaceXFormer) theval.head_motion (FaceXFormer)
eyebrow_dynamics       theval.eyebrow_dynamics          theval.eyebrow_dynamics.compat
silent_lip_stability   theval.silent_lip_stability      theval.silent_lip_stability.compat
lip_sync               theval.lip_sync                  theval.lip_sync.compat
=====================  ===============================  ====================================

``head_motion="mesh_pose"`` uses ``theval.head_motion.offline`` instead: a pose from the
face-mesh geometry, a *different estimator* from the paper's FaceXFormer; it is only used when
asked for and is labelled in every output.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import pandas as pd

from ..errors import AvatarEvalError
from ..results.aggregate import aggregate, model_order
from ..results.schema import GT_MODEL, Record
from .theval_reference import ReferenceSet, get_reference

__all__ = [
    "DIMENSIONS",
    "GT_EPSILON",
    "HEAD_MOTION_ESTIMATORS",
    "MISSING_RULES",
    "ReferenceMismatchError",
    "SLOTS",
    "Slot",
    "THEvalResult",
    "THEvalScoreError",
    "ZeroGTError",
    "all_theval_metric_names",
    "detect_variant",
    "normalised_score",
    "slot_metrics",
    "theval_score",
]

Variant = Literal["paper", "compat", "auto"]
Missing = Literal["worst", "common", "zero", "drop"]

#: how a metric that some models have and others miss enters the final / dimension scores
MISSING_RULES: dict[str, str] = {
    "worst": "a missing metric scores min(0, the lowest score any model obtained on it); every model is averaged "
             "over the same metrics",
    "common": "only the metrics every model has are averaged; the others are dropped for every model",
    "zero": "a missing metric scores 0; every model is averaged over the same metrics",
    "drop": "THEval's rule: each model averages the metrics it has (missing ones are dropped from its average)",
}

#: |m_GT| at or below this is treated as zero (the official script's epsilon)
GT_EPSILON = 1e-9


class THEvalScoreError(AvatarEvalError, ValueError):
    """The THEval final score cannot be computed as asked."""


class ZeroGTError(THEvalScoreError):
    """A GT value is zero: 1 - |m - m_GT| / |m_GT| is undefined."""


class ReferenceMismatchError(THEvalScoreError):
    """A reference set's GT values were measured with another metric variant than the one scored."""


@dataclass(frozen=True)
class Slot:
    key: str
    dimension: str
    #: the official THEval column name
    label: str
    paper: str
    compat: str


SLOTS: tuple[Slot, ...] = (
    Slot("global_aesthetics", "quality", "Global aesthetic", "theval.global_aesthetics", "theval.global_aesthetics"),
    Slot("mouth_quality", "quality", "Mouth quality", "theval.mouth_quality", "theval.mouth_quality.compat"),
    Slot("face_quality", "quality", "Face quality", "theval.face_quality", "theval.face_quality.compat"),
    Slot("lip_dynamics", "naturalness", "Lip dynamics", "theval.lip_dynamics", "theval.lip_dynamics.compat"),
    Slot("head_motion", "naturalness", "Head motion dynamics", "theval.head_motion", "theval.head_motion"),
    Slot(
        "eyebrow_dynamics", "naturalness", "Eyebrow dynamics", "theval.eyebrow_dynamics",
        "theval.eyebrow_dynamics.compat",
    ),
    Slot(
        "silent_lip_stability", "synchronization", "Silent lip stability", "theval.silent_lip_stability",
        "theval.silent_lip_stability.compat",
    ),
    Slot("lip_sync", "synchronization", "Lip sync", "theval.lip_sync", "theval.lip_sync.compat"),
)
_SLOT = {s.key: s for s in SLOTS}

DIMENSIONS: dict[str, tuple[str, ...]] = {
    d: tuple(s.key for s in SLOTS if s.dimension == d) for d in ("quality", "naturalness", "synchronization")
}

#: head-motion estimator -> metric name
HEAD_MOTION_ESTIMATORS: dict[str, str] = {
    "facexformer": "theval.head_motion",
    "mesh_pose": "theval.head_motion.offline",
}


def slot_metrics(variant: str = "paper", head_motion: str = "facexformer") -> dict[str, str]:
    """slot -> metric name for a variant (``paper`` / ``compat``) and head-motion estimator."""
    if variant not in ("paper", "compat"):
        raise ValueError(f"variant must be 'paper' or 'compat', got {variant!r}")
    if head_motion not in HEAD_MOTION_ESTIMATORS:
        raise ValueError(f"head_motion must be one of {sorted(HEAD_MOTION_ESTIMATORS)}, got {head_motion!r}")
    out = {s.key: (s.paper if variant == "paper" else s.compat) for s in SLOTS}
    out["head_motion"] = HEAD_MOTION_ESTIMATORS[head_motion]
    return out


def all_theval_metric_names() -> set[str]:
    """Every metric name any THEval slot can use (both variants, both head-motion estimators)."""
    names = {s.paper for s in SLOTS} | {s.compat for s in SLOTS}
    return names | set(HEAD_MOTION_ESTIMATORS.values())


def detect_variant(metrics: Iterable[str]) -> str | None:
    """``"compat"`` when more variant-specific slots are present as compat than as paper metrics,
    ``"paper"`` otherwise; ``None`` when no THEval metric is present at all."""
    present = set(metrics)
    if not present & all_theval_metric_names():
        return None
    n_paper = sum(1 for s in SLOTS if s.paper != s.compat and s.paper in present)
    n_compat = sum(1 for s in SLOTS if s.paper != s.compat and s.compat in present)
    return "compat" if n_compat > n_paper else "paper"


def normalised_score(value: float, gt: float, *, what: str = "metric") -> float:
    """``1 - |value - gt| / |gt|``; raises :class:`ZeroGTError` when ``|gt| <= GT_EPSILON``.

    >>> normalised_score(12.0, 10.0)
    0.8
    >>> normalised_score(35.0, 10.0)   # more than 2x away from GT: negative
    -1.5
    """
    if not (math.isfinite(value) and math.isfinite(gt)):
        raise THEvalScoreError(f"{what}: value {value} / GT {gt} must be finite")
    if abs(gt) <= GT_EPSILON:
        raise ZeroGTError(
            f"{what}: the GT value is {gt!r}; THEval normalises by |m_GT|, which is undefined for 0. "
            "Check the GT clips of this metric (e.g. a 0.0 from the official code means 'no face')."
        )
    return 1.0 - abs(value - gt) / abs(gt)


@dataclass
class THEvalResult:
    """What :func:`theval_score` computed, with everything needed to say how."""

    #: the variant scored ("paper" / "compat"); ``requested_variant`` may be "auto"
    variant: str
    requested_variant: str
    head_motion: str
    #: slot -> metric name used
    slots: dict[str, str]
    #: "run GT clips (model 'gt')" or the reference set's description
    gt_source: str
    reference: ReferenceSet | None
    forced_reference: bool
    #: slot -> GT value (NaN when none)
    gt_values: dict[str, float]
    #: one row per (model, slot): value, n_clips, gt_value, gt_metric (what the GT value was measured
    #: with), score, status (used/missing), reason
    long: pd.DataFrame
    #: one row per model: final, dimensions, n_used (metrics with the model's own value), n_scored
    #: (metrics in its final), used, missing, penalized, dropped, score.<slot>, value.<slot>
    table: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: the rule for missing metrics (see :data:`MISSING_RULES`)
    missing_rule: str = "worst"
    #: model -> {slot: score it was given for a metric it misses} ("worst" / "zero")
    penalties: dict[str, dict[str, float]] = field(default_factory=dict)
    #: slots left out of every model's final although some model has them ("common")
    dropped_slots: list[str] = field(default_factory=list)

    def final_scores(self) -> dict[str, float]:
        return dict(zip(self.table["model"], self.table["final"]))

    def used(self, model: str) -> list[str]:
        row = self.long[(self.long["model"] == model) & (self.long["status"] == "used")]
        return list(row["slot"])

    def missing(self, model: str) -> dict[str, str]:
        row = self.long[(self.long["model"] == model) & (self.long["status"] == "missing")]
        return dict(zip(row["slot"], row["reason"]))

    def to_markdown(self) -> str:
        return theval_markdown(self)

    def missing_reasons(self) -> list[str]:
        """One line per (slot, reason): ``"all models · slot: reason"`` when every model shares it."""
        miss = self.long[self.long["status"] == "missing"]
        models = list(self.table["model"])
        lines = []
        for (slot, reason), grp in miss.groupby(["slot", "reason"], sort=False):
            who = "all models" if len(models) > 1 and set(grp["model"]) == set(models) else ", ".join(grp["model"])
            lines.append(f"{who} · {slot}: {reason}")
        return lines

    def missing_slots(self, model: str) -> list[str]:
        return list(self.missing(model))


def _pick_rows(summary: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Summary rows of one metric: sample-level if any (else dataset-level), one region."""
    rows = summary[summary["metric"] == metric]
    if rows.empty:
        return rows
    if (rows["level"] == "sample").any():
        rows = rows[rows["level"] == "sample"]
    regions = rows["region"].unique()
    if len(regions) > 1:
        rows = rows[rows["region"] == "full"] if "full" in regions else rows[rows["region"] == sorted(regions)[0]]
    return rows


def _no_value_reason(row: Mapping[str, object]) -> str:
    parts = []
    for status, col in (("skipped", "skip_reasons"), ("error", "error_reasons")):
        counts = json.loads(str(row.get(col) or "{}"))
        if counts:
            parts.append(f"{sum(counts.values())} {status}: " + ", ".join(f"{k} x{v}" for k, v in counts.items()))
    return "no clip with a value" + (f" ({'; '.join(parts)})" if parts else "")


def theval_score(
    data: Sequence[Record] | pd.DataFrame,
    *,
    variant: Variant = "paper",
    head_motion: str = "facexformer",
    reference: str | ReferenceSet | None = None,
    force_reference: bool = False,
    gt_model: str = GT_MODEL,
    models: Sequence[str] | None = None,
    missing: Missing = "worst",
) -> THEvalResult:
    """THEval per-metric, dimension and final scores of every model of a run.

    Parameters
    ----------
    data:
        the run's records, or the frame of :func:`~avatar_eval.results.aggregate.aggregate`.
    variant:
        ``"paper"`` (default), ``"compat"`` (public-code behaviour) or ``"auto"`` (the family
        most present in ``data``, see :func:`detect_variant`). Metrics of the other family are
        never substituted: a slot whose metric is absent is listed as missing, with a hint.
    head_motion:
        ``"facexformer"`` (the paper's estimator, ``theval.head_motion``) or ``"mesh_pose"``
        (``theval.head_motion.offline``, a different estimator, labelled as such).
    reference:
        ``None``: GT values are the means of the run's GT clips (model ``gt_model``). Otherwise a
        built-in reference name (see :mod:`~avatar_eval.protocols.theval_reference`) or a
        :class:`ReferenceSet`; it must be valid for the metrics scored, else
        :class:`ReferenceMismatchError` unless ``force_reference=True`` (the output says so).
    models:
        models to score (default: every model in ``data`` except ``gt_model``).
    missing:
        how a metric that some scored models have and others miss enters the final and dimension
        scores (:data:`MISSING_RULES`): ``"worst"`` (default; the missing metric scores
        ``min(0, lowest score of the models that have it)``), ``"common"`` (only metrics every model
        has), ``"zero"`` (the missing metric scores 0) or ``"drop"`` (THEval's rule: each model
        averages what it has, so a model can gain by missing a metric). Per-metric scores
        (``score.<slot>``) are the models' own under every rule.
    """
    if missing not in MISSING_RULES:
        raise ValueError(f"missing must be one of {sorted(MISSING_RULES)}, got {missing!r}")
    if isinstance(data, pd.DataFrame):
        summary = data
    else:
        summary = aggregate(list(data), n_boot=0)
    present = set(summary["metric"]) if not summary.empty else set()

    requested = variant
    if variant == "auto":
        variant = detect_variant(present) or "paper"  # type: ignore[assignment]
    slots = slot_metrics(variant, head_motion)
    notes: list[str] = []
    if requested == "auto":
        notes.append(f"variant 'auto' resolved to '{variant}' from the metrics present")
    if head_motion != "facexformer":
        notes.append(
            f"head motion from '{head_motion}' ({slots['head_motion']}): a different pose estimator "
            "from the paper's FaceXFormer; scores are not comparable with published ones"
        )

    ref = get_reference(reference) if reference is not None else None
    forced = False
    if ref is not None:
        mismatched = {
            k: (m, ref.metrics.get(k)) for k, m in slots.items() if k in ref.values and ref.metrics.get(k) != m
        }
        if mismatched and not force_reference:
            detail = "; ".join(f"{k}: scoring {m}, reference valid for {r}" for k, (m, r) in mismatched.items())
            raise ReferenceMismatchError(
                f"reference set {ref.describe()} was measured with other metric variants than the ones "
                f"scored ({detail}). Score the '{ref.variant}' variant (variant='{ref.variant}'), use "
                "the run's own GT clips (reference=None), or pass force_reference=True to normalise "
                "anyway (results are then labelled as forced)."
            )
        if mismatched:
            forced = True
            notes.append(
                "FORCED reference: GT values of " + ", ".join(sorted(mismatched))
                + f" come from '{ref.name}' ({ref.variant} variant family) but the scored metrics are "
                "other variants"
            )
        gt_source = f"reference '{ref.name}' ({ref.variant} variant family; {ref.source})"
        if ref.dataset:
            notes.append(f"reference GT values describe: {ref.dataset}")
    else:
        gt_source = f"run GT clips (model '{gt_model}')"

    all_models = model_order(summary["model"]) if not summary.empty else []
    if models is None:
        models = [m for m in all_models if m != gt_model]
    models = list(models)

    # --- GT value of every slot
    gt_values: dict[str, float] = {}
    gt_missing: dict[str, str] = {}
    gt_n: dict[str, int] = {}
    for key, metric in slots.items():
        if ref is not None:
            if key in ref.values:
                gt_values[key] = ref.values[key]
            else:
                gt_missing[key] = f"reference '{ref.name}' has no value for this metric"
            continue
        rows = _pick_rows(summary, metric)
        g = rows[rows["model"] == gt_model]
        if g.empty:
            gt_missing[key] = f"no GT value ({metric} not computed for model '{gt_model}')"
        elif math.isnan(float(g["mean"].iloc[0])):
            gt_missing[key] = f"no GT value (model '{gt_model}': {_no_value_reason(g.iloc[0].to_dict())})"
        else:
            gt_values[key] = float(g["mean"].iloc[0])
            gt_n[key] = int(g["n_ok"].iloc[0])
    for key, v in gt_values.items():
        if abs(v) <= GT_EPSILON:
            raise ZeroGTError(
                f"THEval {key} ({slots[key]}): the GT value from {gt_source} is {v!r}; the normalisation "
                "1 - |m - m_GT| / |m_GT| is undefined for a zero GT. Check the GT clips of this metric "
                "(the official code returns 0.0 when no face is found)."
            )

    # --- per (model, slot)
    long_rows: list[dict[str, object]] = []
    for model in models:
        for s in SLOTS:
            metric = slots[s.key]
            row: dict[str, object] = {
                "model": model,
                "slot": s.key,
                "dimension": s.dimension,
                "metric": metric,
                "value": math.nan,
                "n_clips": 0,
                "gt_value": gt_values.get(s.key, math.nan),
                "gt_n_clips": gt_n.get(s.key, 0),
                "gt_metric": (ref.metrics.get(s.key, "") if ref is not None else metric),
                "score": math.nan,
                "status": "missing",
                "reason": "",
            }
            rows = _pick_rows(summary, metric)
            mrow = rows[rows["model"] == model]
            if mrow.empty:
                if metric not in present:
                    reason = f"{metric} not computed in this run"
                    alt = _alternative_present(s, metric, present)
                    if alt:
                        reason += f" ({alt})"
                else:
                    reason = f"{metric} not computed for this model"
            elif math.isnan(float(mrow["mean"].iloc[0])):
                reason = _no_value_reason(mrow.iloc[0].to_dict())
            else:
                row["value"] = float(mrow["mean"].iloc[0])
                row["n_clips"] = int(mrow["n_ok"].iloc[0])
                reason = ""
            if not reason and s.key in gt_missing:
                reason = gt_missing[s.key]
            if not reason:
                row["score"] = normalised_score(float(row["value"]), gt_values[s.key], what=f"{s.key} ({metric})")
                row["status"] = "used"
            row["reason"] = reason
            long_rows.append(row)
    long = pd.DataFrame(
        long_rows,
        columns=["model", "slot", "dimension", "metric", "value", "n_clips", "gt_value", "gt_n_clips",
                 "gt_metric", "score", "status", "reason"],
    )

    # --- which slots enter every model's final, and the score a missing one gets
    own = {m: dict(zip(g["slot"], g["score"].astype(float))) for m, g in long[long["status"] == "used"].groupby("model")}
    own = {m: own.get(m, {}) for m in models}
    had = [s.key for s in SLOTS if any(s.key in own[m] for m in models)]  # scoreable: GT + ≥ 1 model
    penalties: dict[str, dict[str, float]] = {}
    dropped: list[str] = []
    if missing == "common":
        common = [k for k in had if all(k in own[m] for m in models)]
        dropped = [k for k in had if k not in common]
        averaged = {m: {k: own[m][k] for k in common} for m in models}
    elif missing in ("worst", "zero"):
        averaged = {}
        for m in models:
            sc: dict[str, float] = {}
            for k in had:
                if k in own[m]:
                    sc[k] = own[m][k]
                else:
                    worst = min(own[o][k] for o in models if k in own[o])
                    sc[k] = min(0.0, worst) if missing == "worst" else 0.0
                    penalties.setdefault(m, {})[k] = sc[k]
            averaged[m] = sc
    else:  # "drop": THEval's rule
        averaged = own
    long["score_used"] = [averaged.get(m, {}).get(k, math.nan) for m, k in zip(long["model"], long["slot"])]
    long["penalized"] = [k in penalties.get(m, {}) for m, k in zip(long["model"], long["slot"])]

    # --- per model
    table_rows = []
    for model in models:
        lm = long[long["model"] == model]
        used = lm[lm["status"] == "used"]
        scores = own[model]
        avg = averaged[model]
        out: dict[str, object] = {"model": model}
        out["final"] = float(sum(avg.values()) / len(avg)) if avg else math.nan
        for dim, keys in DIMENSIONS.items():
            vals = [avg[k] for k in keys if k in avg]
            out[dim] = float(sum(vals) / len(vals)) if vals else math.nan
        out["n_used"] = len(scores)
        out["n_scored"] = len(avg)
        out["n_slots"] = len(SLOTS)
        out["used"] = ";".join(slots[k] for k in used["slot"])
        miss = lm[lm["status"] == "missing"]
        out["missing"] = "; ".join(f"{k}: {r}" for k, r in zip(miss["slot"], miss["reason"]))
        out["penalized"] = "; ".join(f"{k}={v:.4f}" for k, v in penalties.get(model, {}).items())
        out["dropped"] = ";".join(k for k in dropped if k in scores)
        for s in SLOTS:
            out[f"score.{s.key}"] = scores.get(s.key, math.nan)
        for s in SLOTS:
            v = lm.loc[lm["slot"] == s.key, "value"]
            out[f"value.{s.key}"] = float(v.iloc[0]) if len(v) else math.nan
        table_rows.append(out)
    cols = ["model", "final", *DIMENSIONS, "n_used", "n_scored", "n_slots", "used", "missing", "penalized", "dropped"]
    cols += [f"score.{s.key}" for s in SLOTS] + [f"value.{s.key}" for s in SLOTS]
    table = pd.DataFrame(table_rows, columns=cols)
    if not table.empty:
        key = "n_used" if missing == "drop" else "n_scored"
        table = table.sort_values([key, "final"], ascending=[False, False], kind="stable", na_position="last")
        table = table.reset_index(drop=True)
        if missing == "drop" and table["n_used"].nunique() > 1:
            notes.append(
                "models' final scores average different numbers of metrics (see n_used / missing): "
                "compare final scores only between rows with the same metric set"
            )
    if missing != "drop":
        notes.append(f"missing metrics ('{missing}'): {MISSING_RULES[missing]}")
    for m, pen in penalties.items():
        for k, v in pen.items():
            notes.append(f"{m} · {k}: missing ({_own_reason(long, m, k)}); scored {v:.4f} in the final and "
                         f"{_SLOT[k].dimension} scores ('{missing}' rule)")
    for k in dropped:
        who = [m for m in models if k not in own[m]]
        notes.append(f"{k}: left out of every model's final and {_SLOT[k].dimension} score ('common' rule): "
                     f"missing for {', '.join(who)}")
    for key, why in gt_missing.items():
        if slots[key] in present:  # absent metrics are already reported per model
            notes.append(f"{key}: {why}")
    return THEvalResult(
        variant=variant,
        requested_variant=requested,
        head_motion=head_motion,
        slots=slots,
        gt_source=gt_source,
        reference=ref,
        forced_reference=forced,
        gt_values={k: gt_values.get(k, math.nan) for k in slots},
        long=long,
        table=table,
        notes=notes,
        missing_rule=missing,
        penalties=penalties,
        dropped_slots=dropped,
    )


def _own_reason(long: pd.DataFrame, model: str, slot: str) -> str:
    """The recorded reason a model has no score for a slot."""
    r = long[(long["model"] == model) & (long["slot"] == slot)]["reason"]
    return str(r.iloc[0]) if len(r) and r.iloc[0] else "no value"


def _alternative_present(slot: Slot, metric: str, present: set[str]) -> str:
    hints = []
    for other, how in (
        (slot.paper, "variant='paper'"),
        (slot.compat, "variant='compat'"),
        *[(m, f"head_motion='{k}'") for k, m in HEAD_MOTION_ESTIMATORS.items() if slot.key == "head_motion"],
    ):
        if other != metric and other in present and f"{other} is present" not in " ".join(hints):
            hints.append(f"{other} is present: use {how}")
    return "; ".join(hints)


def _f(x: object, digits: int = 4) -> str:
    try:
        v = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(x)
    return "—" if math.isnan(v) else f"{v:.{digits}f}"


def theval_markdown(res: THEvalResult) -> str:
    """A Markdown report of a :class:`THEvalResult` (what was averaged and what was missing)."""
    esc = lambda s: str(s).replace("|", "\\|")  # noqa: E731
    lines = ["# THEval scores", ""]
    variant = res.variant if res.requested_variant == res.variant else f"{res.variant} (from '{res.requested_variant}')"
    lines.append(f"- Metric variant: **{variant}**; head motion: **{res.head_motion}** ({res.slots['head_motion']})")
    forced = " — **FORCED** onto other variants" if res.forced_reference else ""
    lines.append(f"- GT values: {res.gt_source}{forced}")
    lines.append(
        "- Per metric: s = 1 − |m − m_GT| / |m_GT| (m = the model's mean over its clips; can be negative). "
        "Dimension = mean of its metric scores; final = equal-weight mean of the metric scores "
        f"(out of {len(SLOTS)})."
    )
    lines.append("- Lip sync: THEval's published lip-sync compares per-clip normalised levels frame by frame and "
                 "cannot tell a 0.5 s audio shift, or often another speaker's audio, from the real thing "
                 "(docs/theval.md); read the offline `sync.av_offset` / `sync.av_confidence` next to it "
                 "(`-s sync`), or SyncNet's LSE-C/D where its weights are present.")
    lines.append(f"- Missing metrics (`missing='{res.missing_rule}'`): {MISSING_RULES[res.missing_rule]}. "
                 "Per-metric scores are only ever the models' own.")
    lines.append("")
    if res.table.empty:
        lines += ["No model to score.", ""]
    else:
        lines.append("| model | final | quality | naturalness | synchronization | metrics with a value | missing | "
                     "scored as missing |")
        lines.append("|---|---|---|---|---|---|---|---|")
        for r in res.table.to_dict("records"):
            used = r["used"].split(";") if r["used"] else []
            pen = res.penalties.get(r["model"], {})
            scored = ", ".join(f"{k} = {v:.4f}" for k, v in pen.items())
            if r.get("dropped"):
                scored = "; ".join(x for x in (scored, "left out: " + r["dropped"].replace(";", ", ")) if x)
            lines.append(
                f"| {esc(r['model'])} | {_f(r['final'])} | {_f(r['quality'])} | {_f(r['naturalness'])} | "
                f"{_f(r['synchronization'])} | {r['n_used']}/{r['n_slots']}: {esc(', '.join(used)) or '—'} | "
                f"{esc(', '.join(res.missing_slots(r['model']))) or '—'} | {esc(scored) or '—'} |"
            )
        lines += ["", "## Per-metric scores", ""]
        lines.append("| model | " + " | ".join(s.key for s in SLOTS) + " |")
        lines.append("|---" * (len(SLOTS) + 1) + "|")
        for r in res.table.to_dict("records"):
            lines.append(
                f"| {esc(r['model'])} | " + " | ".join(_f(r[f'score.{s.key}']) for s in SLOTS) + " |"
            )
        reasons = res.missing_reasons()
        if reasons:
            lines += ["", "## Why metrics are missing", ""] + [f"- {esc(x)}" for x in reasons]
    lines += ["", "## GT values", "", "| slot | dimension | metric | GT value |", "|---|---|---|---|"]
    for s in SLOTS:
        lines.append(f"| {s.key} | {s.dimension} | {res.slots[s.key]} | {_f(res.gt_values[s.key], 6)} |")
    if res.notes:
        lines += ["", "## Notes", ""] + [f"- {esc(n)}" for n in res.notes]
    lines.append("")
    return "\n".join(lines)
