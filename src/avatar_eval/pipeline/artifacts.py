"""Registry of shared artifacts a clip context computes lazily and at most once.

Two kinds:

* *value* artifacts: ``fn(ctx) -> value`` (audio, VAD segments, RMS per frame, ...).
* *frame* artifacts: a :class:`FrameAnalyzer` fed every decoded frame. All frame artifacts a run
  needs for a clip are fed by one decode pass (:meth:`ClipContext.prepare`), so no metric ever
  decodes or landmarks a clip a second time.

Analyzers keep compact per-frame results (landmarks, scores), never the frames themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from .context import ClipContext


class FrameAnalyzer:
    """Consumes the frames of one decode pass; built with the clip context."""

    def __init__(self, ctx: "ClipContext"):
        self.ctx = ctx

    def update(self, frame: "Frame") -> None:
        raise NotImplementedError

    def finalize(self) -> Any:
        raise NotImplementedError

    def close(self) -> None:
        """Release model resources (called after finalize, or on error)."""


@dataclass(frozen=True)
class ArtifactSpec:
    name: str
    kind: str  # "value" | "frame"
    factory: Callable[..., Any]
    doc: str = ""
    persist: bool = False  # kept in the run's artifact store (pipeline/artifact_store.py): picklable, compact


_ARTIFACTS: dict[str, ArtifactSpec] = {}


def artifact(name: str, doc: str = "") -> Callable[[Callable[["ClipContext"], Any]], Callable[["ClipContext"], Any]]:
    def deco(fn: Callable[["ClipContext"], Any]) -> Callable[["ClipContext"], Any]:
        _ARTIFACTS[name] = ArtifactSpec(name, "value", fn, doc or (fn.__doc__ or "").strip())
        return fn

    return deco


def frame_artifact(name: str, doc: str = "") -> Callable[[type[FrameAnalyzer]], type[FrameAnalyzer]]:
    def deco(cls: type[FrameAnalyzer]) -> type[FrameAnalyzer]:
        _ARTIFACTS[name] = ArtifactSpec(name, "frame", cls, doc or (cls.__doc__ or "").strip())
        return cls

    return deco


def register_frame_artifact(name: str, factory: Callable[["ClipContext"], FrameAnalyzer], doc: str = "",
                            persist: bool = False) -> None:
    """``persist=True``: the value is picklable and worth keeping across jobs and reruns (a track, crop
    videos written into :meth:`ClipContext.artifact_workdir`); it is then computed once per clip per run."""
    _ARTIFACTS[name] = ArtifactSpec(name, "frame", factory, doc, persist)


def get_spec(name: str) -> ArtifactSpec:
    from ..errors import UnknownNameError
    from ..metrics.registry import _suggest

    _load_builtin()
    try:
        return _ARTIFACTS[name]
    except KeyError:
        raise UnknownNameError(f"unknown artifact {name!r}.{_suggest(name, _ARTIFACTS)}") from None


def list_artifacts() -> dict[str, ArtifactSpec]:
    _load_builtin()
    return dict(_ARTIFACTS)


_builtin_loaded = False


def _load_builtin() -> None:
    global _builtin_loaded
    if not _builtin_loaded:
        _builtin_loaded = True
        from ..metrics import registry
        from . import builtin_artifacts  # noqa: F401  (registers audio, VAD, face mesh, ...)

        registry._load()  # metric modules may register their own artifacts
