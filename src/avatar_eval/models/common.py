"""Shared plumbing for the learned-model metrics: weight files, strict loading, devices, caching,
exact torchvision-style resizing, batching, and a face-box helper.

Every network in :mod:`avatar_eval.models` loads its checkpoint through :func:`load_checkpoint`
and :func:`load_strict`, so the rules are the same everywhere:

* the file comes from :func:`avatar_eval.weights.resolve_weight` (explicit path > env > dirs >
  cache > download); when the registry says a sha256 the file must match it, also when it was
  given as an explicit path (a mismatch raises :class:`~avatar_eval.errors.WeightsUnavailable`);
* the state dict must have exactly the key names and shapes of the real checkpoint: a missing,
  unexpected or mis-shaped tensor raises ``WeightsUnavailable`` naming them (a wrong file is
  never half-loaded into a network that would then produce numbers under the metric's name).
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import WeightsUnavailable

if TYPE_CHECKING:  # pragma: no cover
    import torch

# ---------------------------------------------------------------------------------------------
# weight files
# ---------------------------------------------------------------------------------------------

def catalog_weight(name: str) -> str:
    """The name of a weight in the one weight catalogue (``avatar_eval.weights.catalog``).

    Networks name the weights they load; where each file comes from, its sha256, licence and
    install hint are declared only in the catalogue. A name missing there is a programming error,
    raised when the model module is imported."""
    from ..weights import get_weight_spec

    get_weight_spec(name)  # raises UnknownNameError ("did you mean") for a name not catalogued
    return name


_HASHES: dict[tuple[str, int, int], str] = {}


def sha256_file(path: str | os.PathLike[str]) -> str:
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, int(st.st_mtime_ns))
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def expected_sha256(name: str) -> str | None:
    from ..weights import get_weight_spec

    return get_weight_spec(name).sha256 or None


def weight_path(name: str, path: str | os.PathLike[str] | None = None) -> Path:
    """Resolve a weight file; raises :class:`WeightsUnavailable` when absent or wrong.

    The sha256 the registry lists for ``name`` is checked here too, so an explicit path to a
    different file is refused like a corrupt cache entry.
    """
    from ..weights import resolve_weight

    resolved = Path(resolve_weight(name, path))
    if not resolved.exists():
        raise WeightsUnavailable(f"{name}: {resolved} does not exist")
    sha = expected_sha256(name)
    if sha and resolved.is_file():
        got = sha256_file(resolved)
        if got.lower() != sha.lower():
            raise WeightsUnavailable(
                f"{name}: sha256 of {resolved} is {got[:16]}…, expected {sha[:16]}… (wrong or corrupt file; "
                f"fetch it again with `avatar-eval weights pull {name}`)"
            )
    return resolved


def option_path(options: Mapping[str, Any] | None, name: str) -> str | None:
    """An explicit weight path from clip options: ``options["weights"][name]``."""
    if not options:
        return None
    w = options.get("weights") or {}
    return w.get(name) if isinstance(w, Mapping) else None


# ---------------------------------------------------------------------------------------------
# checkpoints
# ---------------------------------------------------------------------------------------------


def load_checkpoint(path: str | os.PathLike[str], *, key: str | None = None, jit_ok: bool = False) -> dict[str, "torch.Tensor"]:
    """Read a state dict from ``.safetensors``, a pickled ``.pth``/``.pt``/``.model``, or a
    TorchScript archive (``jit_ok``). ``key`` selects a nested dict (e.g. ``state_dict``)."""
    import torch

    p = Path(path)
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        sd: Any = load_file(str(p))
    else:
        try:
            sd = torch.load(str(p), map_location="cpu", weights_only=True)
        except Exception as first:
            try:
                # Old checkpoints pickle a whole module or numpy scalars; only files the registry
                # resolved (sha256-listed) or the user named explicitly reach this point.
                sd = torch.load(str(p), map_location="cpu", weights_only=False)
            except Exception as second:
                if jit_ok:
                    try:
                        sd = torch.jit.load(str(p), map_location="cpu").state_dict()
                    except Exception as third:
                        raise WeightsUnavailable(f"{p.name}: not a readable checkpoint ({third})") from third
                else:
                    raise WeightsUnavailable(f"{p.name}: not a readable checkpoint ({second}; {first})") from second
    if key is not None:
        if not isinstance(sd, Mapping) or key not in sd:
            raise WeightsUnavailable(f"{p.name}: checkpoint has no {key!r} entry")
        sd = sd[key]
    if isinstance(sd, torch.nn.Module):
        sd = sd.state_dict()
    if not isinstance(sd, Mapping):
        raise WeightsUnavailable(f"{p.name}: checkpoint is a {type(sd).__name__}, not a state dict")
    return {str(k): v for k, v in sd.items() if isinstance(v, torch.Tensor)}


def strip_prefix(sd: Mapping[str, Any], prefix: str) -> dict[str, Any]:
    return {(k[len(prefix):] if k.startswith(prefix) else k): v for k, v in sd.items()}


class EveryEntryOnce:
    """Read a foreign checkpoint's entries by name, each exactly once: a missing name fails at
    :meth:`take`, an entry never taken fails at :meth:`done` (so a truncated or foreign file is refused
    instead of half-loading). ``what`` starts every message, e.g. "not the TF FID Inception TorchScript"."""

    def __init__(self, entries: Mapping[str, Any], what: str):
        self.entries, self.what, self.used = entries, what, set()

    def take(self, key: str) -> Any:
        if key not in self.entries:
            raise ValueError(f"{self.what}: {key} is missing")
        self.used.add(key)
        return self.entries[key]

    def done(self) -> None:
        extra = sorted(set(self.entries) - self.used)
        if extra:
            raise ValueError(f"{self.what}: {len(extra)} unexpected entries (e.g. {extra[:3]})")


def load_strict(module: "torch.nn.Module", sd: Mapping[str, "torch.Tensor"], *, what: str,
                ignore: Iterable[str] = ()) -> None:
    """Copy ``sd`` into ``module``; every key and shape must match (``ignore``: key prefixes that
    may be present in the file and are not part of this network, e.g. CLIP's text tower)."""
    ign = tuple(ignore)
    own = module.state_dict()
    sd = {k: v for k, v in sd.items() if not (ign and k.startswith(ign))}
    missing = sorted(set(own) - set(sd))
    unexpected = sorted(set(sd) - set(own))
    shapes = sorted(k for k in set(own) & set(sd) if tuple(own[k].shape) != tuple(sd[k].shape))
    if missing or unexpected or shapes:
        def show(xs: list[str]) -> str:
            return ", ".join(xs[:5]) + (f" (+{len(xs) - 5} more)" if len(xs) > 5 else "")

        parts = []
        if missing:
            parts.append(f"missing {show(missing)}")
        if unexpected:
            parts.append(f"unexpected {show(unexpected)}")
        if shapes:
            parts.append("shape mismatch " + show([f"{k} {tuple(sd[k].shape)}≠{tuple(own[k].shape)}" for k in shapes]))
        raise WeightsUnavailable(f"{what}: the checkpoint does not have this network's layout: " + "; ".join(parts))
    module.load_state_dict(dict(sd), strict=True)


# ---------------------------------------------------------------------------------------------
# devices and a small model cache
# ---------------------------------------------------------------------------------------------


def default_device(options: Mapping[str, Any] | None = None) -> str:
    dev = (options or {}).get("device") or os.environ.get("AVATAR_EVAL_DEVICE")
    if dev:
        return str(dev)
    try:
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
    except Exception:  # pragma: no cover
        return "cpu"


_MODEL_CACHE: "OrderedDict[tuple, Any]" = OrderedDict()
_MODEL_CACHE_MAX = int(os.environ.get("AVATAR_EVAL_MODEL_CACHE", "6"))
_model_lock = threading.Lock()


def cached_model(key: tuple, factory: Callable[[], Any]) -> Any:
    """Keep the last few loaded networks (per weight file and device) across clips."""
    with _model_lock:
        if key in _MODEL_CACHE:
            _MODEL_CACHE.move_to_end(key)
            return _MODEL_CACHE[key]
    model = factory()
    with _model_lock:
        _MODEL_CACHE[key] = model
        while len(_MODEL_CACHE) > max(1, _MODEL_CACHE_MAX):
            _MODEL_CACHE.popitem(last=False)
    return model


def clear_model_cache() -> None:
    with _model_lock:
        _MODEL_CACHE.clear()


def file_key(path: Path) -> tuple:
    st = path.stat()
    return (str(path.resolve()), st.st_size, int(st.st_mtime_ns))


# ---------------------------------------------------------------------------------------------
# torchvision-exact resizing (torchvision does not import with the CPU torch here)
# ---------------------------------------------------------------------------------------------


def short_side_size(h: int, w: int, size: int) -> tuple[int, int]:
    """Output (H, W) of ``torchvision.transforms.Resize(size)`` with an int size."""
    short, long = (w, h) if w <= h else (h, w)
    if short == size:
        return h, w
    new_short, new_long = size, int(size * long / short)
    new_w, new_h = (new_short, new_long) if w <= h else (new_long, new_short)
    return new_h, new_w


def tv_resize_uint8(x: "torch.Tensor", size: tuple[int, int], mode: str = "bilinear", antialias: bool = False) -> "torch.Tensor":
    """``torchvision.transforms.functional.resize`` on a uint8 (N,C,H,W) tensor: cast to float,
    interpolate (align_corners=False), clamp for bicubic, round, cast back to uint8."""
    import torch
    import torch.nn.functional as F

    if tuple(x.shape[-2:]) == tuple(size):
        return x
    y = F.interpolate(x.float(), size=size, mode=mode, align_corners=False if mode in ("bilinear", "bicubic") else None,
                      antialias=antialias)
    if mode == "bicubic":
        y = y.clamp(0, 255)
    return torch.round(y).to(torch.uint8)


def tv_resize_float(x: "torch.Tensor", size: tuple[int, int], mode: str = "bilinear", antialias: bool = False) -> "torch.Tensor":
    """``torchvision.transforms.functional.resize`` on a float (N,C,H,W) tensor: interpolate
    (align_corners=False) and nothing else: no clamp (also for bicubic), no rounding. This is what
    VBench's transforms see: ``vbench.utils.load_video`` returns ``torch.Tensor(frames)``, a
    float32 tensor of 0–255 values (not uint8), so its ``Resize`` keeps fractional values.
    A uint8 input is cast to float32 first."""
    import torch
    import torch.nn.functional as F

    x = x if x.is_floating_point() else x.to(torch.float32)
    if tuple(x.shape[-2:]) == tuple(size):
        return x
    return F.interpolate(x, size=size, mode=mode, align_corners=False if mode in ("bilinear", "bicubic") else None,
                         antialias=antialias)


def tv_center_crop(x: "torch.Tensor", size: int) -> "torch.Tensor":
    """``torchvision.transforms.CenterCrop(size)`` for inputs at least ``size`` on each side."""
    h, w = x.shape[-2:]
    top = int(round((h - size) / 2.0))
    left = int(round((w - size) / 2.0))
    return x[..., top:top + size, left:left + size]


def to_tensor_uint8(frames: np.ndarray | list[np.ndarray]) -> "torch.Tensor":
    """(H,W,3) or (N,H,W,3) uint8 RGB -> (N,3,H,W) uint8 tensor."""
    import torch

    a = np.asarray(frames) if not isinstance(frames, list) else np.stack(frames)
    if a.ndim == 3:
        a = a[None]
    return torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).contiguous()


# ---------------------------------------------------------------------------------------------
# batching
# ---------------------------------------------------------------------------------------------


class Batcher:
    """Collect items and flush them through ``fn`` in batches of ``size`` (memory stays bounded)."""

    def __init__(self, fn: Callable[[list[Any]], Iterable[Any]], size: int = 16):
        self.fn = fn
        self.size = max(1, int(size))
        self.items: list[Any] = []
        self.out: list[Any] = []

    def add(self, item: Any) -> None:
        self.items.append(item)
        if len(self.items) >= self.size:
            self.flush()

    def flush(self) -> list[Any]:
        if self.items:
            items, self.items = self.items, []
            self.out.extend(self.fn(items))
        return self.out


# ---------------------------------------------------------------------------------------------
# face boxes (MediaPipe face detection), for crops where no landmark track is at hand
# ---------------------------------------------------------------------------------------------


class FaceBoxDetector:
    """MediaPipe face detection (BlazeFace; ``model_selection`` 1 = full range), the largest face.

    Returns ``(x1, y1, x2, y2, score)`` in pixels of the given frame, or None. Used by the
    head-motion (FaceXFormer) crop and as the optional SyncNet tracker; the metric records say so.
    """

    def __init__(self, model_selection: int = 1, min_score: float = 0.5):
        import mediapipe as mp

        self.name = f"mediapipe_face_detection(model_selection={model_selection}, min_score={min_score})"
        self._det = mp.solutions.face_detection.FaceDetection(model_selection=model_selection,
                                                              min_detection_confidence=min_score)

    def detect_all(self, rgb: np.ndarray) -> list[tuple[float, float, float, float, float]]:
        h, w = rgb.shape[:2]
        res = self._det.process(np.ascontiguousarray(rgb))
        out = []
        for d in res.detections or []:
            bb = d.location_data.relative_bounding_box
            x1, y1 = bb.xmin * w, bb.ymin * h
            out.append((x1, y1, x1 + bb.width * w, y1 + bb.height * h, float(d.score[0])))
        return out

    def __call__(self, rgb: np.ndarray) -> tuple[float, float, float, float, float] | None:
        boxes = self.detect_all(rgb)
        if not boxes:
            return None
        return max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))

    def close(self) -> None:
        try:
            self._det.close()
        except Exception:  # noqa: BLE001
            pass


# ---------------------------------------------------------------------------------------------
# transformers models from one weight file
# ---------------------------------------------------------------------------------------------


def hf_from_single_file(model_cls: Any, config: Any, weight_file: str | os.PathLike[str], *, what: str,
                        allow_unexpected: Iterable[str] = ()) -> Any:
    """Build ``model_cls`` with ``config`` and load one checkpoint file through transformers
    (which also maps older key layouts of the same network); every parameter the network has must
    come from the file (missing or mis-shaped tensors raise ``WeightsUnavailable``), extra tensors
    are allowed only under ``allow_unexpected`` prefixes (e.g. CLIP's text tower)."""
    import tempfile

    from transformers.utils import logging as hf_logging

    try:
        hf_logging.disable_progress_bar()
    except Exception:  # noqa: BLE001
        pass
    src = Path(weight_file).resolve()
    with tempfile.TemporaryDirectory(prefix="avatar_eval_hf_") as tmp:
        name = "model.safetensors" if src.suffix == ".safetensors" else "pytorch_model.bin"
        os.symlink(src, Path(tmp) / name)
        config.save_pretrained(tmp)
        return hf_from_dir(model_cls, tmp, what=what, allow_unexpected=allow_unexpected, label=src.name)


def hf_from_dir(model_cls: Any, directory: str | os.PathLike[str], *, what: str, allow_unexpected: Iterable[str] = (),
                label: str | None = None) -> Any:
    """``model_cls.from_pretrained(directory)`` with the same strictness as :func:`hf_from_single_file`."""
    from transformers.utils import logging as hf_logging

    try:
        hf_logging.disable_progress_bar()
    except Exception:  # noqa: BLE001
        pass
    label = label or Path(directory).name
    allow = tuple(allow_unexpected)
    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    try:
        model, info = model_cls.from_pretrained(str(directory), output_loading_info=True)
    except Exception as e:
        raise WeightsUnavailable(f"{what}: {label} does not load into this network ({e})") from e
    finally:
        hf_logging.set_verbosity(verbosity)
    missing = sorted(info.get("missing_keys") or [])
    mism = sorted(str(m) for m in (info.get("mismatched_keys") or []))
    unexpected = sorted(k for k in (info.get("unexpected_keys") or []) if not (allow and k.startswith(allow)) and not k.endswith("position_ids"))
    if missing or mism or unexpected:
        raise WeightsUnavailable(
            f"{what}: {label} does not have this network's layout: "
            f"missing {missing[:5]}, mismatched {mism[:5]}, unexpected {unexpected[:5]}"
        )
    return model.eval()
