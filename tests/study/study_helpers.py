"""Helpers for the study tests: tiny videos, a fake run directory, a live loopback server."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import numpy as np

from avatar_eval.results.schema import Record
from avatar_eval.results.store import RecordStore

MODELS = ["alpha", "beta", "gamma", "delta"]
SAMPLES = ["s1", "s2", "s3"]


def make_video(path: Path, *, seed: int = 0, n_frames: int = 12, size: int = 64, fps: int = 12,
               audio: bool = True, codec: str = "libx264") -> Path:
    """A short H.264 / AAC MP4 with sharp moving stripes (so blur is measurable)."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 255, size=3)
    with av.open(str(path), "w", format="mp4") as out:
        vs = out.add_stream(codec, rate=fps)
        vs.width = vs.height = size
        vs.pix_fmt = "yuv420p"
        if codec == "libx264":
            vs.options = {"preset": "ultrafast"}
        a_s = None
        if audio:
            a_s = out.add_stream("aac", rate=16000)
            a_s.layout = "mono"
        yy, xx = np.mgrid[0:size, 0:size]
        for i in range(n_frames):
            stripes = (((xx + 2 * i) // 4) % 2).astype(np.uint8) * 200
            img = np.stack([stripes, (yy * 4 % 256).astype(np.uint8), np.full_like(stripes, 60)], -1)
            img = ((img.astype(int) + base) % 256).astype(np.uint8)
            for p in vs.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
        if a_s is not None:
            sr, n = 16000, int(16000 * n_frames / fps)
            t = np.arange(n) / sr
            wave = (0.2 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)
            pts = 0
            for k in range(0, n, 1024):
                chunk = wave[k:k + 1024][None, :]
                fr = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="mono")
                fr.sample_rate = sr
                fr.pts = pts
                fr.time_base = Fraction(1, sr)
                pts += chunk.shape[1]
                for p in a_s.encode(fr):
                    out.mux(p)
            for p in a_s.encode():
                out.mux(p)
    return path


def make_run(root: Path, models=MODELS, samples=SAMPLES, metric_values=None,
             manifest_form: str = "runner") -> Path:
    """A run directory: videos, run.json with a manifest, records.jsonl.

    ``metric_values``: {metric: {model: value}} written for every sample (plus small per-sample
    noise-free offsets) and for the GT.
    """
    run = root / "run"
    vids = root / "videos"
    k = 0
    table: dict[str, dict[str, str]] = {}
    for m in list(models) + ["gt"]:
        for s in samples:
            p = make_video(vids / m / f"{s}.mp4", seed=k, audio=(m == "gt"))
            table.setdefault(m, {})[s] = str(p)
            k += 1
    run.mkdir(parents=True, exist_ok=True)
    if manifest_form == "runner":  # what pipeline.runner.write_run_json stores
        manifest = [{"id": s, "gt": table["gt"][s], "models": {m: table[m][s] for m in models}}
                    for s in samples]
    elif manifest_form == "samples":
        manifest = {"samples": [
            {"id": s, "gt": table["gt"][s],
             "videos": {m: table[m][s] for m in models}} for s in samples]}
    elif manifest_form == "mapping":
        manifest = table
    else:
        manifest = None
    info = {"package_version": "test", "config": {}}
    if manifest is not None:
        info["manifest"] = manifest
    (run / "run.json").write_text(json.dumps(info))
    store = RecordStore(run / "records.jsonl")
    recs = []
    for metric, per_model in (metric_values or {}).items():
        for m, v in per_model.items():
            for j, s in enumerate(samples):
                recs.append(Record(m, s, metric, "ok", float(v) + 0.01 * j))
    store.extend(recs)
    return run


@contextlib.contextmanager
def live_server(app) -> Iterator[str]:
    """Run ``app`` with uvicorn on 127.0.0.1 (free port) in a thread; yields the base URL."""
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off", timeout_keep_alive=5)
    server = uvicorn.Server(config)
    th = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    th.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not th.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        th.join(timeout=10)
        sock.close()


def sharpness(path: Path) -> float:
    """Mean absolute horizontal gradient over all frames (a blur measure)."""
    import av

    vals = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            g = f.to_ndarray(format="gray").astype(float)
            vals.append(np.abs(np.diff(g, axis=1)).mean())
    return float(np.mean(vals))


class ApiParticipant:
    """A scripted participant speaking the JSON API through an httpx-compatible client."""

    def __init__(self, client, token: str):
        self.c = client
        self.token = token
        self.csrf = ""

    def join(self) -> None:
        r = self.c.get(f"/i/{self.token}", follow_redirects=False)
        assert r.status_code == 303, r.text
        assert r.headers["location"] == "/study"

    def state(self) -> dict:
        r = self.c.get("/api/state")
        assert r.status_code == 200, r.text
        st = r.json()
        self.csrf = st["csrf"]
        return st

    def post(self, path: str, body, **headers):
        h = {"X-CSRF-Token": self.csrf, **headers}
        return self.c.post(path, json=body, headers=h)

    def start(self) -> dict:
        if not self.csrf:
            self.state()
        r = self.post("/api/start", {})
        assert r.status_code == 200, r.text
        return r.json()

    def vote(self, trial_id: int, answers: dict, **extra):
        return self.post("/api/vote", {"trial_id": trial_id, "answers": answers, **extra})
