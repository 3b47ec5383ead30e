import os
from pathlib import Path

import pytest

os.environ.setdefault("GLOG_minloglevel", "2")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("AVATAR_EVAL_OFFLINE", "1")
# `avatar-eval run` without -j uses every core; tests that do not say -j run in one process (their
# test-registered metrics exist only there)
os.environ.setdefault("AVATAR_EVAL_WORKERS", "1")

REPO = Path(__file__).resolve().parents[1]
CLIPS = REPO / "examples" / "clips"
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def clips() -> Path:
    return CLIPS


@pytest.fixture(scope="session")
def shared_data() -> Path:
    d = SHARED / "data"
    if not d.is_dir():
        pytest.skip(f"{d} is not present (the shared test media live beside the repository)")
    return d
