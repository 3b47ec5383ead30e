"""report.html in headless Chromium, for two real runs made by ``avatar-eval run``:

* the shipped clips (``examples/clips``: GT, the 0.5 s audio-shifted model and the frozen model;
  first 30 frames of face5 and may) with THEval lip / eyebrow dynamics and lip-sync;
* a whole-body run (``../shared/data``: the half-body clip against itself and AniPortrait against
  its driving video, first 20 frames) with JWB-DH face / hands / full-frame metrics, whose region
  boxes the runner keeps for the strips.

Checks that the leaderboard tables, the plots and the frame strips are there and decoded, that
clicking a header sorts the rows (both ways), and saves full-page screenshots under the test's
tmp dir (and into ``$AVATAR_EVAL_SCREENSHOTS`` when set: how docs/img/ was made). Needs Debian's
chromium at /usr/bin/chromium; Playwright drives it through ``executable_path`` (no download).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from avatar_eval.cli.main import app
from avatar_eval.testing import variants as V
from avatar_eval.testing.browser import ARGS, CHROMIUM, browser_marks

pytestmark = browser_marks()


def _run(args: list[object]) -> None:
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def shipped_run(tmp_path_factory, clips) -> Path:
    d = tmp_path_factory.mktemp("shipped")
    folders = {"gt": "gt", "shifted": "audio_shift_0.5s", "frozen": "frozen"}
    for name, src in folders.items():
        for stem in ("face5", "may"):
            V.first_frames(clips / src / f"{stem}.mp4", d / name / f"{stem}.mp4", 30)
    out = d / "run"
    _run(["run", "--gt", d / "gt", "--model", f"shifted={d / 'shifted'}", "--model", f"frozen={d / 'frozen'}",
          "-s", "theval.lip_dynamics", "-s", "theval.eyebrow_dynamics", "-s", "theval.lip_sync",
          "--out", out, "--no-progress", "-j", "1"])
    return out


@pytest.fixture(scope="module")
def whole_body_run(tmp_path_factory, shared_data) -> Path:
    d = tmp_path_factory.mktemp("wholebody")
    pairs = {"half": (shared_data / "whole_body" / "halfbody_silent_audio.mp4",) * 2,
             "aragaki": (shared_data / "driven_pairs" / "aragaki_real_driving.mp4",
                         shared_data / "driven_pairs" / "aragaki_generated_aniportrait.mp4")}
    for stem, (gt, gen) in pairs.items():
        V.first_frames(gt, d / "gt" / f"{stem}.mp4", 20)
        V.first_frames(gen, d / "gen" / f"{stem}.mp4", 20)
    out = d / "run"
    _run(["run", "--gt", d / "gt", "--model", f"gen={d / 'gen'}", "-s", "jwbdh.psnr.face", "-s", "jwbdh.ssim.face",
          "-s", "jwbdh.ssim.hands", "-s", "jwbdh.psnr", "--out", out, "--no-progress", "-j", "1"])
    return out


def _open(page_path: Path, shots: Path, name: str, check):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            requests: list[str] = []
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.resolve().as_uri())
            page.wait_for_load_state("load")
            check(page)
            shots.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
            page.screenshot(path=str(shots / f"{name}_top.png"))
            assert errors == []
            # offline: nothing but the page itself and its data: URIs
            assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
        finally:
            browser.close()
    extra = os.environ.get("AVATAR_EVAL_SCREENSHOTS")
    if extra:
        Path(extra).mkdir(parents=True, exist_ok=True)
        shutil.copy(shots / f"{name}_top.png", Path(extra) / f"report_{name}.png")


def _column(page, table: str, col: int) -> list[str]:
    return page.eval_on_selector(table, f"t => Array.from(t.tBodies[0].rows).map(r => r.children[{col}].dataset.v)")


def _assert_sorts(page, table: str, col: int) -> None:
    """Click header ``col`` of ``table``: ascending, again: descending (empty cells last)."""
    def nums(vals):
        return [float(v) for v in vals if v not in (None, "")]

    page.click(f"{table} thead th:nth-child({col + 1})")
    up = _column(page, table, col)
    assert nums(up) == sorted(nums(up)) and len(nums(up)) >= 2
    assert all(v in (None, "") for v in up[len(nums(up)):])
    page.click(f"{table} thead th:nth-child({col + 1})")
    down = _column(page, table, col)
    assert nums(down) == sorted(nums(down), reverse=True)
    assert page.get_attribute(f"{table} thead th:nth-child({col + 1})", "data-dir") == "desc"


def _strips_decoded(page, expected: int) -> None:
    sizes = page.eval_on_selector_all("img.strip", "ims => ims.map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
    assert len(sizes) == expected
    assert all(c and w > 96 and h == 96 for c, w, h in sizes)


def test_shipped_clip_run_report_in_chromium(shipped_run, tmp_path):
    def check(page):
        # leaderboard: THEval section, metrics as rows, models as columns
        heads = page.eval_on_selector("table.leaderboard", "t => Array.from(t.tHead.rows[0].cells).map(c => c.innerText)")
        assert heads == ["metric", "gt (GT)", "frozen", "shifted"]
        rows = page.eval_on_selector("table.leaderboard",
                                     "t => Array.from(t.tBodies[0].rows).map(r => r.cells[0].innerText)")
        assert rows[:2] == ["theval.lip_dynamics ≈GT", "theval.eyebrow_dynamics ≈GT"]
        assert page.locator("table.theval").count() == 1 and page.locator("text=missing (why)").count() == 1
        # plots: the radar (decoded PNG) and the per-clip distributions (SVG, a dot per clip value)
        plots = page.eval_on_selector_all("img.plot", "ims => ims.map(i => [i.alt, i.naturalWidth])")
        assert "radar chart" in {a for a, w in plots if w > 100}
        assert page.locator("svg.dist").count() == 1 and page.locator("svg.dist circle").count() >= 8
        assert page.locator("svg.dist").evaluate("s => s.getBoundingClientRect().height") > 50
        # a dot opens its clip's drill-down
        href = page.locator("svg.dist a").first.get_attribute("href")
        page.locator("svg.dist a").first.dispatch_event("click")
        page.wait_for_function(f"() => location.hash === '{href}'")
        page.evaluate("() => window.scrollTo(0, 0)")
        # frame strips: one per (model, clip)
        _strips_decoded(page, 3 * 2)
        # the frozen model is flagged, and its clips are linked from the flagged table
        assert page.locator("table.flagged tbody tr").count() >= 2
        # sorting: the THEval score table by a model column, the per-clip value table by value
        page.click("table.leaderboard thead th:nth-child(1)")
        names = _column(page, "table.leaderboard", 0)
        assert names == sorted(names)
        _assert_sorts(page, "table.leaderboard", 2)  # the frozen column
    _open(shipped_run / "report.html", tmp_path / "screenshots", "shipped", check)


def test_whole_body_run_report_in_chromium(whole_body_run, tmp_path):
    assert sorted(p.name for p in (whole_body_run / "regions" / "gen").iterdir()) == ["aragaki.npz", "half.npz"]

    def check(page):
        sections = page.eval_on_selector_all("h3", "hs => hs.map(h => h.innerText)")
        assert {"JWB-DH · Whole body", "JWB-DH · Face", "JWB-DH · Hands"} <= set(sections)
        assert page.locator("img[alt='JWB-DH per-region bars']").evaluate("i => i.naturalWidth") > 100
        # strips of the generated clips, with the kept region boxes
        _strips_decoded(page, 2)
        assert page.locator("text=region boxes from regions/gen/").count() == 2
        # the identical half-body pair: PSNR undefined, said in "why missing"
        assert page.locator("#missing + p + table tbody th[data-v='undefined']").count() == 1
        # sort the per-clip value table of a clip by value
        page.click("table.values >> nth=0 >> thead th:nth-child(3)")
        vals = page.eval_on_selector("table.values", "t => Array.from(t.tBodies[0].rows).map(r => r.children[2].dataset.v)")
        nums = [float(v) for v in vals if v]
        assert nums == sorted(nums)
    _open(whole_body_run / "report.html", tmp_path / "screenshots", "whole_body", check)
