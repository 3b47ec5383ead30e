"""Where the videos of a study come from: a run directory's manifest, or an explicit mapping.

The result is always ``{model: {sample_id: Path}}`` with the GT clips under model ``"gt"``.

Accepted inputs (tolerant on purpose: the run's manifest format is shared with the runner):

* a run directory whose ``run.json`` has a ``"manifest"`` entry, which may be
  - a list of samples, or ``{"samples": [...]}``; a sample is a dict with an id
    (``id`` / ``sample_id`` / ``name``), per-model paths under ``videos`` / ``models`` /
    ``paths`` / ``generated`` (``{model: path}``) and the GT path under ``gt`` / ``gt_video`` /
    ``reference`` / ``reference_video`` / ``video`` (a string);
  - a list of flat rows ``{"model", "sample_id", "path" | "video"}``;
  - ``{model: {sample_id: path}}`` directly;
  - a path (string, or ``{"path": ...}``) to a JSON / YAML / JSONL manifest file holding any of
    the above.
* an explicit mapping file (JSON or YAML) ``{model: {sample_id: path}}`` (``--videos``); it
  overrides / extends what the run provides.

Relative paths are resolved against the file that names them (or the run directory).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..results.schema import GT_MODEL

VideoTable = dict[str, dict[str, Path]]

_ID_KEYS = ("id", "sample_id", "name", "sample")
_MODELS_KEYS = ("videos", "models", "paths", "generated", "outputs")
_GT_KEYS = ("gt", "gt_video", "reference", "reference_video", "gt_path", "video")
_PATH_KEYS = ("path", "video", "video_path", "file")


class SourceError(ValueError):
    """The videos of a study cannot be determined."""


def _read_structured(path: Path) -> Any:
    text = path.read_text("utf-8")
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    if suffix in (".yaml", ".yml"):
        import yaml

        return yaml.safe_load(text)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        import yaml

        return yaml.safe_load(text)


def _resolve(p: Any, base: Path) -> Path:
    if not isinstance(p, (str, os.PathLike)):
        raise SourceError(f"expected a path, got {p!r}")
    q = Path(os.path.expanduser(str(p)))
    if q.is_absolute():
        return q
    # relative to the file that names it; a runner started elsewhere may have stored paths
    # relative to its working directory, so fall back to that when only it exists
    if not (base / q).exists() and q.exists():
        return q.resolve()
    return base / q


def _add(table: VideoTable, model: str, sample: str, path: Path) -> None:
    table.setdefault(str(model), {})[str(sample)] = path


def _parse(obj: Any, base: Path, depth: int = 0) -> VideoTable:
    if depth > 3:
        raise SourceError("manifest nesting too deep")
    table: VideoTable = {}
    if isinstance(obj, (str, os.PathLike)):
        p = _resolve(obj, base)
        if not p.is_file():
            raise SourceError(f"manifest file not found: {p}")
        return _parse(_read_structured(p), p.parent, depth + 1)
    if isinstance(obj, dict):
        if "samples" in obj and isinstance(obj["samples"], list):
            sub_base = _resolve(obj["root"], base) if isinstance(obj.get("root"), str) else base
            return _parse(obj["samples"], sub_base, depth + 1)
        if "path" in obj and len(obj) <= 3 and isinstance(obj["path"], str) and not any(
            isinstance(v, dict) for v in obj.values()
        ):
            return _parse(obj["path"], base, depth + 1)
        # {model: {sample: path}}
        if obj and all(isinstance(v, dict) for v in obj.values()):
            for model, samples in obj.items():
                for sample, p in samples.items():
                    _add(table, model, sample, _resolve(p, base))
            return table
        raise SourceError("unrecognised manifest mapping (expected {model: {sample_id: path}} "
                          "or {'samples': [...]})")
    if isinstance(obj, list):
        for i, row in enumerate(obj):
            if not isinstance(row, dict):
                raise SourceError(f"manifest row {i}: expected an object, got {type(row).__name__}")
            sid = next((row[k] for k in _ID_KEYS if k in row), None)
            if "model" in row and sid is not None:  # flat rows
                p = next((row[k] for k in _PATH_KEYS if k in row), None)
                if p is None:
                    raise SourceError(f"manifest row {i}: no path")
                _add(table, row["model"], sid, _resolve(p, base))
                continue
            if sid is None:
                raise SourceError(f"manifest row {i}: no sample id ({'/'.join(_ID_KEYS)})")
            models = next((row[k] for k in _MODELS_KEYS if isinstance(row.get(k), dict)), None)
            for model, p in (models or {}).items():
                if isinstance(p, dict):  # {"path": ...}
                    p = next((p[k] for k in _PATH_KEYS if k in p), None)
                if p is not None:
                    _add(table, model, sid, _resolve(p, base))
            gt = next((row[k] for k in _GT_KEYS if isinstance(row.get(k), str)), None)
            if gt is not None:
                _add(table, GT_MODEL, sid, _resolve(gt, base))
        return table
    raise SourceError(f"unrecognised manifest ({type(obj).__name__})")


def load_mapping(path: str | os.PathLike[str]) -> VideoTable:
    """An explicit ``{model: {sample_id: path}}`` JSON / YAML file (or any manifest form)."""
    p = Path(path)
    if not p.is_file():
        raise SourceError(f"videos mapping not found: {p}")
    return _parse(_read_structured(p), p.parent.resolve())


def load_run_videos(run_dir: str | os.PathLike[str]) -> VideoTable:
    """The video table of a run directory (``run.json`` → ``manifest``)."""
    run = Path(run_dir)
    rj = run / "run.json"
    if not rj.is_file():
        raise SourceError(f"{rj} not found; pass --videos MAPPING.json instead")
    info = json.loads(rj.read_text("utf-8"))
    man = info.get("manifest")
    if man is None:
        raise SourceError(f"{rj} has no 'manifest' entry; pass --videos MAPPING.json instead")
    return _parse(man, run.resolve())


def collect_videos(run_dir: str | os.PathLike[str] | None,
                   videos: str | os.PathLike[str] | None) -> VideoTable:
    """Run manifest first, then the explicit mapping on top. Checks every file exists."""
    table: VideoTable = {}
    errors: list[str] = []
    if run_dir is not None:
        try:
            table = load_run_videos(run_dir)
        except SourceError as e:
            if videos is None:
                raise
            errors.append(str(e))
    if videos is not None:
        for model, samples in load_mapping(videos).items():
            table.setdefault(model, {}).update(samples)
    if not table:
        raise SourceError("no videos found" + (f" ({'; '.join(errors)})" if errors else ""))
    missing = [f"{m}/{s}: {p}" for m, ss in table.items() for s, p in ss.items() if not p.is_file()]
    if missing:
        shown = "; ".join(missing[:5])
        raise SourceError(f"{len(missing)} video file(s) not found: {shown}")
    return {m: {s: p.resolve() for s, p in ss.items()} for m, ss in table.items()}
