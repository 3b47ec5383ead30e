"""Run options: one typed dataclass per family, defaults and documentation in one place.

A run's options are a flat mapping (``RunConfig.options``; ``run.json`` → ``config.options``; part of
every record's resume fingerprint). Each key belongs to one family below; the family dataclass holds
its type, default and help. Metrics read their family with :func:`family_options`, so a default is
written once, here.

Four keys hold a nested mapping whose inner keys are checked too: ``regions`` (region boxes and the
MediaPipe detector), ``pair`` (GT/generated alignment), ``fid`` (feature extraction), ``identity``
(embedding stride). ``weights`` maps a weight name to an explicit file path.

:func:`validate_options` runs before any clip is decoded (``pipeline.runner.run``, ``avatar-eval run``):
an unknown key is an error naming the closest known key ("did you mean"), a value of the wrong type is
an error naming the type. :func:`load_config` reads ``--config run.yaml`` (YAML or JSON).
"""

from __future__ import annotations

import difflib
import json
import os
from collections.abc import Mapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any, TypeVar

from .errors import AvatarEvalError

__all__ = [
    "ASROptions", "ConfigError", "ENGINE_KEYS", "EngineOptions", "ExtrasOptions", "FAMILIES", "FaceMeshOptions",
    "IdentityOptions", "ModelOptions", "NRQualityOptions", "OPTION_KEYS", "QAlignOptions", "RUN_KEYS", "SyncNetOptions",
    "SyncOptions", "THEvalOptions",
    "UnknownOption", "VBenchOptions", "family_options", "load_config", "option_table", "validate_options",
]


class UnknownOption(AvatarEvalError, KeyError):
    """An option key (or inner key) that no family declares."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class ConfigError(AvatarEvalError, ValueError):
    """A ``--config`` file or an option value that cannot be used."""


def _opt(key: str, default: Any, help: str) -> Any:
    return field(default=default, metadata={"key": key, "help": help})


def _opt_map(key: str, help: str) -> Any:
    return field(default_factory=dict, metadata={"key": key, "help": help})


# --------------------------------------------------------------------------------------- families
@dataclass(frozen=True)
class THEvalOptions:
    vad_model: str = _opt("vad_model", "silero-v5", "VAD for speech frames: silero-v5 (bundled) or silero-v6 "
                          "(the silero-vad package's)")


@dataclass(frozen=True)
class FaceMeshOptions:
    still_threshold: float | None = _opt(
        "face_mesh_still_threshold", 1.0, "default face_mesh track: a frame whose face box differs from the last "
        "measured frame by ≤ this many 8-bit levels (8×8 block means) keeps its landmarks; null: no hold")


@dataclass(frozen=True)
class SyncOptions:
    max_shift: int = _opt("av_offset_max_shift", 15, "sync.av_offset / sync.av_confidence search window, frames "
                          "(±; SyncNet's is 15)")


@dataclass(frozen=True)
class SyncNetOptions:
    min_track: int = _opt("syncnet_min_track", 100, "shortest face track (frames) SyncNet scores")
    num_failed_det: int = _opt("syncnet_num_failed_det", 25, "missed detections a track may bridge")
    min_face_size: float = _opt("syncnet_min_face_size", 100.0, "smallest face (pixels) a track keeps")
    crop_scale: float = _opt("syncnet_crop_scale", 0.4, "crop margin around the face box")
    batch: int = _opt("syncnet_batch", 20, "SyncNet batch size (windows)")
    detector: str = _opt("syncnet_detector", "s3fd", "face detector: s3fd (weights) or mediapipe")


@dataclass(frozen=True)
class VBenchOptions:
    batch: int = _opt("vbench_batch", 0, "frames per batch for VBench single-clip models (0: the metric's own)")
    pair_batch: int = _opt("vbench_pair_batch", 4, "frame pairs per batch for VBench pair models")
    imaging_quality_preprocessing_mode: str = _opt(
        "imaging_quality_preprocessing_mode", "longer", "MUSIQ resize rule (VBench): longer, shorter, "
        "shorter_centercrop, None")


@dataclass(frozen=True)
class IdentityOptions:
    idc_dinov2: str = _opt("idc_dinov2", "base", "DINOv2 size for identity consistency: small, base, large, giant")
    idc_stride: int = _opt("idc_stride", 1, "identity consistency: every n-th frame")
    identity: dict[str, Any] = _opt_map("identity", "face identity (ArcFace/dlib): {frame_stride: n} "
                                        "(default: about 5 frames a second)")


@dataclass(frozen=True)
class QAlignOptions:
    fps: float = _opt("qalign_fps", 1.0, "Q-Align frames sampled per second")


@dataclass(frozen=True)
class ExtrasOptions:
    cpbd_stride: int = _opt("cpbd_stride", 1, "sharpness.cpbd: every n-th frame")


@dataclass(frozen=True)
class NRQualityOptions:
    stride: int = _opt("nr_quality_stride", 5, "quality.niqe / quality.brisque: every n-th frame (frames 0, n, 2n, ...)")


@dataclass(frozen=True)
class ASROptions:
    model: str | None = _opt("asr_model", None, "ASR model (default: faster-whisper tiny.en, offline)")
    beam_size: int = _opt("asr_beam_size", 5, "ASR beam size")
    max_duration_s: float = _opt("asr_max_duration_s", 1200.0, "longest audio (s) transcribed")


@dataclass(frozen=True)
class RegionsOptions:
    regions: dict[str, Any] = _opt_map("regions", "region boxes and MediaPipe detector: window, params "
                                       "{region: {expand, min_side, out}}, crops_dir, crop_codec (ffvhuff|ffv1), "
                                       "and the detector keys")
    region_boxes: Any = _opt("region_boxes", None, "annotated region boxes: a mapping or a .json path")
    regions_file: Any = _opt("regions_file", None, "(set per sample from the manifest's `regions` file)")


@dataclass(frozen=True)
class PairOptions:
    pair: dict[str, Any] = _opt_map("pair", "GT/generated alignment: fps_tolerance, fps_mismatch "
                                    "(resample|refuse), min_overlap, aspect_tolerance, frame_stride")


@dataclass(frozen=True)
class FIDOptions:
    fid: dict[str, Any] = _opt_map("fid", "FID/FVD feature extraction: {frame_stride, batch_size}")


@dataclass(frozen=True)
class LPIPSOptions:
    lpips: dict[str, Any] = _opt_map("lpips", "LPIPS pair passes: {batch_size} (frame pairs per forward, default 8)")


@dataclass(frozen=True)
class ModelOptions:
    weights: dict[str, Any] = _opt_map("weights", "explicit weight files: {weight name: path}")
    device: str | None = _opt("device", None, "torch device for network metrics (default: "
                              "$AVATAR_EVAL_DEVICE, else cuda if present, else cpu)")


@dataclass(frozen=True)
class EngineOptions:
    """Where the clips are computed. Never part of a resume fingerprint (:data:`ENGINE_KEYS`): the
    same records come out of every engine; recorded in ``run.json`` under ``config.engine``."""

    engine: str = _opt("engine", "local", "execution engine: local (process pool, -j) or ray (one Ray task per "
                       "clip; the `ray` extra)")
    ray_address: str | None = _opt("ray_address", None, "Ray cluster to join: auto, HOST:PORT or ray://...; "
                                   "null: start a local Ray instance on this machine")
    ray_num_cpus: int | None = _opt("ray_num_cpus", None, "CPUs of the local Ray instance started when "
                                    "ray_address is null (null: the run's -j)")
    ray_num_gpus: int | None = _opt("ray_num_gpus", None, "GPUs of the local Ray instance started when "
                                    "ray_address is null (null: the GPUs Ray detects)")
    ray_max_retries: int = _opt("ray_max_retries", 2, "times a clip whose Ray worker died (OOM, node loss) is "
                                "retried before it is recorded as an error")
    ray_max_in_flight: int = _opt("ray_max_in_flight", 0, "clip tasks submitted at once (0: twice the "
                                  "cluster's CPUs)")
    ray_gpus_per_task: float = _opt("ray_gpus_per_task", 1.0, "GPUs a clip task with a network metric asks "
                                    "for when the cluster has GPUs (a fraction shares one GPU)")


FAMILIES: dict[str, type] = {
    "theval": THEvalOptions, "face_mesh": FaceMeshOptions, "sync": SyncOptions, "syncnet": SyncNetOptions, "vbench": VBenchOptions,
    "identity": IdentityOptions, "qalign": QAlignOptions, "extras": ExtrasOptions,
    "nr_quality": NRQualityOptions, "asr": ASROptions,
    "regions": RegionsOptions, "pair": PairOptions, "fid": FIDOptions, "lpips": LPIPSOptions, "models": ModelOptions,
    "engine": EngineOptions,
}

#: flat option key -> (family, dataclass field)
OPTION_KEYS: dict[str, tuple[str, Any]] = {
    f.metadata["key"]: (fam, f) for fam, cls in FAMILIES.items() for f in fields(cls)
}

#: option keys of the execution engine: recorded in ``run.json`` but never in a fingerprint
ENGINE_KEYS: frozenset[str] = frozenset(f.metadata["key"] for f in fields(EngineOptions))

#: keys a ``--config`` file may hold besides ``options`` (the ``avatar-eval run`` settings)
RUN_KEYS = ("suite", "gt", "model", "manifest", "workers", "theval_variant", "reference", "options")


def _inner_keys(key: str) -> frozenset[str] | None:
    """The allowed inner keys of a nested option (None: free-form)."""
    if key == "regions":
        from .regions.mediapipe import DEFAULT_CONFIG

        return frozenset({"window", "params", "crops_dir", "crop_codec", *DEFAULT_CONFIG})
    if key == "pair":
        from .pipeline.pairs import DEFAULT_PAIR_OPTIONS

        return frozenset(DEFAULT_PAIR_OPTIONS)
    if key == "fid":
        return frozenset({"frame_stride", "batch_size"})
    if key == "identity":
        return frozenset({"frame_stride"})
    if key == "lpips":
        return frozenset({"batch_size"})
    return None


def _did_you_mean(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, sorted(choices), n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", str(tp))


def _coerce(key: str, f: Any, value: Any) -> Any:
    """``value`` as the field's type (ints from whole floats / strings from YAML, etc.)."""
    t = f.type.__name__ if isinstance(f.type, type) else str(f.type)
    if value is None:
        if f.default is None or "None" in t:
            return None
        raise ConfigError(f"option {key!r}: null is not allowed (default {f.default!r})")
    if t.startswith("dict"):
        if not isinstance(value, Mapping):
            raise ConfigError(f"option {key!r} takes a mapping, got {type(value).__name__} {value!r}")
        inner = _inner_keys(key)
        if inner is not None:
            for k in value:
                if k not in inner:
                    raise UnknownOption(f"option {key!r} has no key {k!r}{_did_you_mean(str(k), inner)} "
                                        f"(known: {', '.join(sorted(inner))})")
        if key == "regions" and "crop_codec" in value:
            from .regions.crops import check_crop_codec

            try:
                check_crop_codec(value["crop_codec"])
            except ValueError as e:
                raise ConfigError(str(e)) from None
        return dict(value)
    try:
        if t in ("int", "int | None"):
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        if t in ("float",):
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        if t in ("str", "str | None"):
            if not isinstance(value, (str, int, float)) or isinstance(value, bool):
                raise ValueError
            return str(value)
    except (TypeError, ValueError):
        raise ConfigError(f"option {key!r} takes {t}, got {type(value).__name__} {value!r}") from None
    return value


def validate_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    """The options, checked and typed; raises :class:`UnknownOption` / :class:`ConfigError`."""
    out: dict[str, Any] = {}
    for key, value in (options or {}).items():
        if key not in OPTION_KEYS:
            raise UnknownOption(f"unknown option {key!r}{_did_you_mean(str(key), OPTION_KEYS)} "
                                "(`avatar-eval options` lists them)")
        out[key] = _coerce(key, OPTION_KEYS[key][1], value)
    return out


T = TypeVar("T")


def family_options(options: Mapping[str, Any] | None, cls: type[T]) -> T:
    """The typed options of one family from a run's flat options (defaults filled in)."""
    opts = options or {}
    kw: dict[str, Any] = {}
    for f in fields(cls):  # type: ignore[arg-type]
        key = f.metadata["key"]
        if key in opts and (opts[key] is not None or "None" in str(f.type)):
            kw[f.name] = _coerce(key, f, opts[key])
    return cls(**kw)


def option_table() -> list[dict[str, Any]]:
    """One row per option key: family, key, type, default, help (for ``avatar-eval options`` and docs)."""
    rows = []
    for key, (fam, f) in OPTION_KEYS.items():
        default = f.default if f.default is not MISSING else f.default_factory()  # type: ignore[misc]
        rows.append({"family": fam, "key": key, "type": str(f.type), "default": default, "help": f.metadata["help"]})
    return rows


def parse_option_assignment(text: str) -> tuple[str, Any]:
    """``KEY=VALUE`` from the command line; VALUE read as YAML (numbers, true/false, mappings)."""
    if "=" not in text:
        raise ConfigError(f"--option takes KEY=VALUE, got {text!r}")
    key, raw = text.split("=", 1)
    import yaml

    try:
        value = yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        value = raw
    return key.strip(), value


def load_config(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A ``--config`` file (YAML or JSON): run settings (:data:`RUN_KEYS`) and ``options``, checked."""
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"config file not found: {p}")
    text = p.read_text()
    try:
        if p.suffix.lower() == ".json":
            data = json.loads(text)
        else:
            import yaml

            data = yaml.safe_load(text)
    except Exception as e:  # json.JSONDecodeError, yaml.YAMLError
        raise ConfigError(f"{p}: not valid {'JSON' if p.suffix.lower() == '.json' else 'YAML'} ({e})") from None
    if data is None:
        data = {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{p}: the top level must be a mapping of settings, got {type(data).__name__}")
    for k in data:
        if k not in RUN_KEYS:
            hint = ""
            if k in OPTION_KEYS:
                hint = f"; {k!r} is an option: put it under `options:`"
            else:
                hint = _did_you_mean(str(k), RUN_KEYS)
            raise UnknownOption(f"{p}: unknown setting {k!r}{hint} (settings: {', '.join(RUN_KEYS)})")
    out = dict(data)
    out["options"] = validate_options(data.get("options") or {})
    return out
