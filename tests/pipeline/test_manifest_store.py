import json

import pytest

from avatar_eval.errors import InputError, UnknownNameError
from avatar_eval.metrics.registry import get_metric_class, resolve_metrics
from avatar_eval.pipeline.manifest import from_folders, load_manifest
from avatar_eval.results.schema import Record
from avatar_eval.results.store import RecordStore


def test_folders_match_by_stem(tmp_path):
    for d in ("gt", "a", "b"):
        (tmp_path / d).mkdir()
    for s in ("x", "y"):
        (tmp_path / "gt" / f"{s}.mp4").write_bytes(b"1")
        (tmp_path / "a" / f"{s}.mp4").write_bytes(b"1")
    (tmp_path / "b" / "y.mov").write_bytes(b"1")
    m = from_folders(tmp_path / "gt", {"a": tmp_path / "a", "b": tmp_path / "b"})
    assert [s.id for s in m.samples] == ["x", "y"]
    assert set(m.samples[0].models) == {"a"} and set(m.samples[1].models) == {"a", "b"}
    with pytest.raises(InputError, match="reserved"):
        from_folders(None, {"gt": tmp_path / "a"})


def test_yaml_and_jsonl_manifests(tmp_path):
    (tmp_path / "m.yaml").write_text("- id: c1\n  gt: real/c1.mp4\n  transcript: hello\n  models: {hallo: out/c1.mp4}\n")
    m = load_manifest(tmp_path / "m.yaml")
    assert m.samples[0].gt == str(tmp_path / "real/c1.mp4") and m.models == ["hallo"]
    (tmp_path / "m.jsonl").write_text(json.dumps({"id": "c1", "models": {"a": "/abs/a.mp4"}}) + "\n")
    assert load_manifest(tmp_path / "m.jsonl").samples[0].models["a"] == "/abs/a.mp4"
    (tmp_path / "dup.jsonl").write_text('{"id": "c"}\n{"id": "c"}\n')
    with pytest.raises(InputError, match="duplicate"):
        load_manifest(tmp_path / "dup.jsonl")


def test_store_drops_torn_tail_and_latest_wins(tmp_path):
    p = tmp_path / "r.jsonl"
    s = RecordStore(p)
    s.append(Record("m", "c", "x", "ok", 1.0))
    s.append(Record("m", "c", "x", "ok", 2.0))
    with open(p, "a") as f:
        f.write('{"model": "m", "sam')
    s2 = RecordStore(p)
    assert len(s2) == 1 and s2.get("m", "c", "x").value == 2.0
    assert (tmp_path / "r.jsonl.torn").exists()
    assert p.read_text().endswith("\n")


def test_records_refuse_fake_values():
    with pytest.raises(ValueError):
        Record("m", "c", "x", "ok", float("nan"))
    with pytest.raises(ValueError):
        Record("m", "c", "x", "skipped", 0.0)


def test_unknown_metric_did_you_mean():
    with pytest.raises(UnknownNameError, match="Did you mean: theval.lip_dynamics"):
        get_metric_class("theval.lip_dynamic")
    with pytest.raises(UnknownNameError, match="theval-compat"):
        resolve_metrics(["theval-compt"])


def test_non_finite_details_are_stored_as_null_not_lost(tmp_path):
    """A metric may put NaN in its details (e.g. a mean over no events); JSON has no NaN, and the
    store once refused the whole clip's records for it (recorded as a worker crash)."""
    import numpy as np

    from avatar_eval.results.schema import Record
    from avatar_eval.results.store import RecordStore

    store = RecordStore(tmp_path / "records.jsonl")
    rec = Record(model="m", sample_id="s", metric="blink.rate", status="ok", value=0.0,
                 details={"mean_duration_s": float("nan"), "peak": np.float32("inf"),
                          "trace": np.array([1.0, np.nan]), "n": np.int64(3), "nested": {"x": [float("-inf"), 2.5]}})
    store.append(rec)
    back = RecordStore(tmp_path / "records.jsonl").get("m", "s", "blink.rate")
    assert back.value == 0.0 and back.status == "ok"
    assert back.details == {"mean_duration_s": None, "peak": None, "trace": [1.0, None], "n": 3,
                            "nested": {"x": [None, 2.5]}}
