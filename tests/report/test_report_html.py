"""report.html without a browser: content, reproducibility, no recomputation, the strip cache,
region boxes on the strips, study results, compare and site.

Runs are records + run.json written by :func:`avatar_eval.testing.synthetic_run.write_synthetic_run`
over the shipped clips (the numbers are synthetic; the frames are real)."""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from avatar_eval.cli.main import app
from avatar_eval.report.build import build_reports
from avatar_eval.report.compare import build_comparison
from avatar_eval.report.frames import StripCache, frame_strip
from avatar_eval.report.site import build_site
from avatar_eval.testing.synthetic_run import write_synthetic_run

CLIPS = Path(__file__).resolve().parents[2] / "examples" / "clips"
SHIPPED = [CLIPS / "gt" / "face5.mp4", CLIPS / "gt" / "may.mp4", CLIPS / "gt" / "grid_bbaf2n.mpg"]
METRICS = {"theval.lip_dynamics": None, "theval.eyebrow_dynamics": None, "jwbdh.psnr.face": True,
           "jwbdh.psnr": True, "jwbdh.fid.face": False, "sync.av_offset": False}


def make_run(d: Path, **kw) -> Path:
    kw.setdefault("n_samples", 6)
    return write_synthetic_run(d, SHIPPED, metrics=METRICS, skip_every=7, error_every=11, flag_every=3, **kw)


def page_of(run: Path, **kw) -> str:
    build_reports(run, n_boot=200, formats="html", **kw)
    return (run / "report.html").read_text()


def test_page_holds_every_section(tmp_path):
    run = make_run(tmp_path / "run")
    page = page_of(run)
    # self-contained: no external resource of any kind
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", page)
    assert "<script src" not in page and "<link " not in page
    # leaderboards per protocol, metrics as rows, models as columns, best highlighted
    for sec in ("THEval", "JWB-DH · Whole body", "JWB-DH · Face", "sync"):
        assert f">{sec}</h3>" in page
    head = re.search(r"<table class='sortable leaderboard'><thead><tr>(.*?)</tr>", page).group(1)
    assert re.findall(r"<th>(.*?)</th>", head) == ["metric", "gt (GT)", "alpha", "beta"]
    assert "class='best'" in page
    assert "theval.lip_dynamics ≈GT <span class='unit'>px</span>" in page  # arrow and unit from run.json
    # THEval scores with the averaged / missing metrics said
    assert "<h2 id='theval'>THEval scores</h2>" in page and ">averaged</th>" in page and "missing (why)" in page
    # plots: radar, JWB-DH bars, per-clip distributions (PNG data URIs)
    for alt in ("radar chart", "JWB-DH per-region bars"):
        assert f"alt='{alt}'" in page
    # per-clip distributions: inline SVG, one dot per ok per-clip value, each linked to its clip
    from avatar_eval.results.store import read_records

    n_ok = sum(r.status == "ok" and r.sample_id != "__dataset__" for r in read_records(run / "records.jsonl"))
    assert "aria-label='per-clip values, THEval'" in page and page.count("<circle ") == n_ok
    dot = re.search(r"<a href='#(clip-[^']+)'><circle [^>]*><title>(\S+) · (\S+): ", page)
    assert f"id='{dot.group(1)}'><h4>{dot.group(2)} · {dot.group(3)}</h4>" in page
    # why missing / errors grouped by reason, flagged clips
    assert re.search(r"<h2 id='missing'>Why missing</h2>.*?>undefined</th>", page, re.DOTALL)
    assert re.search(r"<h2 id='errors'>Errors</h2>.*?>InputError</th>", page, re.DOTALL)
    assert "frozen_video (still_fraction=1.0)" in page
    # drill-down: a section per (model, clip) with its strip and video link; run info
    assert page.count("class='clip' id='clip-") == 3 * 6
    assert page.count("class='strip'") == 3 * 6
    assert "video: <a href='" in page and "synthetic jwbdh.fid.face" in page


def test_strip_svg_boxes_and_outliers():
    from avatar_eval.report.svg import strip_svg

    svg = strip_svg([("m ↑", {"a": [("c1", 1.0), ("c2", 2.0), ("c3", 3.0), ("c4", 4.0), ("c5", 100.0)],
                              "b": [("c1", 2.5)]})], ["a", "b"], link=lambda m, c: f"#{m}-{c}")
    assert svg.count("<circle ") == 6 and "<title>a · c5: 100</title>" in svg and "href='#a-c5'" in svg
    # numpy quartiles of a: 2, 3, 4; whiskers to 1 and to 4 (100 is beyond q3 + 1.5 IQR = 7)
    x = lambda v: 130 + (v - (1 - 99 * 0.04)) / (99 * 1.08) * (760 - 130 - 16)
    rect = re.search(r"<rect x='([\d.]+)' y='[\d.]+' width='([\d.]+)'", svg)
    assert float(rect.group(1)) == pytest.approx(x(2.0), abs=0.06)
    assert float(rect.group(1)) + float(rect.group(2)) == pytest.approx(x(4.0), abs=0.11)
    whisk = re.findall(r"<line x1='([\d.]+)' x2='([\d.]+)' y1='([\d.]+)' y2='\3'/>", svg)
    assert [float(w) for w in whisk[-1][:2]] == pytest.approx([x(4.0), x(4.0)], abs=0.06)  # q3 -> upper whisker
    assert strip_svg([("empty", {"a": []})], ["a"]) is None


def test_same_records_and_run_json_give_the_same_bytes(tmp_path):
    run = make_run(tmp_path / "run")
    first = page_of(run)
    # warm (strips from the cache) and cold (cache deleted) renders are byte-identical
    assert page_of(run) == first
    shutil.rmtree(run / "report_cache")
    assert page_of(run) == first
    # records.jsonl in another order: same page
    lines = (run / "records.jsonl").read_text().splitlines()
    (run / "records.jsonl").write_text("\n".join(reversed(lines)) + "\n")
    assert page_of(run) == first


def test_rendering_computes_no_metric(tmp_path, monkeypatch):
    from avatar_eval.metrics import registry
    from avatar_eval.metrics.base import Metric
    from avatar_eval.pipeline import context, runner

    run = make_run(tmp_path / "run")

    def boom(*a, **k):
        raise AssertionError("a report must not compute metrics")

    monkeypatch.setattr(Metric, "compute", boom)
    monkeypatch.setattr(Metric, "compute_pair", boom, raising=False)
    monkeypatch.setattr(runner, "process_job", boom)
    monkeypatch.setattr(registry, "get_metric", boom)
    monkeypatch.setattr(context.ClipContext, "get", boom)
    res = build_reports(run, n_boot=100)  # every format, html included
    assert "report.html" in res.files and "class='strip'" in (run / "report.html").read_text()


def test_strips_are_cached_by_content_hash(tmp_path):
    cache = StripCache(tmp_path / "run")
    a = cache.strip(SHIPPED[0])
    assert a is not None and a[:2] == b"\xff\xd8" and cache.misses == 1
    cache.flush()
    again = StripCache(tmp_path / "run")
    assert again.strip(SHIPPED[0]) == a and again.hits == 1 and again.misses == 0
    # a renamed copy of the same bytes hits; a different file misses
    copy = tmp_path / "renamed.mp4"
    shutil.copy(SHIPPED[0], copy)
    assert again.strip(copy) == a and again.hits == 2
    assert again.strip(SHIPPED[1]) != a and again.misses == 1
    assert len(list((tmp_path / "run" / "report_cache" / "strips").iterdir())) == 2
    assert again.strip(tmp_path / "absent.mp4") is None


def test_strip_draws_the_run_region_boxes(tmp_path):
    from PIL import Image

    run = make_run(tmp_path / "run", n_samples=1)
    plain = frame_strip(SHIPPED[0])
    # boxes kept by the runner: RUN_DIR/regions/<model>/<clip>.npz, (T, 4) xyxy source pixels
    box = np.tile([[100.0, 100.0, 300.0, 300.0]], (400, 1))
    (run / "regions" / "alpha").mkdir(parents=True)
    np.savez(run / "regions" / "alpha" / "clip0000.npz", face=box)
    page = page_of(run)
    assert "region boxes from regions/alpha/clip0000.npz" in page
    import base64

    strips = re.findall(r"class='strip' alt='frames of (\S+) · clip0000' src='data:image/jpeg;base64,([^']+)'", page)

    by_model = {m: np.asarray(Image.open(io.BytesIO(base64.b64decode(b))).convert("RGB"), dtype=float)
                for m, b in strips}
    ref = np.asarray(Image.open(io.BytesIO(plain)).convert("RGB"), dtype=float)
    assert np.array_equal(by_model["gt"], ref)  # no boxes for the GT clip: the plain strip
    # face box: green (46, 204, 64) along its edge, at 96/h scale of the source frame
    from avatar_eval.io.video import probe

    s = 96 / probe(SHIPPED[0]).height
    y, x0, x1 = round(100 * s), round(100 * s) + 3, round(300 * s) - 3
    edge = by_model["alpha"][y, x0:x1]
    assert np.abs(edge - [46, 204, 64]).max(axis=1).mean() < 40  # JPEG moves colours a little
    assert np.abs(ref[y, x0:x1] - [46, 204, 64]).max(axis=1).mean() > 60


def test_study_results_add_the_human_scatter_only_when_present(tmp_path):
    run = make_run(tmp_path / "run")
    assert "id='human'" not in page_of(run)
    (run / "study").mkdir()
    (run / "study" / "win_rates.csv").write_text(
        "dimension,model,wins,ties,losses,win_rate\noverall,alpha,3,0,5,0.375\noverall,beta,5,0,3,0.625\n")
    page = page_of(run)
    assert "Metric vs human preference (overall)" in page and "vs human preference'" in page


def test_compare_puts_runs_side_by_side(tmp_path):
    a = make_run(tmp_path / "x", seed=1)
    b = make_run(tmp_path / "y", seed=2, models=("alpha", "gamma"))
    files = build_comparison([a, b], tmp_path / "cmp")
    assert set(files) == {"report.html", "leaderboard.md", "leaderboard.csv", "compare.json"}
    md = (tmp_path / "cmp" / "leaderboard.md").read_text()
    header = next(ln for ln in md.splitlines() if ln.startswith("| metric"))
    # colliding names carry the run; a name only one run has stays as it is
    assert header == "| metric | gt (x) | gt (y) | alpha (x) | alpha (y) | beta | gamma |"
    page = (tmp_path / "cmp" / "report.html").read_text()
    assert "alpha (x) · clip0000" in page and "gamma · clip0000" in page
    # each run aggregated on its own: the comparison's cells equal the run's own leaderboard cells
    build_reports(a, n_boot=10_000, formats="md")
    def cell(text):  # 'mean [lo, hi] n=N' without the bold and the footnote marks
        return re.search(r"[-0-9.e+]+ \[[^\]]+\] n=\d+", text).group(0)

    for name in ("theval.lip_dynamics", "jwbdh.psnr.face"):
        own = next(ln for ln in (a / "leaderboard.md").read_text().splitlines() if ln.startswith(f"| {name} "))
        there = next(ln for ln in md.splitlines() if ln.startswith(f"| {name} "))
        assert cell(own.split(" | ")[2]) == cell(there.split(" | ")[3])  # alpha in x == alpha (x)
    info = json.loads((tmp_path / "cmp" / "compare.json").read_text())
    assert info["runs"][0]["models"]["alpha"] == "alpha (x)"


def test_report_cli_compare_and_site(tmp_path):
    runner = CliRunner()
    a, b = make_run(tmp_path / "x"), make_run(tmp_path / "y", seed=3)
    res = runner.invoke(app, ["report", str(a), str(b)])
    assert res.exit_code == 2 and "--out" in res.output
    res = runner.invoke(app, ["report", str(a), str(b), "--out", str(tmp_path / "cmp"), "--theval-variant", "compat"])
    assert res.exit_code == 2 and "settings of its last report" in " ".join(res.output.split())
    res = runner.invoke(app, ["report", str(a), str(b), "--out", str(tmp_path / "cmp"), "--format", "md"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "cmp" / "leaderboard.md").is_file() and not (tmp_path / "cmp" / "report.html").exists()
    res = runner.invoke(app, ["site", str(a), str(b), str(tmp_path / "not_a_run"), "--out", str(tmp_path / "site")])
    assert res.exit_code == 0, res.output
    assert "not_a_run skipped" in " ".join(res.output.split())
    index = (tmp_path / "site" / "index.html").read_text()
    for run in ("x", "y"):
        assert f"href='runs/{run}/report.html'" in index
        assert (tmp_path / "site" / "runs" / run / "report.html").is_file()
    # one row per model of each run, per protocol; the THEval table has the final score
    theval = re.search(r"<h2>THEval</h2>(.*?)</table>", index, re.DOTALL).group(1)
    assert theval.count("<tr><td data-v=") == 2 * 3 and "<th>THEval final</th>" in theval
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", index)


def test_site_rows_hold_each_runs_means(tmp_path):
    from avatar_eval.results.aggregate import aggregate
    from avatar_eval.results.store import read_records

    a = make_run(tmp_path / "x")
    build_site([a], tmp_path / "site")
    import pandas as pd

    table = pd.read_csv(tmp_path / "site" / "leaderboard.csv")
    s = aggregate(read_records(a / "records.jsonl"), n_boot=0)
    want = s[(s.model == "beta") & (s.metric == "jwbdh.psnr.face")]["mean"].iloc[0]
    got = table[(table.model == "beta") & (table.section == "JWB-DH")]["jwbdh.psnr.face"].iloc[0]
    assert got == pytest.approx(want, rel=1e-12)
