"""``run --shard I/N`` + ``merge``: the records of one unsharded run, value for value.

Real clips (the shipped ones: GT + the frozen model, 3 samples) and a cheap real suite with a
paired metric (full-frame PSNR: each pair must stay with its clip), a per-clip metric (CPBD
sharpness, every 25th frame) and a dataset metric (expression FID: its per-clip features are
unavailable here, so the dataset record is the reduction's ``no_features`` skip, the same in
both runs).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from avatar_eval.errors import InputError
from avatar_eval.options import ConfigError
from avatar_eval.pipeline.manifest import from_folders
from avatar_eval.pipeline.merge import ShardMismatch, merge_shards
from avatar_eval.pipeline.runner import RunConfig, parse_shard, run, shard_of
from avatar_eval.results.schema import DATASET

REPO = Path(__file__).resolve().parents[2]
CLIPS = REPO / "examples" / "clips"
SUITE = ["jwbdh.psnr", "sharpness.cpbd", "jwbdh.expression_fid.face"]
OPTIONS = {"cpbd_stride": 25, "pair": {"frame_stride": 5}}  # cheap: every 25th / 5th frame


def _manifest():
    return from_folders(CLIPS / "gt", {"frozen": CLIPS / "frozen"})


def _records(run_dir: Path) -> dict[str, dict]:
    """key -> record as stored, without its timing (the one field that differs between runs)."""
    out = {}
    for line in (run_dir / "records.jsonl").read_text().splitlines():
        d = json.loads(line)
        d.pop("elapsed_s")
        out[d["key"]] = d
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("shards")
    dirs = {"full": base / "full", "s0": base / "s0", "s1": base / "s1"}
    run(_manifest(), RunConfig(metrics=list(SUITE), out_dir=str(dirs["full"]), options=dict(OPTIONS)), progress=False)
    for i in (0, 1):
        run(_manifest(), RunConfig(metrics=list(SUITE), out_dir=str(dirs[f"s{i}"]), options=dict(OPTIONS),
                                   shard=(i, 2)), progress=False)
    return dirs


def test_shard_key_is_sha256_of_the_sample_id():
    ids = ["face5", "grid_bbaf2n", "may"]
    for n in (1, 2, 3, 16):
        for s in ids:
            assert shard_of(s, n) == int(hashlib.sha256(s.encode()).hexdigest()[:16], 16) % n
    # the shipped samples fall in both halves (the merge test below needs two non-empty shards)
    assert {shard_of(s, 2) for s in ids} == {0, 1}


def test_shard_argument_is_checked():
    assert parse_shard("3/16") == (3, 16)
    for bad in ("3", "16/16", "-1/2", "a/b", "1/0"):
        with pytest.raises(ConfigError):
            parse_shard(bad)


def test_shards_hold_disjoint_samples_and_no_dataset_record(runs):
    s0, s1 = _records(runs["s0"]), _records(runs["s1"])
    samples0 = {r["sample_id"] for r in s0.values()}
    samples1 = {r["sample_id"] for r in s1.values()}
    assert samples0 and samples1 and not samples0 & samples1
    assert all(shard_of(s, 2) == 0 for s in samples0) and all(shard_of(s, 2) == 1 for s in samples1)
    assert DATASET not in samples0 | samples1  # dataset metrics are reduced by the merge
    meta = json.loads((runs["s1"] / "run.json").read_text())
    assert meta["config"]["shard"] == {"index": 1, "count": 2}
    assert len(meta["manifest"]) == 3  # the full manifest, for the merge


def test_merge_gives_the_unsharded_records(runs, tmp_path):
    out = tmp_path / "merged"
    merge_shards([str(runs["s1"]), str(runs["s0"])], str(out), progress=False)  # any order
    full, merged = _records(runs["full"]), _records(out)
    assert len(full) == 6 + 6 + 3 + 1  # cpbd and expression features on 6 clips, psnr on 3 pairs, 1 dataset
    assert merged == full
    assert sum(r["status"] == "ok" for r in full.values()) == 9  # 6 cpbd + 3 psnr: real numbers compared
    lines = (out / "records.jsonl").read_text().splitlines()
    assert len(lines) == len(merged)  # one line per key
    meta = json.loads((out / "run.json").read_text())
    assert [m["shard"]["index"] for m in meta["merged_from"]] == [0, 1]
    assert meta["resume"]["fingerprint"] == json.loads((runs["full"] / "run.json").read_text())["resume"]["fingerprint"]
    # merging again into the same directory changes nothing
    merge_shards([str(runs["s0"]), str(runs["s1"])], str(out), progress=False)
    assert _records(out) == full and len((out / "records.jsonl").read_text().splitlines()) == len(full)


def test_merge_refuses_other_configurations_and_missing_shards(runs, tmp_path):
    with pytest.raises(ShardMismatch, match=r"shards 1/2 missing"):
        merge_shards([str(runs["s0"])], str(tmp_path / "m1"), progress=False)
    with pytest.raises(ShardMismatch, match=r"shard 0/2 given twice"):
        merge_shards([str(runs["s0"]), str(runs["s0"])], str(tmp_path / "m2"), progress=False)
    with pytest.raises(ShardMismatch, match=r"not a shard run"):
        merge_shards([str(runs["s0"]), str(runs["full"])], str(tmp_path / "m3"), progress=False)
    # the other half with another option value: refused, naming the option and both values
    other = tmp_path / "s1_other"
    run(_manifest(), RunConfig(metrics=list(SUITE), out_dir=str(other), options={**OPTIONS, "cpbd_stride": 50},
                               shard=(1, 2)), progress=False)
    with pytest.raises(ShardMismatch, match=r"cpbd_stride: 25 → 50"):
        merge_shards([str(runs["s0"]), str(other)], str(tmp_path / "m4"), progress=False)
    assert not (tmp_path / "m4").exists()  # nothing written
    with pytest.raises(InputError, match="no run.json"):
        merge_shards([str(runs["s0"]), str(tmp_path / "nowhere")], str(tmp_path / "m5"), progress=False)


def test_cli_shard_and_merge(tmp_path):
    """The commands of the README: run --shard I/N per shard, then merge; a refused merge exits 2."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO / "src"), os.environ.get("PYTHONPATH", "")]),
           "AVATAR_EVAL_METRIC_MODULES": "avatar_eval.testing.probe"}

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "avatar_eval.cli.main", *args], env=env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=300, check=False)

    folders = ["--gt", str(CLIPS / "gt"), "--model", f"frozen={CLIPS / 'frozen'}", "-s", "testing.probe",
               "--no-progress", "--no-reports"]
    for i in (0, 1):
        done = cli("run", *folders, "--shard", f"{i}/2", "--out", str(tmp_path / "shards" / str(i)))
        assert done.returncode == 0, done.stdout
    done = cli("merge", str(tmp_path / "shards" / "0"), str(tmp_path / "shards" / "1"), "--out",
               str(tmp_path / "x"), "--no-reports", "--no-progress")
    assert done.returncode == 0, done.stdout
    assert "2 shards -> 6 records" in done.stdout
    recs = _records(tmp_path / "x")
    assert {(r["model"], r["sample_id"]) for r in recs.values()} == {
        (m, s) for m in ("gt", "frozen") for s in ("face5", "grid_bbaf2n", "may")}
    done = cli("merge", str(tmp_path / "shards" / "0"), "--out", str(tmp_path / "y"), "--no-reports")
    assert done.returncode == 2 and "shards 1/2 missing" in done.stdout
