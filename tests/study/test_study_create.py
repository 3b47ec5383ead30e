"""``study create``: video sources, pair pool, gold copies, invites and trial assignment."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
import yaml
from sqlalchemy import select
from study_helpers import MODELS, SAMPLES, make_run, make_video, sharpness

from avatar_eval.study.config import StudyConfig
from avatar_eval.study.create import StudyError, create_study
from avatar_eval.study.db import Participant, Store, Trial
from avatar_eval.study.sources import SourceError, collect_videos, load_run_videos


def test_run_manifest_forms(tmp_path, study_run, monkeypatch):
    table = load_run_videos(study_run)
    assert set(table) == set(MODELS) | {"gt"}
    assert all(set(v) == set(SAMPLES) for v in table.values())
    # {model: {sample: path}} directly in run.json, and a manifest file path (YAML, relative)
    info = json.loads((study_run / "run.json").read_text())
    flat = {m: {s: str(p) for s, p in ss.items()} for m, ss in table.items()}
    run2 = tmp_path / "run2"
    run2.mkdir()
    (run2 / "run.json").write_text(json.dumps({**info, "manifest": flat}))
    assert load_run_videos(run2) == table
    rel = {m: {s: str(Path(p).relative_to(study_run.parent)) for s, p in ss.items()}
           for m, ss in flat.items()}
    (study_run.parent / "manifest.yaml").write_text(yaml.safe_dump(rel))
    run3 = tmp_path / "run3"
    run3.mkdir()
    (run3 / "run.json").write_text(json.dumps({"manifest": {"path": str(
        study_run.parent / "manifest.yaml")}}))
    assert load_run_videos(run3) == table
    # the runner's own form, from a real Manifest (relative paths against the run's cwd too)
    from avatar_eval.pipeline.manifest import Manifest, Sample

    man = Manifest([Sample(id=s, gt=str(table["gt"][s]),
                           models={m: str(table[m][s]) for m in MODELS}) for s in SAMPLES])
    (run3 / "run.json").write_text(json.dumps({"manifest": man.to_list()}))
    assert load_run_videos(run3) == table
    # paths relative to the directory the runner was started in
    monkeypatch.chdir(study_run.parent)
    run4 = tmp_path / "elsewhere" / "run4"
    run4.mkdir(parents=True)
    (run4 / "run.json").write_text(json.dumps({"manifest": [
        {"id": s, "gt": f"videos/gt/{s}.mp4", "models": {m: f"videos/{m}/{s}.mp4"
                                                          for m in MODELS}} for s in SAMPLES]}))
    assert {m: {s: p.resolve() for s, p in ss.items()}
            for m, ss in load_run_videos(run4).items()} == table
    # {"samples": [...]} with "videos", and flat rows
    (run3 / "run.json").write_text(json.dumps({"manifest": {"samples": [
        {"id": s, "gt": str(table["gt"][s]), "videos": {m: str(table[m][s]) for m in MODELS}}
        for s in SAMPLES]}}))
    assert load_run_videos(run3) == table
    rows = [{"model": m, "sample_id": s, "path": str(p)} for m, ss in table.items()
            for s, p in ss.items()]
    (run3 / "run.json").write_text(json.dumps({"manifest": rows}))
    assert load_run_videos(run3) == table


def test_explicit_mapping_and_errors(tmp_path, study_run):
    table = load_run_videos(study_run)
    mapping = tmp_path / "videos.json"
    mapping.write_text(json.dumps({m: {s: str(p) for s, p in ss.items()}
                                   for m, ss in table.items() if m in ("alpha", "beta")}))
    no_manifest = tmp_path / "run_nomanifest"
    no_manifest.mkdir()
    (no_manifest / "run.json").write_text(json.dumps({"package_version": "x"}))
    with pytest.raises(SourceError, match="manifest"):
        collect_videos(no_manifest, None)
    got = collect_videos(no_manifest, mapping)  # lead's run.json without manifest: mapping
    assert set(got) == {"alpha", "beta"}
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"alpha": {"s1": "/nonexistent/x.mp4"}}))
    with pytest.raises(SourceError, match="not found"):
        collect_videos(None, bad)


def test_create_pairs_gold_and_balanced_assignment(tmp_path, study_run):
    cfg, invites = create_study(tmp_path / "s", run_dir=study_run, pairs_per_participant=5,
                                gold_per_participant=2, max_gold_clips=2, participants=18,
                                seed=3)
    # 4 models -> 6 pairs per sample, 3 samples
    assert len(cfg.pairs) == 18 and cfg.models == MODELS and cfg.samples == SAMPLES
    assert all(a != b and a != "gt" and b != "gt" for _, a, b in cfg.pairs)
    assert len(cfg.gold) == 2
    for g in cfg.gold:
        gt = Path(cfg.videos[g["gt"]].path)
        dg = Path(cfg.videos[g["degraded"]].path)
        assert dg.parent == (tmp_path / "s" / "videos").resolve()
        assert sharpness(dg) < 0.25 * sharpness(gt)  # heavily blurred
        import av

        with av.open(str(dg)) as c:
            assert c.streams.video[0].codec_context.name == "h264"
            assert c.streams.audio  # the GT's sound is kept
    # ids are opaque and unique
    assert all(len(v) == 32 for v in cfg.videos)
    assert (tmp_path / "s" / "invites.csv").read_text().count("/i/") == 18
    loaded = StudyConfig.load(tmp_path / "s")
    assert loaded.to_dict() == cfg.to_dict()

    store = Store(cfg, f"sqlite:///{tmp_path / 's' / 'study.db'}")
    with store._reading() as s:
        trials = s.scalars(select(Trial)).all()
        assert s.scalar(select(Participant).limit(1)) is not None
    store.close()
    per_part = Counter(t.participant_id for t in trials)
    assert set(per_part.values()) == {7}
    pair_trials = [t for t in trials if t.kind == "pair"]
    cover = Counter((t.sample_id, *sorted((t.left_model, t.right_model))) for t in pair_trials)
    assert set(cover) == {(s, *sorted((a, b))) for s, a, b in cfg.pairs}
    assert max(cover.values()) - min(cover.values()) <= 1  # 90 pair trials over 18 pairs: 5 each
    # left/right is randomised (and recorded): both orders occur, roughly half each
    first_left = sum(t.left_model < t.right_model for t in pair_trials)
    assert 0.3 < first_left / len(pair_trials) < 0.7
    gold = [t for t in trials if t.kind == "gold"]
    assert len(gold) == 36
    assert all({t.left_model, t.right_model} == {"gt", "gt_degraded"} for t in gold)
    assert all(t.gold_expected == ("left" if t.left_model == "gt" else "right") for t in gold)
    assert 0.25 < sum(t.gold_expected == "left" for t in gold) / len(gold) < 0.75
    assert all(t.position > 0 for t in gold)  # never the first trial
    # a participant never sees the same pair twice
    for pid in per_part:
        keys = [(t.sample_id, *sorted((t.left_model, t.right_model))) for t in pair_trials
                if t.participant_id == pid]
        assert len(keys) == len(set(keys))


def test_target_mode_include_gt_and_validation(tmp_path, study_run):
    cfg, _ = create_study(tmp_path / "t", run_dir=study_run, protocol="gsb", target="beta",
                          gold_per_participant=0, models=["alpha", "beta", "gamma"])
    assert cfg.dimension_keys == ["overall", "text_alignment", "lip_sync", "identity",
                                  "visual_quality"]
    assert {p[1] for p in cfg.pairs} == {"beta"} and len(cfg.pairs) == 2 * 3
    cfg2, _ = create_study(tmp_path / "g", run_dir=study_run, include_gt=True,
                           gold_per_participant=0, models=["alpha", "beta"])
    assert "gt" in cfg2.models and len(cfg2.pairs) == 3 * 3
    with pytest.raises(StudyError, match="already holds"):
        create_study(tmp_path / "g", run_dir=study_run, gold_per_participant=0)
    create_study(tmp_path / "g", run_dir=study_run, gold_per_participant=0, overwrite=True)
    with pytest.raises(StudyError, match="not in the run"):
        create_study(tmp_path / "x", run_dir=study_run, models=["alpha", "nope"])
    with pytest.raises(StudyError, match=">= 2 models"):
        create_study(tmp_path / "y", run_dir=study_run, models=["alpha"])
    with pytest.raises(StudyError, match="protocol"):
        create_study(tmp_path / "z", run_dir=study_run, protocol="abx")
    with pytest.raises(ValueError, match="dimension"):
        create_study(tmp_path / "w", run_dir=study_run, dimensions=["bad key!"])
    run_nogt = make_run(tmp_path / "nogt", models=["a", "b"], samples=["s1"])
    import shutil

    shutil.rmtree(tmp_path / "nogt" / "videos" / "gt")
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({m: {"s1": str(tmp_path / "nogt" / "videos" / m / "s1.mp4")}
                                   for m in ("a", "b")}))
    with pytest.raises(StudyError, match="gold trials need GT"):
        create_study(tmp_path / "v", videos=mapping, gold_per_participant=1)
    assert run_nogt.exists()


def test_database_refuses_another_study(tmp_path, study_run):
    cfg, _ = create_study(tmp_path / "a", run_dir=study_run, gold_per_participant=0)
    cfg_b, _ = create_study(tmp_path / "b", run_dir=study_run, gold_per_participant=0)
    with pytest.raises(ValueError, match="belongs to study"):
        Store(cfg_b, f"sqlite:///{tmp_path / 'a' / 'study.db'}")


def test_schema_and_locking_query_compile_for_postgresql():
    """No PostgreSQL server here: at least the DDL and the row lock compile for its dialect."""
    from sqlalchemy.dialects import postgresql
    from sqlalchemy.schema import CreateTable

    from avatar_eval.study.db import Base, Vote

    ddl = "\n".join(str(CreateTable(t).compile(dialect=postgresql.dialect()))
                    for t in Base.metadata.sorted_tables)
    assert "CONSTRAINT uq_vote_once UNIQUE (participant_id, trial_id, dimension)" in ddl
    assert "token_hash VARCHAR(64)" in ddl
    q = select(Participant).where(Participant.id == 1).with_for_update()
    assert "FOR UPDATE" in str(q.compile(dialect=postgresql.dialect()))
    assert Vote.__table__.c.answer.type.length == 8


def test_videos_browsers_cannot_play_are_flagged(tmp_path):
    from typer.testing import CliRunner

    from avatar_eval.cli.study_cmd import app
    from avatar_eval.study.create import StudyWarning

    a = make_video(tmp_path / "a.mp4", audio=False)
    b = make_video(tmp_path / "b.mp4", audio=False, codec="mpeg4")  # MPEG-4 Part 2
    mapping = tmp_path / "m.json"
    mapping.write_text(json.dumps({"a": {"s1": str(a)}, "b": {"s1": str(b)}}))
    with pytest.warns(StudyWarning, match=r"b\.mp4 \(mpeg4\)"):
        create_study(tmp_path / "s", videos=mapping, gold_per_participant=0)
    res = CliRunner().invoke(app, ["create", "--videos", str(mapping), "--out",
                                   str(tmp_path / "s2"), "--gold", "0"])
    assert res.exit_code == 0 and "warning:" in res.output and "mpeg4" in res.output
