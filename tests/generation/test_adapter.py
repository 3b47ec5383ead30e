"""``avatar-eval generate``: a stand-in generator the test writes, driven per sample; outputs collected,
validated, resumed; then evaluated with ``avatar-eval run --manifest ... --model NAME=FOLDER``."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from avatar_eval.cli.main import app
from avatar_eval.errors import InputError
from avatar_eval.generation.adapter import generate, parse_generator
from avatar_eval.io.video import probe
from avatar_eval.pipeline.manifest import load_manifest
from avatar_eval.testing import variants as V

runner = CliRunner()

STUB = textwrap.dedent('''
    """Stand-in generator: copies the GT (or, by --mode, fails, hangs, or writes a short clip)."""
    import argparse, shutil, sys, time
    from pathlib import Path
    p = argparse.ArgumentParser()
    p.add_argument("--gt"); p.add_argument("--audio"); p.add_argument("--out"); p.add_argument("--id")
    p.add_argument("--calls"); p.add_argument("--mode", default="copy")
    a = p.parse_args()
    with open(a.calls, "a") as f:
        f.write(a.id + "\\n")
    print("generating", a.id)
    if a.mode == "fail" and a.id == "may":
        sys.exit(3)
    if a.mode == "hang" and a.id == "may":
        time.sleep(60)
    if a.mode == "short" and a.id == "may":
        from avatar_eval.testing import variants as V
        V.first_frames(a.gt, a.out, 10)
        sys.exit(0)
    shutil.copy(a.gt, a.out)
''')


@pytest.fixture(scope="module")
def bench(tmp_path_factory, clips) -> Path:
    """A two-sample benchmark of 30-frame cuts of the shipped clips (GT with audio)."""
    d = tmp_path_factory.mktemp("bench")
    rows = []
    for stem in ("face5", "may"):
        V.first_frames(clips / "gt" / f"{stem}.mp4", d / "gt" / f"{stem}.mp4", 30)
        rows.append({"id": stem, "gt": f"gt/{stem}.mp4", "transcript": f"words of {stem}"})
    (d / "bench.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (d / "stub.py").write_text(STUB)
    return d


def _cmd(bench: Path, calls: Path, mode: str = "copy") -> str:
    return (f"{sys.executable} {bench / 'stub.py'} --gt {{gt}} --id {{id}} --out {{output}} --calls {calls} "
            f"--mode {mode}")


def _calls(p: Path) -> list[str]:
    return p.read_text().split() if p.exists() else []


def test_template_generates_validates_resumes_and_evaluates(bench, tmp_path):
    man = load_manifest(bench / "bench.jsonl")
    calls = tmp_path / "calls.txt"
    gen = parse_generator("stub=" + _cmd(bench, calls))
    res = generate(man, [gen], tmp_path / "gens", workers=2)
    assert sorted((r.sample_id, r.status) for r in res) == [("face5", "ok"), ("may", "ok")]
    out = tmp_path / "gens" / "stub"
    for s in ("face5", "may"):
        assert probe(out / f"{s}.mp4").n_frames == 30
        assert f"generating {s}" in (out / "logs" / f"{s}.log").read_text()
    assert not any((out / ".partial").iterdir())
    assert len((out / "generate.jsonl").read_text().splitlines()) == 2

    # rerun: nothing regenerated; a changed input (another GT file) regenerates that sample only
    res = generate(load_manifest(bench / "bench.jsonl"), [gen], tmp_path / "gens")
    assert {r.status for r in res} == {"reused"} and sorted(_calls(calls)) == ["face5", "may"]
    man2 = load_manifest(bench / "bench.jsonl")
    man2.samples[0].gt = str(V.first_frames(bench / "gt" / "face5.mp4", tmp_path / "other" / "face5.mp4", 28))
    res = generate(man2, [gen], tmp_path / "gens")
    assert {r.sample_id: r.status for r in res} == {"face5": "ok", "may": "reused"}
    assert sorted(_calls(calls)) == ["face5", "face5", "may"]

    # evaluate the outputs with the benchmark manifest (a cheap weight-free metric: blink rate)
    run_dir = tmp_path / "run"
    r = runner.invoke(app, ["run", "--manifest", str(bench / "bench.jsonl"), "--model", f"stub={out}",
                            "-s", "blink.rate", "--out", str(run_dir), "--no-progress", "--no-reports"])
    assert r.exit_code == 0, r.output
    recs = [json.loads(x) for x in (run_dir / "records.jsonl").read_text().splitlines()]
    assert {(x["model"], x["sample_id"]) for x in recs} == {(m, s) for m in ("gt", "stub") for s in ("face5", "may")}
    # the copy of the GT reads what the GT reads
    by = {(x["model"], x["sample_id"]): x["value"] for x in recs}
    assert by[("stub", "may")] == by[("gt", "may")]


def test_failures_timeouts_and_mismatches_are_recorded_not_accepted(bench, tmp_path):
    man = load_manifest(bench / "bench.jsonl")
    calls = tmp_path / "calls.txt"
    res = {r.sample_id: r for r in generate(man, [parse_generator("f=" + _cmd(bench, calls, "fail"))],
                                             tmp_path / "g", retries=1)}
    assert res["face5"].status == "ok"
    assert res["may"].status == "failed" and "exit status 3" in res["may"].reason and res["may"].attempts == 2
    assert not (tmp_path / "g" / "f" / "may.mp4").exists()
    # a failed sample is retried by the next run, the ok one is not
    generate(man, [parse_generator("f=" + _cmd(bench, calls, "fail"))], tmp_path / "g")
    assert _calls(calls).count("face5") == 1 and _calls(calls).count("may") == 3

    res = {r.sample_id: r for r in generate(man, [parse_generator("h=" + _cmd(bench, calls, "hang"))],
                                             tmp_path / "g", timeout=3)}
    assert res["may"].status == "failed" and "timed out after 3 s" in res["may"].reason

    res = {r.sample_id: r for r in generate(man, [parse_generator("s=" + _cmd(bench, calls, "short"))],
                                             tmp_path / "g")}
    assert res["may"].status == "invalid" and "duration 0.400 s, requested 1.200 s" in res["may"].reason
    assert (tmp_path / "g" / "s" / "may.mp4").exists()  # kept, and listed as invalid

    # a template field the sample lacks fails that sample with the reason, without running anything
    res = generate(man, [parse_generator("r=stub --ref {reference_image} --out {output}")], tmp_path / "g")
    assert {r.status for r in res} == {"failed"}
    assert all("no reference_image" in r.reason for r in res)


def test_entry_point_is_called_with_the_fields(bench, tmp_path, monkeypatch):
    (tmp_path / "mygen.py").write_text(textwrap.dedent('''
        import json, shutil
        def run(**f):
            json.dump({k: f[k] for k in ("id", "prompt", "fps", "width")}, open(f["output"] + ".json", "w"))
            shutil.copy(f["gt"], f["output"])
    '''))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    res = generate(load_manifest(bench / "bench.jsonl"), [parse_generator("ep=mygen:run")], tmp_path / "g")
    assert {r.status for r in res} == {"ok"}
    seen = json.loads((tmp_path / "g" / "ep" / ".partial" / "may.mp4.json").read_text())
    assert seen == {"id": "may", "prompt": "words of may", "fps": 25.0, "width": probe(bench / "gt" / "may.mp4").width}


def test_bad_specs():
    for bad in ("nocommand", "gt=copy {output}", "x=python gen.py", "x=baseline:nope"):
        with pytest.raises(InputError):
            parse_generator(bad)
    assert parse_generator("x=baseline:still").baseline == "still"
    assert parse_generator("x=pkg.mod:fn").entry_point == "pkg.mod:fn"


def test_cli_generate_with_baselines_and_exit_status(bench, tmp_path):
    r = runner.invoke(app, ["generate", "-b", str(bench / "bench.jsonl"), "--baseline", "gt-copy,gt-frozen",
                            "--out", str(tmp_path / "g"), "-j", "2"])
    assert r.exit_code == 0, r.output
    assert "avatar-eval run --manifest" in r.output
    for k in ("gt-copy", "gt-frozen"):
        assert {p.name for p in (tmp_path / "g" / k).glob("*.mp4")} == {"face5.mp4", "may.mp4"}
    r = runner.invoke(app, ["generate", "-b", str(bench / "bench.jsonl"), "--model",
                            "f=" + _cmd(bench, tmp_path / "c.txt", "fail"), "--out", str(tmp_path / "g")])
    assert r.exit_code == 1 and "failed" in r.output
