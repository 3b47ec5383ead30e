"""Aggregates of speech records and the JWB-DH Table 1 layout (Markdown / CSV).

* WER per system × category and overall: corpus WER ``ΣS+D+I / ΣN`` in percent, 95% percentile
  bootstrap CI over utterances, CER, and the count of utterances that could not be scored.
* Win-rate of each candidate against the baseline per category and overall, over the comparisons
  that produced a verdict (``n``; errors are counted apart, never as losses):
  ``win_rate = wins / n`` and ``win_tie_rate = (wins + ½·ties) / n``, each with a bootstrap CI.
  The table reports ``(wins + ½ ties) / n`` — what EmergentTTS-Eval, whose protocol JWB-DH uses,
  computes (a tie scores 0.5); ``wins / n`` is in the CSV and the details table.
* Position bias of each judge: among decisive verdicts, the share won by slot A (the clip heard
  first), with a Wilson 95% CI; 50% = no bias. Ties and the share of ``A`` over all verdicts are
  given too.

The Table 1 layout follows the EmergentTTS-Eval / JWB-DH leaderboard: one row per system, columns
``Overall WER ↓ | Overall Win-Rate ↑`` then ``<Category> WER ↓ | <Category> Win-Rate ↑`` for
emotions, paralinguistics, complex pronunciation and syntactic complexity; the baseline row has
WERs and "–" win-rates.
"""

from __future__ import annotations

import csv
import io
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from ..results.schema import Record
from .evaluate import JUDGE_METRIC, WER_METRIC
from .stats import DEFAULT_N_BOOT, bootstrap_ratio_ci, wilson_ci
from .utterances import CATEGORIES, CATEGORY_LABELS
from .wer import WerAggregate, aggregate_scores

__all__ = ["WinRate", "PositionBias", "SpeechSummary", "summarize", "table1_markdown",
           "table1_csv", "table1_rows", "OVERALL"]

OVERALL = "overall"


@dataclass
class WinRate:
    n: int
    wins: int
    ties: int
    losses: int
    errors: int
    win_rate: float | None
    win_rate_ci: tuple[float, float] | None
    win_tie_rate: float | None
    win_tie_rate_ci: tuple[float, float] | None


@dataclass
class PositionBias:
    judge: str
    n: int
    slot_a_wins: int
    slot_b_wins: int
    ties: int
    slot_a_share: float | None  # slot_a_wins / (slot_a_wins + slot_b_wins)
    slot_a_share_ci: tuple[float, float] | None
    a_of_all: float | None  # verdict A over all verdicts (ties included)


@dataclass
class SpeechSummary:
    baseline: str | None
    systems: list[str]
    categories: list[str]
    wer: dict[str, dict[str, WerAggregate]]
    wer_errors: dict[str, dict[str, int]]
    win: dict[str, dict[str, WinRate]]
    position_bias: list[PositionBias]
    asr_models: list[dict[str, Any]]
    judges: list[str]
    n_boot: int
    seed: int
    confidence: float
    languages: dict[str, dict[str, int]] = field(default_factory=dict)
    flagged: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _cat(rec: Record) -> str:
    return str(rec.details.get("category") or "")


def _category_order(cats: Iterable[str]) -> list[str]:
    cats = set(cats)
    return [c for c in CATEGORIES if c in cats] + sorted(c for c in cats if c not in CATEGORIES)


def summarize(
    records: Iterable[Record],
    *,
    baseline: str | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
) -> SpeechSummary:
    recs = list(records)
    wer_recs = [r for r in recs if r.metric == WER_METRIC]
    judge_recs = [r for r in recs if r.metric == JUDGE_METRIC]
    if baseline is None:
        bl = Counter(r.details.get("baseline") for r in judge_recs if r.details.get("baseline"))
        baseline = bl.most_common(1)[0][0] if bl else None
    judge_recs = [r for r in judge_recs if r.details.get("baseline") == baseline]
    cats = _category_order({_cat(r) for r in wer_recs + judge_recs})

    # -- WER ------------------------------------------------------------------------------------
    wer: dict[str, dict[str, WerAggregate]] = {}
    wer_err: dict[str, dict[str, int]] = {}
    langs: dict[str, Counter] = defaultdict(Counter)
    flagged: Counter = Counter()
    by_sys: dict[str, list[Record]] = defaultdict(list)
    for r in wer_recs:
        by_sys[r.model].append(r)
    asr_models: dict[str, dict[str, Any]] = {}
    for sysname, rs in by_sys.items():
        wer[sysname], wer_err[sysname] = {}, {}
        for cat in [OVERALL] + cats:
            sel = [r for r in rs if cat == OVERALL or _cat(r) == cat]
            if not sel:
                continue
            ok = [r.details for r in sel if r.status == "ok"]
            wer[sysname][cat] = aggregate_scores(ok, n_boot=n_boot, confidence=confidence, seed=seed)
            wer_err[sysname][cat] = sum(1 for r in sel if r.status != "ok")
        for r in rs:
            if r.status == "ok":
                langs[sysname][str(r.details.get("language"))] += 1
                if r.details.get("suspect_non_english"):
                    flagged[sysname] += 1
            m = r.details.get("asr_model")
            if m:
                asr_models[str(m.get("model_sha256")) + str(m.get("path"))] = m

    # -- win-rates ------------------------------------------------------------------------------
    win: dict[str, dict[str, WinRate]] = {}
    by_cand: dict[str, list[Record]] = defaultdict(list)
    for r in judge_recs:
        by_cand[r.model].append(r)
    for cand, rs in by_cand.items():
        win[cand] = {}
        for cat in [OVERALL] + cats:
            sel = [r for r in rs if cat == OVERALL or _cat(r) == cat]
            if sel:
                win[cand][cat] = _winrate(sel, n_boot=n_boot, seed=seed, confidence=confidence)

    # -- position bias ----------------------------------------------------------------------------
    pb: list[PositionBias] = []
    by_judge: dict[str, list[Record]] = defaultdict(list)
    for r in judge_recs:
        if r.status == "ok":
            by_judge[str(r.details.get("judge"))].append(r)
    for j, rs in sorted(by_judge.items()):
        c = Counter(r.details.get("verdict") for r in rs)
        a, b, t = c["A"], c["B"], c["tie"]
        pb.append(PositionBias(
            judge=j, n=len(rs), slot_a_wins=a, slot_b_wins=b, ties=t,
            slot_a_share=a / (a + b) if a + b else None,
            slot_a_share_ci=wilson_ci(a, a + b, confidence),
            a_of_all=a / len(rs) if rs else None))

    candidates = sorted(win, key=lambda s: -(win[s][OVERALL].win_tie_rate or 0.0)
                        if OVERALL in win[s] else 0.0)
    systems = [s for s in candidates if s != baseline]
    if baseline is not None and (baseline in wer or baseline in win or judge_recs):
        systems.append(baseline)
    systems += sorted(s for s in wer if s not in systems)
    return SpeechSummary(
        baseline=baseline, systems=systems, categories=cats, wer=wer, wer_errors=wer_err, win=win,
        position_bias=pb, asr_models=list(asr_models.values()),
        judges=sorted({str(r.details.get("judge")) for r in judge_recs if r.details.get("judge")}),
        n_boot=n_boot, seed=seed, confidence=confidence,
        languages={k: dict(v) for k, v in langs.items()}, flagged=dict(flagged),
    )


def _winrate(rs: list[Record], *, n_boot: int, seed: int, confidence: float) -> WinRate:
    ok = [r for r in rs if r.status == "ok"]
    outs = [r.details.get("outcome") for r in ok]
    w, t, l = outs.count("win"), outs.count("tie"), outs.count("loss")
    n = len(ok)
    wins = [1.0 if o == "win" else 0.0 for o in outs]
    score = [1.0 if o == "win" else 0.5 if o == "tie" else 0.0 for o in outs]
    return WinRate(
        n=n, wins=w, ties=t, losses=l, errors=len(rs) - n,
        win_rate=w / n if n else None,
        win_rate_ci=bootstrap_ratio_ci(wins, n_boot=n_boot, seed=seed, confidence=confidence),
        win_tie_rate=(w + 0.5 * t) / n if n else None,
        win_tie_rate_ci=bootstrap_ratio_ci(score, n_boot=n_boot, seed=seed, confidence=confidence),
    )


# --------------------------------------------------------------------------------------------
# rendering
# --------------------------------------------------------------------------------------------
def _pct(v: float | None, suffix: str = "") -> str:
    return "–" if v is None else f"{100 * v:.2f}{suffix}"


def _ci(ci: tuple[float, float] | None) -> str:
    return "" if ci is None else f"[{100 * ci[0]:.1f}, {100 * ci[1]:.1f}]"


def _label(cat: str) -> str:
    return "Overall" if cat == OVERALL else CATEGORY_LABELS.get(cat, cat or "Uncategorised")


def table1_rows(s: SpeechSummary) -> list[dict[str, Any]]:
    """One flat row per system (CSV): every number with its CI bounds and counts."""
    rows = []
    for sysname in s.systems:
        row: dict[str, Any] = {"system": sysname, "is_baseline": sysname == s.baseline}
        for cat in [OVERALL] + s.categories:
            w = s.wer.get(sysname, {}).get(cat)
            wr = s.win.get(sysname, {}).get(cat)
            p = cat or "uncategorised"
            row[f"{p}_wer"] = w.wer if w else None
            row[f"{p}_wer_lo"] = w.wer_ci[0] if w and w.wer_ci else None
            row[f"{p}_wer_hi"] = w.wer_ci[1] if w and w.wer_ci else None
            row[f"{p}_cer"] = w.cer if w else None
            row[f"{p}_wer_n"] = w.n if w else 0
            row[f"{p}_wer_errors"] = s.wer_errors.get(sysname, {}).get(cat, 0)
            for k in ("win_tie_rate", "win_rate"):
                v = getattr(wr, k) if wr else None
                ci = getattr(wr, k + "_ci") if wr else None
                row[f"{p}_{k}"] = v
                row[f"{p}_{k}_lo"] = ci[0] if ci else None
                row[f"{p}_{k}_hi"] = ci[1] if ci else None
            for k in ("n", "wins", "ties", "losses", "errors"):
                row[f"{p}_judge_{k}"] = getattr(wr, k) if wr else 0
        rows.append(row)
    return rows


def table1_csv(s: SpeechSummary) -> str:
    rows = table1_rows(s)
    buf = io.StringIO()
    if rows:
        w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
    return buf.getvalue()


def table1_markdown(s: SpeechSummary, *, details: bool = True) -> str:
    # a set without categories shows the overall columns only
    cats = [OVERALL] + [c for c in s.categories if s.categories != [""]]
    head = ["System"]
    for c in cats:
        head += [f"{_label(c)} WER ↓", f"{_label(c)} Win-Rate ↑"]
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join(["---"] + [":---:"] * (len(head) - 1)) + "|"]
    for sysname in s.systems:
        is_base = sysname == s.baseline
        cells = [f"**BASELINE:** {sysname}" if is_base else sysname]
        for c in cats:
            w = s.wer.get(sysname, {}).get(c)
            wr = s.win.get(sysname, {}).get(c)
            cells.append(_pct(w.wer if w else None))
            cells.append("–" if is_base or wr is None else _pct(wr.win_tie_rate, "%"))
        lines.append("| " + " | ".join(cells) + " |")
    out = ["## Speech: WER and win-rate (JWB-DH Table 1 layout)", "", *lines, ""]
    notes = ["WER: corpus word error rate in % (Σ substitutions+deletions+insertions / Σ reference "
             "words, Whisper-style English normalisation)."]
    if s.asr_models:
        notes.append("ASR: " + "; ".join(
            f"faster-whisper {m.get('engine_version', '')} `{m.get('name')}` ({m.get('source')}, "
            f"sha256 {str(m.get('model_sha256'))[:12]}…)" for m in s.asr_models) + ".")
    if s.baseline:
        notes.append(f"Win-rate: (wins + ½·ties) / n against the baseline `{s.baseline}`"
                     f" (n = comparisons with a verdict; errors excluded); judge: "
                     f"{', '.join(f'`{j}`' for j in s.judges) or '–'}. wins / n is in the details.")
    for pb in s.position_bias:
        if pb.slot_a_share is not None:
            notes.append(f"Position bias of `{pb.judge}`: slot A wins {100 * pb.slot_a_share:.1f}% of "
                         f"{pb.slot_a_wins + pb.slot_b_wins} decisive verdicts {_ci(pb.slot_a_share_ci)} "
                         f"(50% = none); {pb.ties} ties of {pb.n}.")
    for sysname, k in sorted(s.flagged.items()):
        notes.append(f"`{sysname}`: {k} transcript(s) flagged suspect_non_english.")
    out += [f"* {n}" for n in notes]
    if details:
        out += ["", f"### Details ({int(100 * s.confidence)}% bootstrap CIs, {s.n_boot} resamples, "
                f"seed {s.seed})", "",
                "| System | Category | WER % [CI] | CER % | n (WER) | not scored | W / T / L | "
                "wins/n % [CI] | (W+½T)/n % [CI] | judge errors |",
                "|---|---|---|---|---|---|---|---|---|---|"]
        for sysname in s.systems:
            for c in cats:
                w = s.wer.get(sysname, {}).get(c)
                wr = s.win.get(sysname, {}).get(c)
                if w is None and wr is None:
                    continue
                out.append("| " + " | ".join([
                    sysname, _label(c),
                    f"{_pct(w.wer)} {_ci(w.wer_ci)}" if w else "–",
                    _pct(w.cer) if w else "–",
                    str(w.n) if w else "–",
                    str(s.wer_errors.get(sysname, {}).get(c, 0)) if w else "–",
                    f"{wr.wins} / {wr.ties} / {wr.losses}" if wr else "–",
                    f"{_pct(wr.win_rate)} {_ci(wr.win_rate_ci)}" if wr else "–",
                    f"{_pct(wr.win_tie_rate)} {_ci(wr.win_tie_rate_ci)}" if wr else "–",
                    str(wr.errors) if wr else "–",
                ]) + " |")
    return "\n".join(out) + "\n"
