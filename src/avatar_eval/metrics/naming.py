"""The metric naming grammar: ``<family>.<quantity>[.<region>][.<variant>]``.

A metric's name is a function of four metadata fields on its class (:class:`~.base.Metric`), and
the registry refuses a metric whose name is not :func:`metric_name` of them. Code that needs to
know a metric's region or variant reads the fields (from ``run.json``'s ``metrics`` entries, or
the registry: :func:`metric_fields`), never splits the name.

* ``family``: one of :data:`FAMILIES`;
* ``quantity``: snake_case; a different network that is not a substitute (LPIPS-VGG vs
  LPIPS-Alex) is part of the quantity (``lpips_vgg``);
* ``region``: one of :data:`REGIONS`, or ``"full"`` (the full frame / whole clip, or a quantity
  that names what it measures itself: ``theval.face_quality``): omitted from the name;
* ``variant``: one of :data:`VARIANTS`; ``paper`` (the protocol's published definition) is
  omitted from the name.

The network or tracker a metric runs is the ``estimator`` field, which is not part of the name.
See docs/architecture.md ("Metric names").
"""

from __future__ import annotations

import re
from typing import NamedTuple

FAMILIES: tuple[str, ...] = ("theval", "jwbdh", "vbench", "syncnet", "sync", "hands", "identity", "landmarks",
                             "blink", "motion", "beat", "quality", "sharpness", "qalign", "speech")
#: regions a name may carry; "full" (the whole frame / clip) is the field's value when the name has none
REGIONS: tuple[str, ...] = ("face", "mouth", "eyes", "head", "body", "hands", "left_hand", "right_hand")
FULL = "full"
#: paper: the protocol's published definition (omitted from the name); compat: the protocol's public
#: code; offline: the same quantity by a substitute estimator that needs no downloaded weights;
#: offline_compat: both
VARIANTS: tuple[str, ...] = ("paper", "compat", "offline", "offline_compat")

_QUANTITY = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")


class MetricFields(NamedTuple):
    """The naming fields of a metric (plus its estimator, which is not in the name)."""

    family: str
    quantity: str
    region: str = FULL
    variant: str = "paper"
    estimator: str = ""


def metric_name(family: str, quantity: str, region: str = FULL, variant: str = "paper",
                any_family: bool = False) -> str:
    """The name the grammar gives these fields; ``ValueError`` for a field outside its set
    (``any_family``: a plugin's own family, any snake_case word)."""
    if family not in FAMILIES and not (any_family and _QUANTITY.match(family or "")):
        raise ValueError(f"family {family!r} is not one of {', '.join(FAMILIES)}")
    if not _QUANTITY.match(quantity or ""):
        raise ValueError(f"quantity {quantity!r} is not snake_case")
    if region != FULL and region not in REGIONS:
        raise ValueError(f"region {region!r} is not {FULL!r} or one of {', '.join(REGIONS)}")
    if variant not in VARIANTS:
        raise ValueError(f"variant {variant!r} is not one of {', '.join(VARIANTS)}")
    parts = [family, quantity]
    if region != FULL:
        parts.append(region)
    if variant != "paper":
        parts.append(variant)
    return ".".join(parts)


def is_package_metric(cls: type) -> bool:
    """A metric of this package (avatar_eval.testing's probes are test fakes, checked as plugins)."""
    return cls.__module__.startswith("avatar_eval.") and not cls.__module__.startswith("avatar_eval.testing.")


def check_name(cls: type) -> None:
    """``ValueError`` unless ``cls.name`` is the grammar's name of ``cls``'s fields.

    Every metric of this package is checked. A metric registered from outside it (a plugin, a
    test's fake) is checked when it declares a ``family`` (its own family is allowed); one that
    declares none keeps a free-form name, and reports place it by its name alone."""
    plugin = not is_package_metric(cls)
    if plugin and not cls.family:  # type: ignore[attr-defined]
        return
    want = metric_name(cls.family, cls.quantity, cls.region, cls.variant, any_family=plugin)  # type: ignore[attr-defined]
    if cls.name != want:  # type: ignore[attr-defined]
        raise ValueError(
            f"metric {cls.name!r} ({cls.__name__}) does not follow the naming grammar: its fields "  # type: ignore[attr-defined]
            f"(family={cls.family!r}, quantity={cls.quantity!r}, region={cls.region!r}, "  # type: ignore[attr-defined]
            f"variant={cls.variant!r}) name it {want!r}"  # type: ignore[attr-defined]
        )


def fields_from_info(info: dict | None) -> MetricFields | None:
    """The fields of a ``run.json`` ``metrics`` entry (``Metric.info()``), or None when the entry
    predates them (a run written before the naming grammar)."""
    if not isinstance(info, dict) or not info.get("family") or not info.get("quantity"):
        return None
    return MetricFields(str(info["family"]), str(info["quantity"]), str(info.get("region") or FULL),
                        str(info.get("variant") or "paper"), str(info.get("estimator") or ""))


def metric_fields(name: str, run_metrics: dict | None = None) -> MetricFields | None:
    """Fields of metric ``name``: from ``run_metrics`` (``run.json``'s ``metrics``) when it has
    them, else from the registry (a deprecated old name through the alias table); None for a name
    the registry does not know (a plugin metric of another installation)."""
    got = fields_from_info((run_metrics or {}).get(name))
    if got is not None:
        return got
    from .registry import canonical_name, get_metric_class, is_registered

    new = canonical_name(name)
    if not is_registered(new):
        return None
    cls = get_metric_class(new)
    return MetricFields(cls.family, cls.quantity, cls.region, cls.variant, cls.estimator)
