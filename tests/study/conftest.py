from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from study_helpers import MODELS, SAMPLES, make_run  # noqa: E402

#: per-model values of three metrics with known directions (see test_study_analysis)
METRICS = {
    "test.up": {"alpha": 4.0, "beta": 3.0, "gamma": 2.0, "delta": 1.0, "gt": 5.0},
    "test.down": {"alpha": 0.1, "beta": 0.2, "gamma": 0.3, "delta": 0.4, "gt": 0.0},
    "test.closer": {"alpha": 1.05, "beta": 0.8, "gamma": 1.6, "delta": 2.5, "gt": 1.0},
}


@pytest.fixture(scope="session")
def study_run(tmp_path_factory) -> Path:
    """A run directory: 4 models + GT on 3 samples, records for three metrics."""
    return make_run(tmp_path_factory.mktemp("study_run"), MODELS, SAMPLES, METRICS)


@pytest.fixture
def make_study(tmp_path, study_run):
    from avatar_eval.study.create import create_study

    def make(name: str = "study", **kw):
        kw.setdefault("max_gold_clips", 1)
        kw.setdefault("gold_per_participant", 0)
        return create_study(tmp_path / name, run_dir=study_run, **kw)

    return make
