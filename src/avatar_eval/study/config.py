"""Study configuration: ``study.json`` in a study directory, plus its secrets file.

A study directory holds:

* ``study.json``: protocol, dimensions, models, samples, the pair pool, gold trials and the
  video table (opaque random id -> file on disk). Clients only ever see the ids.
* ``secrets.json`` (mode 0600): the admin secret and the key that signs CSRF tokens.
* ``study.db``: the SQLite database (default; any SQLAlchemy URL may be used instead).
* ``videos/``: the degraded gold copies made at ``study create`` time.
* ``invites.csv``: invite links written by ``study create`` / ``study invite`` (tokens are only
  stored hashed in the database, so this file is the one place they exist in clear).
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..results.store import atomic_write_text

FORMAT = "avatar-eval-study/1"
PROTOCOLS = ("2afc", "gsb")
ANSWERS_2AFC = ("left", "right")
ANSWERS_GSB = ("left", "same", "right")


@dataclass
class Dimension:
    key: str
    label: str
    question: str

    @classmethod
    def from_any(cls, d: Any) -> "Dimension":
        if isinstance(d, Dimension):
            return d
        if isinstance(d, str):
            return preset_dimension(d)
        return cls(key=str(d["key"]), label=str(d.get("label", d["key"])),
                   question=str(d.get("question", d.get("label", d["key"]))))


#: JoyAvatar's five GSB dimensions and THEval's 2AFC question
PRESET_DIMENSIONS: dict[str, Dimension] = {
    "realism": Dimension("realism", "Realism", "Which video looks more realistic?"),
    "overall": Dimension("overall", "Overall quality", "Which video is better overall?"),
    "text_alignment": Dimension(
        "text_alignment", "Text alignment",
        "Which video better matches what it is supposed to show (the prompt / script)?"),
    "lip_sync": Dimension(
        "lip_sync", "Lip synchronisation", "In which video do the lips match the speech better?"),
    "identity": Dimension(
        "identity", "Identity consistency",
        "In which video does the person keep the same identity better?"),
    "visual_quality": Dimension(
        "visual_quality", "Visual quality",
        "Which video has better visual quality (sharpness, artefacts)?"),
}
DEFAULT_DIMENSIONS = {"2afc": ["realism"],
                      "gsb": ["overall", "text_alignment", "lip_sync", "identity",
                              "visual_quality"]}


def preset_dimension(key: str) -> Dimension:
    key = key.strip()
    if key in PRESET_DIMENSIONS:
        return PRESET_DIMENSIONS[key]
    if not key.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"dimension key {key!r}: use letters, digits, '_' or '-'")
    label = key.replace("_", " ").capitalize()
    return Dimension(key, label, f"Which video is better: {label.lower()}?")


DEFAULT_INSTRUCTIONS = {
    "2afc": (
        "You will see pairs of short videos side by side. Press \"Play/Pause both\" to watch "
        "them together (you can replay them). For each question, choose the video you "
        "prefer."
    ),
    "gsb": (
        "You will see pairs of short videos side by side. Press \"Play/Pause both\" to watch "
        "them together (you can replay them). For each question, say whether the left video "
        "is better, both are about the same, or the right video is better."
    ),
}
WATCH_NOTE = "Please watch each pair to the end before answering."
ATTENTION_NOTE = "A few pairs are attention checks with an obvious answer."


def default_instructions(protocol: str, gold: bool, full_play: bool) -> str:
    parts = [DEFAULT_INSTRUCTIONS[protocol]]
    extra = " ".join(x for x, on in ((WATCH_NOTE, full_play), (ATTENTION_NOTE, gold)) if on)
    return "\n".join(parts + ([extra] if extra else []))


@dataclass
class Limits:
    #: largest request body accepted (bytes); bigger bodies get 413
    max_body_bytes: int = 16 * 1024
    #: token bucket per client address over all requests: (requests per second, burst)
    ip_rate: tuple[float, float] = (200.0, 1000.0)
    #: token bucket per participant on the API: (requests per second, burst)
    participant_rate: tuple[float, float] = (10.0, 60.0)
    #: failed token / secret checks per client address per minute before 429
    auth_failures_per_min: int = 30
    #: trust X-Forwarded-For (only behind your own reverse proxy)
    trust_proxy: bool = False

    @classmethod
    def from_dict(cls, d: dict[str, Any] | None) -> "Limits":
        d = dict(d or {})
        out = cls()
        for k, v in d.items():
            if hasattr(out, k):
                setattr(out, k, tuple(v) if isinstance(v, list) else v)
        return out


@dataclass
class VideoEntry:
    path: str
    model: str
    sample_id: str
    kind: str = "clip"  # "clip" | "degraded"


@dataclass
class StudyConfig:
    title: str
    protocol: str
    dimensions: list[Dimension]
    models: list[str]
    samples: list[str]
    pairs: list[tuple[str, str, str]]  # (sample_id, model_a, model_b)
    videos: dict[str, VideoEntry]  # opaque id -> file
    clips: dict[str, dict[str, str]]  # model -> sample -> video id
    gold: list[dict[str, str]] = field(default_factory=list)  # sample_id, gt, degraded (ids)
    pairs_per_participant: int = 10
    gold_per_participant: int = 0
    gold_dimension: str = ""
    target: str | None = None
    require_full_play: bool = True
    instructions: str = ""
    seed: int = 0
    study_id: str = ""
    run_dir: str | None = None
    created_at: str = ""
    limits: Limits = field(default_factory=Limits)
    format: str = FORMAT

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"protocol must be one of {PROTOCOLS}, got {self.protocol!r}")
        if not self.dimensions:
            raise ValueError("a study needs at least one dimension")
        keys = [d.key for d in self.dimensions]
        if len(set(keys)) != len(keys):
            raise ValueError(f"duplicate dimension keys: {keys}")
        if not self.gold_dimension:
            self.gold_dimension = keys[0]
        if self.gold_dimension not in keys:
            raise ValueError(f"gold dimension {self.gold_dimension!r} not in {keys}")
        if not self.instructions:
            self.instructions = default_instructions(
                self.protocol, self.gold_per_participant > 0, self.require_full_play)

    @property
    def answers(self) -> tuple[str, ...]:
        return ANSWERS_2AFC if self.protocol == "2afc" else ANSWERS_GSB

    @property
    def dimension_keys(self) -> list[str]:
        return [d.key for d in self.dimensions]

    @property
    def trials_per_participant(self) -> int:
        return min(self.pairs_per_participant, len(self.pairs)) + self.gold_per_participant

    # -- (de)serialisation ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["pairs"] = [list(p) for p in self.pairs]
        d["limits"]["ip_rate"] = list(self.limits.ip_rate)
        d["limits"]["participant_rate"] = list(self.limits.participant_rate)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "StudyConfig":
        d = dict(d)
        fmt = d.pop("format", FORMAT)
        if fmt != FORMAT:
            raise ValueError(f"unsupported study format {fmt!r} (expected {FORMAT})")
        d["dimensions"] = [Dimension.from_any(x) for x in d["dimensions"]]
        d["pairs"] = [tuple(p) for p in d["pairs"]]
        d["videos"] = {k: VideoEntry(**v) for k, v in d["videos"].items()}
        d["limits"] = Limits.from_dict(d.get("limits"))
        return cls(**d)

    def save(self, study_dir: str | os.PathLike[str]) -> Path:
        p = Path(study_dir) / "study.json"
        atomic_write_text(p, json.dumps(self.to_dict(), indent=2, sort_keys=False) + "\n")
        return p

    @classmethod
    def load(cls, study_dir: str | os.PathLike[str]) -> "StudyConfig":
        p = Path(study_dir) / "study.json"
        if not p.is_file():
            raise FileNotFoundError(f"{p}: not a study directory (run `avatar-eval study create`)")
        return cls.from_dict(json.loads(p.read_text("utf-8")))


# -- secrets ------------------------------------------------------------------------------------
def load_or_create_secrets(study_dir: str | os.PathLike[str]) -> dict[str, str]:
    """``{"admin_secret", "signing_key"}`` from ``secrets.json`` (created 0600 when missing)."""
    p = Path(study_dir) / "secrets.json"
    if p.is_file():
        s = json.loads(p.read_text("utf-8"))
        if s.get("admin_secret") and s.get("signing_key"):
            return s
    s = {"admin_secret": secrets.token_urlsafe(24), "signing_key": secrets.token_hex(32)}
    p.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(s, f)
    return s


def default_db_url(study_dir: str | os.PathLike[str]) -> str:
    return f"sqlite:///{(Path(study_dir) / 'study.db').resolve()}"
