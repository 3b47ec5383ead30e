"""The utterance set (ids, categories, reference texts, TTS prompts) and system audio folders.

File formats read by :func:`load_utterances`:

* ``.jsonl``: one object per line; ``.json``: a list of objects or ``{"utterances": [...]}``;
* ``.csv`` / ``.tsv``: a header row, then one utterance per row;
* a directory: every audio/video file with a ``<stem>.txt`` beside it (id = stem, text = the
  ``.txt``, no category) — how LibriVox-style test data and ``jfk.flac`` + ``jfk.txt`` come.

Fields (header names are matched case-insensitively on their first word, so a header
``transcript (GRID grammar ...)`` is ``transcript``):

``id``        utterance id (aliases ``utterance_id``, ``utt_id``, ``name``; or ``file`` /
              ``filename``, whose extension is dropped and whose name is tried first when
              looking for a system's audio)
``text``      the reference text WER is computed against (aliases ``reference``, ``transcript``,
              ``transcription``, ``script``)
``category``  one of the JWB-DH four: ``emotions``, ``paralinguistics``,
              ``complex_pronunciation``, ``syntactic_complexity`` (aliases such as "Emotion",
              "complex pronunciation", "syntax" are accepted); empty = uncategorised
``prompt``    what the TTS system was given (style instruction + text, paralinguistic tags);
              defaults to ``text``; shown to the judge
``language``  expected language of the speech (default ``en``)

Any other column is kept in ``Utterance.meta``.

A system's audio for an utterance is the file in the system's folder whose stem is the id (any
audio or video extension), searched recursively; none → :class:`MissingAudio`, several →
:class:`InputError`.
"""

from __future__ import annotations

import csv
import difflib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import InputError

__all__ = [
    "CATEGORIES", "CATEGORY_LABELS", "UNCATEGORISED", "AUDIO_EXTENSIONS", "Utterance",
    "MissingAudio", "canonical_category", "load_utterances", "AudioFolder",
]

CATEGORIES = ("emotions", "paralinguistics", "complex_pronunciation", "syntactic_complexity")
CATEGORY_LABELS = {
    "emotions": "Emotions",
    "paralinguistics": "Paralinguistics",
    "complex_pronunciation": "Complex Pronunciation",
    "syntactic_complexity": "Syntactic Complexity",
}
UNCATEGORISED = ""
_ALIASES = {
    "emotion": "emotions", "emotional": "emotions", "emotions": "emotions",
    "paralinguistic": "paralinguistics", "paralinguistics": "paralinguistics",
    "paralanguage": "paralinguistics",
    "complex_pronunciation": "complex_pronunciation", "pronunciation": "complex_pronunciation",
    "complex_pronunciations": "complex_pronunciation",
    "syntactic_complexity": "syntactic_complexity", "syntax": "syntactic_complexity",
    "syntactic": "syntactic_complexity", "syntactically_complex": "syntactic_complexity",
}

AUDIO_EXTENSIONS = (
    ".wav", ".flac", ".mp3", ".ogg", ".opus", ".m4a", ".aac", ".wma",
    ".mp4", ".mov", ".mkv", ".webm", ".mpg", ".mpeg", ".avi",
)

_ID_KEYS = ("id", "utterance_id", "utt_id", "uid", "name", "file", "filename", "audio")
_TEXT_KEYS = ("text", "reference", "transcript", "transcription", "script", "ref")


class MissingAudio(InputError):
    """A system has no audio for an utterance."""


@dataclass(frozen=True)
class Utterance:
    id: str
    text: str
    category: str = UNCATEGORISED
    prompt: str | None = None
    language: str = "en"
    audio: str | None = None  # a file name from the set's ``file`` column, tried first
    meta: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)

    @property
    def category_label(self) -> str:
        return CATEGORY_LABELS.get(self.category, self.category or "Uncategorised")

    @property
    def tts_prompt(self) -> str:
        return self.prompt if self.prompt else self.text


def canonical_category(value: str | None, *, strict: bool = True) -> str:
    """``"Complex Pronunciation"`` -> ``complex_pronunciation``; unknown names raise when strict."""
    if value is None:
        return UNCATEGORISED
    v = str(value).strip().lower().replace("-", "_").replace(" ", "_")
    if not v:
        return UNCATEGORISED
    if v in _ALIASES:
        return _ALIASES[v]
    if strict:
        close = difflib.get_close_matches(v, list(_ALIASES), n=1)
        hint = f" Did you mean {_ALIASES[close[0]]!r}?" if close else ""
        raise InputError(
            f"unknown utterance category {value!r}: use one of {', '.join(CATEGORIES)} "
            f"(or pass strict_categories=False / --any-category).{hint}")
    return v


def _key(h: str) -> str:
    h = (h or "").strip().lower()
    return h.split()[0] if h else h


def _from_mapping(row: dict[str, Any], where: str, strict: bool) -> Utterance:
    norm = {_key(str(k)): v for k, v in row.items() if k is not None}
    uid = audio = None
    for k in _ID_KEYS:
        if norm.get(k) not in (None, ""):
            uid = str(norm[k]).strip()
            if k in ("file", "filename", "audio"):
                audio = uid
                uid = Path(uid).stem
            break
    if not uid:
        raise InputError(f"{where}: no utterance id (a column named one of {', '.join(_ID_KEYS)})")
    text = None
    for k in _TEXT_KEYS:
        if k in norm and norm[k] is not None:
            text = str(norm[k]).strip()
            break
    if text is None:
        raise InputError(f"{where}: utterance {uid!r} has no reference text (column text)")
    used = set(_ID_KEYS) | set(_TEXT_KEYS) | {"category", "prompt", "language", "lang"}
    meta = {k: v for k, v in norm.items() if k not in used}
    prompt = norm.get("prompt")
    return Utterance(
        id=uid, text=text,
        category=canonical_category(norm.get("category"), strict=strict),
        prompt=str(prompt).strip() if prompt not in (None, "") else None,
        language=str(norm.get("language") or norm.get("lang") or "en").strip() or "en",
        audio=audio, meta=meta,
    )


def load_utterances(path: str | os.PathLike[str], *, strict_categories: bool = True) -> list[Utterance]:
    """Read an utterance set (see the module doc). Duplicate ids raise :class:`InputError`."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"utterance set not found: {p}")
    rows: list[tuple[dict[str, Any], str]] = []
    if p.is_dir():
        out = []
        for f in sorted(p.iterdir()):
            if f.suffix.lower() in AUDIO_EXTENSIONS and f.with_suffix(".txt").is_file():
                out.append(Utterance(id=f.stem, text=f.with_suffix(".txt").read_text("utf-8").strip(),
                                     audio=f.name))
        if not out:
            raise InputError(f"{p}: no audio file with a .txt transcript beside it")
        return out
    suffix = p.suffix.lower()
    try:
        if suffix == ".jsonl":
            for i, line in enumerate(p.read_text("utf-8").splitlines(), 1):
                if line.strip():
                    rows.append((json.loads(line), f"{p.name}:{i}"))
        elif suffix == ".json":
            data = json.loads(p.read_text("utf-8"))
            if isinstance(data, dict):
                data = data.get("utterances", [])
            rows = [(r, f"{p.name}[{i}]") for i, r in enumerate(data)]
        elif suffix in (".csv", ".tsv", ".txt"):
            text = p.read_text("utf-8")
            delim = "\t" if suffix == ".tsv" or ("\t" in text.splitlines()[0] if text else False) else ","
            reader = csv.DictReader(text.splitlines(), delimiter=delim)
            rows = [(r, f"{p.name}:{i}") for i, r in enumerate(reader, 2)]
        else:
            raise InputError(f"{p.name}: unknown utterance-set format (use .jsonl, .json, .csv or .tsv)")
    except (json.JSONDecodeError, UnicodeDecodeError, csv.Error) as e:
        raise InputError(f"{p.name}: cannot parse the utterance set ({e})") from e
    utts = [_from_mapping(r, where, strict_categories) for r, where in rows]
    _check_unique(utts, p.name)
    if not utts:
        raise InputError(f"{p.name}: no utterance")
    return utts


def _check_unique(utts: Iterable[Utterance], name: str) -> None:
    seen: set[str] = set()
    for u in utts:
        if u.id in seen:
            raise InputError(f"{name}: utterance id {u.id!r} appears twice")
        seen.add(u.id)


class AudioFolder:
    """One system's outputs: files matched to utterances by stem (indexed once)."""

    def __init__(self, folder: str | os.PathLike[str]):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(f"system folder not found: {self.folder}")
        self._by_stem: dict[str, list[Path]] = {}
        self._by_name: dict[str, Path] = {}
        for f in sorted(self.folder.rglob("*")):
            if f.is_file() and f.suffix.lower() in AUDIO_EXTENSIONS:
                self._by_stem.setdefault(f.stem, []).append(f)
                self._by_name.setdefault(f.name, f)

    def find(self, utt: Utterance) -> Path:
        if utt.audio and utt.audio in self._by_name:
            return self._by_name[utt.audio]
        hits = self._by_stem.get(utt.id, [])
        if not hits:
            raise MissingAudio(f"no audio for utterance {utt.id!r} in {self.folder} "
                               f"(expected {utt.id}.wav or another audio/video extension)")
        if len(hits) > 1:
            raise InputError(f"several files for utterance {utt.id!r} in {self.folder}: "
                             + ", ".join(str(h.relative_to(self.folder)) for h in hits))
        return hits[0]

    def __len__(self) -> int:
        return sum(len(v) for v in self._by_stem.values())
