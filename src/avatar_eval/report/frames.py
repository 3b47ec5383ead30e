"""Frame strips for the HTML report: a few thumbnails of a clip, with its region boxes drawn.

:func:`frame_strip` decodes ``n`` frames at evenly spaced times with PyAV (a seek per frame,
never the whole clip), scales them to ``height`` pixels, draws the face / mouth / hand boxes when
the run has region boxes for the clip (:func:`clip_boxes`), and returns one JPEG of the frames
side by side. Strips are cached under ``RUN_DIR/report_cache/strips/`` keyed by the clip's
content hash (:func:`avatar_eval.pipeline.manifest.file_digest`), the strip settings and the
boxes, so re-rendering a report decodes nothing; the content hash of a file is itself memoised
per (path, size, mtime) in ``report_cache/digests.json`` so a warm render does not re-read clips.

Region boxes (what "face/hand regions" are drawn from), first found wins:

1. ``RUN_DIR/regions/<model>/<sample id>.json`` or ``.npz``: boxes stored with the run, in the
   format of :func:`avatar_eval.regions.boxes.load_manifest_boxes`;
2. the sample's ``regions`` file in the run's manifest (a benchmark's per-frame boxes, as the
   runner reads them: :func:`avatar_eval.regions.boxes.manifest_spec_for`; the GT clip's unless
   the file says ``apply_to: all`` or gives boxes per model).

Nothing here computes a metric or runs a detector: a clip without stored boxes gets a plain strip.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import types
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..results.store import atomic_write_bytes, atomic_write_text

__all__ = ["CACHE_DIR", "StripCache", "clip_boxes", "frame_strip", "strip_times"]

#: where strips and memoised file digests live inside a run directory
CACHE_DIR = "report_cache"
#: strip format version: bump when the drawing changes, so old cached strips are not reused
STRIP_VERSION = 1
BOX_COLOURS = {"face": (46, 204, 64), "mouth": (255, 133, 27), "hands": (0, 116, 217),
               "left_hand": (0, 116, 217), "right_hand": (177, 13, 201)}


def strip_times(duration: float, n: int) -> list[float]:
    """``n`` times (s) at the middles of ``n`` equal parts of the clip."""
    return [duration * (i + 0.5) / n for i in range(n)]


class StripCache:
    """Frame strips and file digests cached in ``RUN_DIR/report_cache``."""

    def __init__(self, run_dir: str | os.PathLike[str]):
        self.root = Path(run_dir) / CACHE_DIR
        self._digest_path = self.root / "digests.json"
        self._digests: dict[str, dict[str, Any]] | None = None
        self._dirty = False
        self.hits = 0
        self.misses = 0

    def digest(self, path: str | os.PathLike[str]) -> str:
        """sha256 of the file's bytes (:func:`~avatar_eval.pipeline.manifest.file_digest`),
        memoised while its size and mtime are unchanged."""
        from ..pipeline.manifest import file_digest

        if self._digests is None:
            try:
                self._digests = json.loads(self._digest_path.read_text("utf-8"))
            except (OSError, ValueError):
                self._digests = {}
        p = Path(path).resolve()
        st = p.stat()
        rec = self._digests.get(str(p))
        if rec and rec.get("size") == st.st_size and rec.get("mtime_ns") == st.st_mtime_ns:
            return str(rec["sha256"])
        d = file_digest(p)
        self._digests[str(p)] = {"size": st.st_size, "mtime_ns": st.st_mtime_ns, "sha256": d}
        self._dirty = True
        return d

    def flush(self) -> None:
        if self._dirty and self._digests is not None:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                atomic_write_text(self._digest_path, json.dumps(self._digests, indent=1, sort_keys=True) + "\n")
            except OSError:  # best effort, as the strips
                pass
            self._dirty = False

    def strip(self, video: str | os.PathLike[str], *, boxes: Mapping[str, np.ndarray] | None = None,
              n: int = 5, height: int = 96) -> bytes | None:
        """The JPEG strip of ``video`` (cached), or None when the file is absent or unreadable."""
        if not Path(video).is_file():
            return None
        try:
            digest = self.digest(video)
        except OSError:
            return None
        h = hashlib.sha256(f"v{STRIP_VERSION} n{n} h{height}".encode())
        for region in sorted(boxes or {}):
            h.update(region.encode())
            h.update(np.ascontiguousarray(np.asarray(boxes[region], dtype=np.float64)).tobytes())  # type: ignore[index]
        path = self.root / "strips" / f"{digest[:32]}-{h.hexdigest()[:16]}.jpg"
        if path.is_file():
            self.hits += 1
            return path.read_bytes()
        self.misses += 1
        data = frame_strip(video, boxes=boxes, n=n, height=height)
        if data is not None:
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_bytes(path, data)
            except OSError:  # a read-only run directory: the strip is shown, just not cached
                pass
        return data


def _frames_at(video: str | os.PathLike[str], times: list[float]) -> list[tuple[int, np.ndarray]]:
    """(frame index, RGB) of the first frame at or after each time, a seek per time."""
    from ..io.video import _open, _rate

    out: list[tuple[int, np.ndarray]] = []
    with _open(video) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        fps = _rate(vs) or 25.0
        tb = vs.time_base
        start = float(vs.start_time * tb) if vs.start_time is not None and tb else 0.0
        for t in times:
            target = start + t
            try:
                if tb:
                    c.seek(int(target / float(tb)), stream=vs, backward=True, any_frame=False)
            except Exception:  # noqa: BLE001, S110 - an unseekable stream: decode from where we are
                pass
            got = None
            last = None
            for fr in c.decode(vs):
                ft = float(fr.pts * tb) if fr.pts is not None and tb else target
                last = fr
                if ft + 0.5 / fps >= target:
                    got = fr
                    break
            fr = got or last
            if fr is None:
                continue
            ft = float(fr.pts * tb) if fr.pts is not None and tb else target
            out.append((round((ft - start) * fps), fr.to_ndarray(format="rgb24")))
    return out


def frame_strip(video: str | os.PathLike[str], *, boxes: Mapping[str, np.ndarray] | None = None,
                n: int = 5, height: int = 96, quality: int = 80) -> bytes | None:
    """JPEG bytes of ``n`` thumbnails of ``video`` side by side (boxes drawn), or None when
    nothing decodes."""
    from PIL import Image, ImageDraw

    from ..io.video import probe

    try:
        info = probe(video)
        frames = _frames_at(video, strip_times(info.duration or info.n_frames / max(info.fps, 1e-9), n))
    except Exception:  # noqa: BLE001 - a report shows what it can; the records say what failed
        return None
    if not frames:
        return None
    tiles = []
    for idx, rgb in frames:
        h0, w0 = rgb.shape[:2]
        scale = height / h0
        im = Image.fromarray(rgb).resize((max(1, round(w0 * scale)), height), Image.BILINEAR)
        if boxes:
            d = ImageDraw.Draw(im)
            for region in sorted(boxes):
                arr = np.asarray(boxes[region], dtype=float)
                if arr.ndim != 2 or not (0 <= idx < arr.shape[0]) or not np.isfinite(arr[idx]).all():
                    continue
                x0, y0, x1, y1 = (float(v) * scale for v in arr[idx])
                d.rectangle([x0, y0, x1, y1], outline=BOX_COLOURS.get(region, (255, 220, 0)), width=2)
        tiles.append(im)
    strip = Image.new("RGB", (sum(t.width for t in tiles) + 2 * (len(tiles) - 1), height), (255, 255, 255))
    x = 0
    for t in tiles:
        strip.paste(t, (x, 0))
        x += t.width + 2
    buf = io.BytesIO()
    strip.save(buf, format="JPEG", quality=quality, optimize=True)
    return buf.getvalue()


def clip_boxes(run_dir: str | os.PathLike[str], model: str, sample_id: str,
               manifest_entry: Mapping[str, Any] | None) -> tuple[dict[str, np.ndarray] | None, str]:
    """Region boxes of one clip and where they come from ("" when none): see the module doc."""
    from ..regions.boxes import load_manifest_boxes, manifest_spec_for

    base = Path(run_dir) / "regions" / model
    for ext in (".json", ".npz"):
        p = base / f"{sample_id}{ext}"
        if p.is_file():
            try:
                return load_manifest_boxes(p), str(p.relative_to(run_dir))
            except Exception:  # noqa: BLE001 - a bad boxes file: plain strip, said in the source text
                return None, f"{p.name}: unreadable boxes file"
    regions = (manifest_entry or {}).get("regions")
    if not regions:
        return None, ""
    try:
        spec = manifest_spec_for(types.SimpleNamespace(options={"regions_file": regions}, model=model))
        if spec is None:
            return None, ""
        return load_manifest_boxes(spec), f"manifest regions file {Path(str(regions)).name}"
    except Exception:  # noqa: BLE001 - an unreadable regions file: plain strip, said in the source text
        return None, f"manifest regions file {Path(str(regions)).name}: unreadable"
