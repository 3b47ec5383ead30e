"""The spine end to end on the tiny driven pair: runner -> records -> JWB-DH table (offline)."""

import json

import pytest
from jwbdh_data import clip


def test_runner_records_and_table(tmp_path):
    runner = pytest.importorskip("avatar_eval.pipeline.runner")
    from avatar_eval.pipeline.manifest import Manifest, Sample
    from avatar_eval.protocols.jwbdh import table_from_run

    m = Manifest([Sample(id="aragaki", gt=clip("aragaki_gt_20f.mp4"), models={"aniportrait": clip("aragaki_gen_20f.mp4")})])
    names = ["jwbdh.ssim", "jwbdh.psnr.face", "jwbdh.ssim.hands", "jwbdh.fid", "jwbdh.ssim.face.compat",
             "hands.hkc.offline"]
    cfg = runner.RunConfig(metrics=names, out_dir=str(tmp_path / "run"), workers=1, reports=False)
    runner.run(m, cfg, progress=False)
    recs = [json.loads(x) for x in (tmp_path / "run" / "records.jsonl").read_text().splitlines()]
    by = {(r["model"], r["sample_id"], r["metric"]): r for r in recs}
    ok = by[("aniportrait", "aragaki", "jwbdh.ssim")]
    assert ok["status"] == "ok" and 0 < ok["value"] < 1 and ok["details"]["n_frames"] == 20
    assert by[("aniportrait", "aragaki", "jwbdh.psnr.face")]["status"] == "ok"
    assert by[("aniportrait", "aragaki", "jwbdh.ssim.face.compat")]["status"] == "ok"
    hands = by[("aniportrait", "aragaki", "jwbdh.ssim.hands")]
    assert hands["status"] == "skipped" and hands["reason"] == "undefined"
    fid = by[("aniportrait", "__dataset__", "jwbdh.fid")]
    assert fid["status"] == "skipped"
    paths = table_from_run(tmp_path / "run")
    md = paths["md"].read_text()
    assert "aniportrait" in md and "Whole body" in md
