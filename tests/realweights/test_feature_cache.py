"""FID features are cached by clip content: a second run (another output directory, a renamed copy
of the clips) reuses them without running Inception; a changed frame stride does not. FVD's are
cached the same way (metrics/jwbdh.py ``_FvdMetric.features``). Cheap: 2 shipped clips per side,
``fid.frame_stride`` 40 (4 frames per clip)."""

from __future__ import annotations

import json
import shutil

import pytest
from realweights_data import payload


@pytest.fixture()
def folders(tmp_path, clips):
    gt, m = tmp_path / "gt", tmp_path / "m"
    gt.mkdir()
    m.mkdir()
    for stem in ("face5", "may"):
        shutil.copy(clips / "gt" / f"{stem}.mp4", gt)
        shutil.copy(clips / "frozen" / f"{stem}.mp4", m)
    return gt, m


def test_rerun_elsewhere_does_not_re_extract(folders, tmp_path, monkeypatch):
    payload("fid_inception_tf")
    import avatar_eval.metrics.jwbdh as J
    from avatar_eval.pipeline.manifest import from_folders
    from avatar_eval.pipeline.runner import RunConfig, run

    monkeypatch.setenv("AVATAR_EVAL_FEATURE_CACHE", str(tmp_path / "features-cache"))
    calls = []
    real = J.tf_inception_features
    monkeypatch.setattr(J, "tf_inception_features", lambda m, fr: (calls.append(len(fr)), real(m, fr))[1])

    def go(out, stride=40, gt=None, m=None):
        cfg = RunConfig(metrics=["jwbdh.fid"], out_dir=str(out), reports=False, workers=1,
                        options={"fid": {"frame_stride": stride}})
        return run(from_folders(gt or folders[0], {"m": m or folders[1]}), cfg, progress=False)

    s1 = go(tmp_path / "run1")
    r1 = [r for r in s1.records() if r.metric == "jwbdh.fid"]
    assert len(r1) == 1 and r1[0].status == "ok", r1
    n_first = sum(calls)
    assert n_first == 4 * 4  # 4 clips (2 GT, 2 frozen) × frames 0, 40, 80, 120
    # another run directory, the clips copied under other names: same bytes, no extraction
    gt2, m2 = tmp_path / "gt2", tmp_path / "m2"
    shutil.copytree(folders[0], gt2)
    shutil.copytree(folders[1], m2)
    s2 = go(tmp_path / "run2", gt=gt2, m=m2)
    r2 = [r for r in s2.records() if r.metric == "jwbdh.fid"]
    assert sum(calls) == n_first, "features were extracted again"
    assert r2[0].value == r1[0].value and r2[0].details["n_gen"] == r1[0].details["n_gen"] == 8
    last = json.loads((tmp_path / "run2" / "run.json").read_text())["last_run"]
    assert last["clips"] == 4 and last["frames"] == 0, last  # probed, not decoded
    # another frame stride is another feature key: extracted again
    go(tmp_path / "run3", stride=60)
    assert sum(calls) == n_first + 4 * 3  # frames 0, 60, 120
