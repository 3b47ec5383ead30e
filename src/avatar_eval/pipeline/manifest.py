"""Manifests: which clips to evaluate, for which models.

General form (YAML list or JSONL, one sample per line)::

    - id: clip_001
      gt: real/clip_001.mp4            # optional GT video
      audio: audio/clip_001.wav        # optional; else each video's own audio track
      reference_image: ref/clip_001.png
      transcript: "the words spoken"
      prompt: "a text prompt"          # optional; for text+audio generators (default: transcript)
      models: {hallo: out/hallo/clip_001.mp4, sadtalker: out/sadtalker/clip_001.mp4}

Folder form: ``--gt DIR --model NAME=DIR ...`` matches files by stem and builds the same thing.
Relative paths are resolved against the manifest file's folder.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError
from ..results.schema import GT_MODEL

VIDEO_EXTS = (".mp4", ".mov", ".mkv", ".avi", ".webm", ".mpg", ".mpeg", ".m4v")


@dataclass
class Sample:
    id: str
    gt: str | None = None
    audio: str | None = None
    reference_image: str | None = None
    transcript: str | None = None
    models: dict[str, str] = field(default_factory=dict)
    regions: str | None = None  # optional per-frame boxes file (JWB-DH style annotations)
    prompt: str | None = None  # optional text prompt for generators (avatar-eval generate)

    def video(self, model: str) -> str | None:
        return self.gt if model == GT_MODEL else self.models.get(model)


@dataclass
class Manifest:
    samples: list[Sample]
    source: str = ""

    @property
    def models(self) -> list[str]:
        names: list[str] = []
        for s in self.samples:
            for m in s.models:
                if m not in names:
                    names.append(m)
        return names

    @property
    def has_gt(self) -> bool:
        return any(s.gt for s in self.samples)

    def to_list(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in asdict(s).items() if v not in (None, {}, "")} for s in self.samples]

    def hash(self) -> str:
        """sha256 over the manifest entries and each file's size + mtime-independent content hash prefix."""
        h = hashlib.sha256()
        h.update(json.dumps(self.to_list(), sort_keys=True).encode())
        for s in self.samples:
            for p in [s.gt, s.audio, s.reference_image, *s.models.values()]:
                if p and Path(p).is_file():
                    h.update(file_digest(p).encode())
        return h.hexdigest()


def file_digest(path: str | Path) -> str:
    """sha256 of a file's bytes (manifest hashes, record fingerprints, feature files): the one
    content hash, :func:`avatar_eval.cache.content_digest`, memoised per (path, size, mtime)."""
    from ..cache import content_digest

    return content_digest(path)


def _videos(folder: Path) -> dict[str, Path]:
    if not folder.is_dir():
        raise InputError(f"not a folder: {folder}")
    out: dict[str, Path] = {}
    for p in sorted(folder.iterdir()):
        if p.is_file() and p.suffix.lower() in VIDEO_EXTS:
            if p.stem in out:
                raise InputError(f"two videos with the stem {p.stem!r} in {folder}: {out[p.stem].name}, {p.name}")
            out[p.stem] = p
    return out


def from_folders(gt: str | Path | None, models: dict[str, str | Path]) -> Manifest:
    """Match clips across the GT folder and each model folder by file stem.

    With a GT folder, the samples are the GT stems (a model missing a clip simply has no entry
    for it, and the run reports it). Without one, the union of the models' stems.
    """
    for name in models:
        if name == GT_MODEL:
            raise InputError(f"model name {GT_MODEL!r} is reserved for the ground truth")
    gt_v = _videos(Path(gt)) if gt else {}
    mv = {name: _videos(Path(d)) for name, d in models.items()}
    stems = list(gt_v) if gt_v else sorted({s for v in mv.values() for s in v})
    samples = []
    for stem in stems:
        samples.append(
            Sample(
                id=stem,
                gt=str(gt_v[stem]) if stem in gt_v else None,
                models={name: str(v[stem]) for name, v in mv.items() if stem in v},
            )
        )
    if not samples:
        raise InputError("no video found in the given folders")
    return Manifest(samples, source="folders")


def load_manifest(path: str | Path) -> Manifest:
    import yaml

    path = Path(path)
    text = path.read_text()
    if path.suffix.lower() == ".jsonl":
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    else:
        data = yaml.safe_load(text)
        rows = data["samples"] if isinstance(data, dict) and "samples" in data else data
    if not isinstance(rows, list):
        raise InputError(f"{path}: a manifest is a list of samples")
    base = path.parent
    samples = []
    seen: set[str] = set()
    for i, r in enumerate(rows):
        if not isinstance(r, dict) or "id" not in r:
            raise InputError(f"{path}: entry {i} has no 'id'")
        sid = str(r["id"])
        if sid in seen:
            raise InputError(f"{path}: duplicate sample id {sid!r}")
        seen.add(sid)

        def res(p: Any) -> str | None:
            if p in (None, ""):
                return None
            q = Path(str(p))
            return str(q if q.is_absolute() else base / q)

        samples.append(
            Sample(
                id=sid,
                gt=res(r.get("gt")),
                audio=res(r.get("audio")),
                reference_image=res(r.get("reference_image")),
                transcript=r.get("transcript"),
                models={str(k): res(v) for k, v in (r.get("models") or {}).items()},  # type: ignore[misc]
                regions=res(r.get("regions")),
                prompt=r.get("prompt"),
            )
        )
    return Manifest(samples, source=str(path))


def attach_model_folders(manifest: Manifest, models: dict[str, str | Path]) -> Manifest:
    """Add each model's folder to a manifest: the video whose stem is a sample's id becomes that
    sample's output of the model (``avatar-eval run --manifest bench.jsonl --model NAME=FOLDER``)."""
    for name, folder in models.items():
        if name == GT_MODEL:
            raise InputError(f"model name {GT_MODEL!r} is reserved for the ground truth")
        vids = _videos(Path(folder))
        found = 0
        for s in manifest.samples:
            if s.id in vids:
                s.models[name] = str(vids[s.id])
                found += 1
        if not found:
            raise InputError(f"--model {name}={folder}: no video named after a sample id of the manifest "
                             f"(e.g. {manifest.samples[0].id}.mp4)")
    return manifest
