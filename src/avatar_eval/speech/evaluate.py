"""Per-item runs of the speech protocol into a resumable :class:`RecordStore`.

Records (see ``avatar_eval.results.schema``): ``model`` = system name, ``sample_id`` = utterance id,

* ``speech.wer``: value = WER of the utterance; ``details`` hold CER, S/D/I/hits, the normalised
  texts, the raw hypothesis, word timestamps, language (detected or assumed) and flags, and the
  ASR model (name, directory, source, SHA-256) that produced the transcript.
* ``speech.judge``: one comparison of a candidate with the baseline; value = 1 (candidate wins),
  0.5 (tie), 0 (baseline wins); ``details`` hold the slot order, the judge's raw answer and verdict,
  the judge identity, the seed and whether the verdict came from the cache. Human votes imported
  from the study app use ``sample_id = "<utterance id>@<participant>"`` (one record per vote).

Every item is written as soon as it is done (one fsync'd JSONL line), so a killed run loses at
most the item in flight. Resume follows the one rule of :mod:`avatar_eval.results.resume`, like
the pipeline runner: a record is reused only when its fingerprint matches (metric + version; the
ASR options and model SHA-256, or the judge identity, baseline, seed and prompt template; the
content hash of the audio and the utterance's text), ``error`` records are retried unless
``keep_errors`` (``retry_errors=False`` is the older spelling of the same), and records without a
fingerprint (earlier versions) are recomputed. Bad input is a per-item ``error`` record with a
``reason``: ``missing_audio``, ``too_long``, ``bad_input``, ``judge_error``, ``judge_unavailable``,
``unparseable_verdict``, ``exception``; an undefined WER (empty reference) is ``skipped`` / ``undefined``.
"""

from __future__ import annotations

import csv
import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import InputError, MetricUndefined
from ..results.resume import FileDigests, fingerprint
from ..results.schema import Record, record_key
from ..results.store import RecordStore
from .asr import AudioTooLong, WhisperAsr
from .judge import (
    TEMPLATE_VERSION,
    JudgeBackend,
    JudgeError,
    JudgeRequest,
    JudgeUnavailable,
    VerdictCache,
    VerdictParseError,
    file_sha256,
    parse_verdict,
    render_prompt,
)
from .utterances import AudioFolder, MissingAudio, Utterance
from .wer import score_texts

__all__ = [
    "WER_METRIC", "JUDGE_METRIC", "METRIC_VERSION", "run_wer", "run_judging",
    "import_study_votes", "candidate_in_slot_a", "RunSummary",
]

WER_METRIC = "speech.wer"
JUDGE_METRIC = "speech.judge"
METRIC_VERSION = "1"

Progress = Callable[[str, str, Record], None]


@dataclass
class RunSummary:
    done: int = 0
    resumed: int = 0
    errors: int = 0
    skipped: int = 0

    def count(self, rec: Record) -> None:
        self.done += 1
        if rec.status == "error":
            self.errors += 1
        elif rec.status == "skipped":
            self.skipped += 1


def _folders(systems: Mapping[str, Any]) -> dict[str, AudioFolder]:
    return {name: f if isinstance(f, AudioFolder) else AudioFolder(f) for name, f in systems.items()}


def _error(model: str, sid: str, metric: str, reason: str, exc: BaseException | str,
           details: dict[str, Any] | None = None, elapsed: float | None = None) -> Record:
    msg = str(exc) if isinstance(exc, str) else f"{exc}" or type(exc).__name__
    if isinstance(exc, BaseException) and not isinstance(exc, (InputError, JudgeError)):
        msg = f"{type(exc).__name__}: {exc}"
    return Record(model=model, sample_id=sid, metric=metric, status="error",
                  metric_version=METRIC_VERSION, reason=reason, message=msg,
                  details=details or {}, elapsed_s=elapsed)


def _keep(keep_errors: bool | None, retry_errors: bool | None) -> bool:
    """``keep_errors`` wins; ``retry_errors`` is its older, inverted spelling; default: retry."""
    if keep_errors is not None:
        return keep_errors
    return retry_errors is False


def _audio(folder: AudioFolder, utt: Utterance) -> tuple[Path | None, BaseException | None]:
    try:
        return folder.find(utt), None
    except InputError as e:  # MissingAudio, or several files match the id
        return None, e


# --------------------------------------------------------------------------------------------
# WER
# --------------------------------------------------------------------------------------------
def _asr_options(asr: Any) -> dict[str, Any]:
    opts = getattr(asr, "options", None)
    return dict(opts()) if callable(opts) else {}


def wer_fingerprint(utt: Utterance, audio_digest: str | None, asr_options: dict[str, Any],
                    model_sha: str | None) -> str:
    return fingerprint(WER_METRIC, METRIC_VERSION, options=asr_options, weights={"asr_model": model_sha},
                       inputs={"audio": audio_digest, "reference": utt.text, "category": utt.category,
                               "language": utt.language})


def wer_record(system: str, utt: Utterance, audio: Path | None, asr: WhisperAsr) -> Record:
    """Transcribe one system's audio of one utterance and score it (never raises)."""
    t0 = time.perf_counter()
    base = {"category": utt.category, "reference": utt.text, "asr_model": asr.describe(),
            "expected_language": utt.language}
    if audio is not None:
        base["audio"] = str(audio)
    try:
        if audio is None:
            raise MissingAudio(f"no audio for utterance {utt.id!r}")
        tr = asr.transcribe(audio)
    except MissingAudio as e:
        return _error(system, utt.id, WER_METRIC, "missing_audio", e, base, time.perf_counter() - t0)
    except AudioTooLong as e:
        return _error(system, utt.id, WER_METRIC, "too_long", e, base, time.perf_counter() - t0)
    except InputError as e:
        return _error(system, utt.id, WER_METRIC, "bad_input", e, base, time.perf_counter() - t0)
    except Exception as e:  # noqa: BLE001 - recorded, the run goes on
        return _error(system, utt.id, WER_METRIC, "exception", e, base, time.perf_counter() - t0)
    flags = list(tr.flags)
    if utt.language.split("-")[0].lower() != "en" and tr.model.get("english_only"):
        flags.append(f"english_only_model_for_{utt.language}_utterance")
    details = dict(base, hypothesis=tr.text, language=tr.language,
                   language_probability=tr.language_probability, language_model=tr.language_model, flags=flags,
                   suspect_non_english=tr.suspect_non_english, avg_logprob=tr.avg_logprob,
                   duration_s=tr.duration_s, asr_options=tr.options, asr_elapsed_s=tr.elapsed_s,
                   words=tr.to_dict()["words"])
    try:
        sc = score_texts(utt.text, tr.text)
    except MetricUndefined as e:
        return Record(model=system, sample_id=utt.id, metric=WER_METRIC, status="skipped",
                      metric_version=METRIC_VERSION, reason="undefined", message=str(e),
                      details=details, elapsed_s=time.perf_counter() - t0)
    details.update(sc.to_dict())
    details.pop("wer", None)
    return Record(model=system, sample_id=utt.id, metric=WER_METRIC, status="ok", value=sc.wer,
                  metric_version=METRIC_VERSION, details=details,
                  elapsed_s=round(time.perf_counter() - t0, 3))


def run_wer(
    utterances: Sequence[Utterance],
    systems: Mapping[str, Any],
    store: RecordStore,
    asr: WhisperAsr,
    *,
    keep_errors: bool | None = None,
    retry_errors: bool | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Transcribe and score every (system, utterance); resumable (see the module doc)."""
    folders = _folders(systems)
    keep = _keep(keep_errors, retry_errors)
    model_sha = asr.describe()["model_sha256"]
    options = _asr_options(asr)
    digest = FileDigests()
    summary = RunSummary()
    for system, folder in folders.items():
        for utt in utterances:
            path, find_error = _audio(folder, utt)
            fp = wer_fingerprint(utt, digest(path), options, model_sha)
            if store.reusable(record_key(system, utt.id, WER_METRIC), fp, keep):
                summary.resumed += 1
                continue
            if isinstance(find_error, MissingAudio):
                rec = _error(system, utt.id, WER_METRIC, "missing_audio", find_error,
                             {"category": utt.category, "reference": utt.text})
            elif find_error is not None:  # several files match the id
                rec = _error(system, utt.id, WER_METRIC, "bad_input", find_error,
                             {"category": utt.category, "reference": utt.text})
            else:
                rec = wer_record(system, utt, path, asr)
            rec.fingerprint = fp
            store.append(rec)
            summary.count(rec)
            if progress:
                progress(system, utt.id, rec)
    return summary


# --------------------------------------------------------------------------------------------
# pairwise judging
# --------------------------------------------------------------------------------------------
def candidate_in_slot_a(seed: int, candidate: str, baseline: str, utterance_id: str) -> bool:
    """The per-comparison order: a fair coin from a hash of (seed, systems, utterance)."""
    h = hashlib.sha256(f"{seed}\x1f{candidate}\x1f{baseline}\x1f{utterance_id}".encode()).digest()
    return bool(h[0] & 1)


def _template_id(template: str | None) -> str:
    return TEMPLATE_VERSION if template is None else "custom:" + hashlib.sha256(template.encode()).hexdigest()[:12]


def judge_fingerprint(utt: Utterance, identity: str, baseline: str, seed: int, template: str | None,
                      candidate_digest: str | None, baseline_digest: str | None) -> str:
    try:
        prompt = hashlib.sha256(render_prompt(utt, template).encode()).hexdigest()
    except (KeyError, IndexError, ValueError):
        prompt = None
    return fingerprint(JUDGE_METRIC, METRIC_VERSION,
                       options={"judge": identity, "baseline": baseline, "seed": seed,
                                "template": _template_id(template)},
                       inputs={"candidate_audio": candidate_digest, "baseline_audio": baseline_digest,
                               "prompt": prompt, "category": utt.category})


_OUTCOME = {("A", True): "win", ("B", False): "win", ("A", False): "loss", ("B", True): "loss"}
_VALUE = {"win": 1.0, "tie": 0.5, "loss": 0.0}


def _outcome(verdict: str, cand_a: bool) -> str:
    return "tie" if verdict == "tie" else _OUTCOME[(verdict, cand_a)]


def judge_one(
    candidate: str, baseline: str, utt: Utterance, cand_audio: Path, base_audio: Path,
    judge: JudgeBackend, cache: VerdictCache, *, seed: int = 0, parse_retries: int = 2,
    template: str | None = None,
) -> Record:
    """One comparison (never raises)."""
    t0 = time.perf_counter()
    cand_a = candidate_in_slot_a(seed, candidate, baseline, utt.id)
    a, b = (cand_audio, base_audio) if cand_a else (base_audio, cand_audio)
    instructions = render_prompt(utt, template)
    details: dict[str, Any] = {
        "baseline": baseline, "candidate": candidate, "judge": judge.identity,
        "category": utt.category, "seed": seed,
        "slot_a": candidate if cand_a else baseline, "slot_b": baseline if cand_a else candidate,
        "candidate_slot": "A" if cand_a else "B", "audio_candidate": str(cand_audio),
        "audio_baseline": str(base_audio), "template": _template_id(template),
    }
    try:
        sha_a, sha_b = file_sha256(a), file_sha256(b)
    except OSError as e:
        return _error(candidate, utt.id, JUDGE_METRIC, "bad_input", f"cannot read audio: {e}", details)
    key = VerdictCache.key(judge.identity, instructions, sha_a, sha_b)
    hit = cache.get(key)
    answers: list[str] = []
    verdict = None
    if hit is not None:
        verdict, answers = hit["verdict"], [hit.get("answer", "")]
        details["cached"] = True
    else:
        details["cached"] = False
        req = JudgeRequest(utt.id, utt.category, instructions, a, b)
        for _ in range(parse_retries + 1):
            try:
                ans = judge.ask(req)
            except JudgeUnavailable as e:
                return _error(candidate, utt.id, JUDGE_METRIC, "judge_unavailable", e, details,
                              time.perf_counter() - t0)
            except JudgeError as e:
                details["answers"] = [x[:2000] for x in answers]
                return _error(candidate, utt.id, JUDGE_METRIC, "judge_error", e, details,
                              time.perf_counter() - t0)
            except InputError as e:  # an audio file the backend cannot encode
                return _error(candidate, utt.id, JUDGE_METRIC, "bad_input", e, details,
                              time.perf_counter() - t0)
            except Exception as e:  # noqa: BLE001
                details["answers"] = [x[:2000] for x in answers]
                return _error(candidate, utt.id, JUDGE_METRIC, "exception", e, details,
                              time.perf_counter() - t0)
            answers.append(str(ans))
            try:
                verdict = parse_verdict(ans)
                break
            except VerdictParseError:
                continue
        if verdict is None:
            details["answers"] = [x[:2000] for x in answers]
            return _error(candidate, utt.id, JUDGE_METRIC, "unparseable_verdict",
                          f"no parseable verdict in {len(answers)} answers; last: {answers[-1][-200:]!r}",
                          details, time.perf_counter() - t0)
        cache.put(key, {"verdict": verdict, "answer": answers[-1][:4000], "judge": judge.identity,
                        "utterance_id": utt.id, "slot_a_sha256": sha_a, "slot_b_sha256": sha_b,
                        "time": time.time()})
    outcome = _outcome(verdict, cand_a)
    details.update(verdict=verdict, outcome=outcome, attempts=len(answers) if hit is None else 0,
                   answer=(answers[-1] if answers else "")[:2000])
    return Record(model=candidate, sample_id=utt.id, metric=JUDGE_METRIC, status="ok",
                  value=_VALUE[outcome], metric_version=METRIC_VERSION, details=details,
                  elapsed_s=round(time.perf_counter() - t0, 3))


def run_judging(
    utterances: Sequence[Utterance],
    systems: Mapping[str, Any],
    baseline: str,
    judge: JudgeBackend,
    store: RecordStore,
    *,
    cache: VerdictCache | None = None,
    seed: int = 0,
    parse_retries: int = 2,
    template: str | None = None,
    workers: int = 1,
    keep_errors: bool | None = None,
    retry_errors: bool | None = None,
    progress: Progress | None = None,
) -> RunSummary:
    """Judge every candidate (every system but ``baseline``) against the baseline per utterance."""
    if baseline not in systems:
        raise InputError(f"baseline {baseline!r} is not among the systems: {', '.join(systems)}")
    folders = _folders(systems)
    keep = _keep(keep_errors, retry_errors)
    digest = FileDigests()
    cache = cache if cache is not None else VerdictCache(None)
    if template is not None and utterances:
        try:
            render_prompt(utterances[0], template)
        except (KeyError, IndexError, ValueError) as e:
            raise InputError(
                f"judge prompt template: {type(e).__name__} {e} (fields: {{text}}, {{tts_prompt}}, "
                "{category}, {category_label}, {criteria}, {utterance_id}; write literal braces as {{ }})"
            ) from e
    summary = RunSummary()
    todo: list[tuple[str, Utterance, Path, Path, str]] = []
    for cand in folders:
        if cand == baseline:
            continue
        for utt in utterances:
            miss = []
            paths = {}
            for who in (cand, baseline):
                paths[who], err = _audio(folders[who], utt)
                if err is not None:
                    miss.append(str(err))
            fp = judge_fingerprint(utt, judge.identity, baseline, seed, template,
                                   digest(paths[cand]), digest(paths[baseline]))
            if store.reusable(record_key(cand, utt.id, JUDGE_METRIC), fp, keep):
                summary.resumed += 1
                continue
            if miss:
                reason = "missing_audio" if all("no audio" in m for m in miss) else "bad_input"
                rec = _error(cand, utt.id, JUDGE_METRIC, reason, "; ".join(miss),
                             {"baseline": baseline, "candidate": cand, "judge": judge.identity,
                              "category": utt.category})
                rec.fingerprint = fp
                store.append(rec)
                summary.count(rec)
                continue
            todo.append((cand, utt, paths[cand], paths[baseline], fp))

    lock = threading.Lock()

    def work(item: tuple[str, Utterance, Path, Path, str]) -> None:
        cand, utt, ca, ba, fp = item
        rec = judge_one(cand, baseline, utt, ca, ba, judge, cache, seed=seed,
                        parse_retries=parse_retries, template=template)
        rec.fingerprint = fp
        with lock:
            store.append(rec)
            summary.count(rec)
            if progress:
                progress(cand, utt.id, rec)

    if workers <= 1:
        for it in todo:
            work(it)
    else:
        with ThreadPoolExecutor(max_workers=workers) as ex:
            for f in [ex.submit(work, it) for it in todo]:
                f.result()
    return summary


# --------------------------------------------------------------------------------------------
# human votes from the study app
# --------------------------------------------------------------------------------------------
_VOTE_FIELDS = ("study_id", "vote_id", "participant", "kind", "sample_id", "left_model", "right_model",
                "dimension", "answer")
_ANSWER_SLOT = {"left": "A", "right": "B", "same": "tie", "tie": "tie", "a": "A", "b": "B"}


def _read_rows(path: Path) -> list[dict[str, Any]]:
    if path.suffix.lower() == ".jsonl":
        return [json.loads(l) for l in path.read_text("utf-8").splitlines() if l.strip()]
    if path.suffix.lower() == ".json":
        data = json.loads(path.read_text("utf-8"))
        return list(data if isinstance(data, list) else data.get("rows", []))
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f, delimiter="\t" if path.suffix.lower() == ".tsv" else ","))


def import_study_votes(
    path: str | Path,
    utterances: Iterable[Utterance],
    baseline: str,
    store: RecordStore,
    *,
    dimension: str | None = None,
    keep_errors: bool = True,
) -> RunSummary:
    """Turn the study app's vote export (``avatar-eval study export``: one row per vote with
    ``sample_id``, ``left_model``, ``right_model``, ``answer`` left/right/same, ``participant``,
    ``dimension``, ``kind``) into ``speech.judge`` records. Left is slot A. Gold trials, votes of
    pairs without the baseline, and other dimensions (when ``dimension`` is given) are ignored;
    a vote for an unknown utterance is an ``error`` record.

    Resume: the same rule as every runner, fingerprinted by the vote row, the utterance it names
    (or its absence) and the baseline. ``keep_errors`` defaults to True here: an import error is a
    function of exactly those inputs, so retrying it with an unchanged fingerprint gives the same
    error; a changed export or utterance set changes the fingerprint and is re-imported."""
    by_id = {u.id: u for u in utterances}
    summary = RunSummary()
    for row in _read_rows(Path(path)):
        if str(row.get("kind", "pair")) != "pair":
            continue
        if dimension and str(row.get("dimension", "")) != dimension:
            continue
        left, right = str(row.get("left_model", "")), str(row.get("right_model", ""))
        if baseline not in (left, right) or left == right:
            continue
        cand = right if left == baseline else left
        uid = str(row.get("sample_id", ""))
        who = str(row.get("participant", "")) or "anon"
        sid = f"{uid}@{who}"
        identity = "human:study" + (f":{row.get('study_id')}" if row.get("study_id") else "")
        utt = by_id.get(uid)
        fp = fingerprint(JUDGE_METRIC, METRIC_VERSION, options={"baseline": baseline, "judge": identity},
                         inputs={"vote": {k: row.get(k) for k in _VOTE_FIELDS},
                                 "utterance": None if utt is None else [utt.id, utt.category]})
        if store.reusable(record_key(cand, sid, JUDGE_METRIC), fp, keep_errors):
            summary.resumed += 1
            continue
        ans = _ANSWER_SLOT.get(str(row.get("answer", "")).strip().lower())
        cand_a = left == cand
        details = {"baseline": baseline, "candidate": cand, "judge": identity,
                   "utterance_id": uid, "participant": who,
                   "category": utt.category if utt else "", "slot_a": left, "slot_b": right,
                   "candidate_slot": "A" if cand_a else "B", "dimension": row.get("dimension"),
                   "vote_id": row.get("vote_id")}
        if utt is None:
            rec = _error(cand, sid, JUDGE_METRIC, "bad_input", f"vote for unknown utterance {uid!r}", details)
        elif ans is None:
            rec = _error(cand, sid, JUDGE_METRIC, "unparseable_verdict",
                         f"vote answer {row.get('answer')!r} is not left/right/same", details)
        else:
            outcome = _outcome(ans, cand_a)
            details.update(verdict=ans, outcome=outcome)
            rec = Record(model=cand, sample_id=sid, metric=JUDGE_METRIC, status="ok",
                         value=_VALUE[outcome], metric_version=METRIC_VERSION, details=details)
        rec.fingerprint = fp
        store.append(rec)
        summary.count(rec)
    return summary
