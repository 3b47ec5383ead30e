"""Metrics: one module per family; pure formulas in ``functional``."""

from .base import Metric, MetricValue
from .registry import get_metric, get_metric_class, list_metrics, register, register_suite

__all__ = ["Metric", "MetricValue", "get_metric", "get_metric_class", "list_metrics", "register", "register_suite"]
