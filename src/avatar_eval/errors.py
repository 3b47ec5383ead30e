"""Exceptions shared by the whole toolkit."""

from __future__ import annotations


class AvatarEvalError(Exception):
    """Base class of every error raised on purpose by avatar-eval."""


class InputError(AvatarEvalError):
    """A sample cannot be evaluated because its input is bad (corrupt file, no audio, ...)."""


class MetricUndefined(AvatarEvalError):
    """The metric is mathematically undefined for this sample (e.g. lip-sync on a muted clip).

    Recorded as status ``skipped`` with reason ``undefined``: never as a number.
    """


class WeightsUnavailable(AvatarEvalError):
    """The model weights a metric needs cannot be found offline.

    The message names every place that was looked at and how to get the file.
    """


class UnknownNameError(AvatarEvalError, KeyError):
    """An unknown metric / suite / weight name (the message carries "did you mean")."""

    def __str__(self) -> str:  # KeyError would repr() the message
        return str(self.args[0]) if self.args else ""
