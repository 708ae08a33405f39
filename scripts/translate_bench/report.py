"""The benchmark's section of docs/benchmarks.md: lag, cost, contention and the issue's goals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MARK_START, MARK_END = "<!-- bench_translate:start -->", "<!-- bench_translate:end -->"
GOAL_LAG_RATIO, GOAL_ERASURE = 1 / 3, 0.2


def ratio(row: dict[str, Any], key: str) -> float:
    """Clause over whole-utterance lag, by ``key`` (median, p90 or mean)."""
    whole = row["utterance"][key]
    return row["clause"][key] / whole if whole else float("nan")


def goals(lag: dict[str, Any], cost: dict[str, Any]) -> dict[str, Any]:
    """Issue 14's goals: clause lag at most a third of whole-utterance lag on 10 s utterances,
    by the mean per-word lag (the average lagging of simultaneous translation), and at most 0.2
    of all drawn text taken back. Every word settled under both policies, or no lag counts."""
    ten = lag.get("10", {})
    value = ratio(ten, "mean") if ten else None
    erased = cost["clause"]["erasure_drawn"]
    unsettled = sum(row[p]["unsettled"] for row in lag.values() for p in row)
    return {
        "lag_10s": {
            "ratio": value,
            "median_ratio": ratio(ten, "median") if ten else None,
            "goal": GOAL_LAG_RATIO,
            "met": value is not None and value <= GOAL_LAG_RATIO and not unsettled,
        },
        "erasure": {"value": erased, "goal": GOAL_ERASURE, "met": erased <= GOAL_ERASURE},
        "all_settled": {"unsettled": unsettled, "met": unsettled == 0},
    }


def spread(lags: dict[str, Any]) -> str:
    """``median / p90 / mean`` of per-word lags (seconds), as the lag tables show them."""
    return f"{lags['median']:.2f} / {lags['p90']:.2f} / {lags['mean']:.2f}"


def lag_table(lag: dict[str, Any]) -> list[str]:
    """Per utterance length: median / p90 / mean per-word lag of both policies, and ratios."""
    out = [
        "| utterance | words (segments the VAD cut) | whole utterance: median / p90 / mean | clause: median / p90 / mean | clause / whole: median / p90 / mean | unsettled words: whole / clause |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for length, row in lag.items():
        u, c = row["utterance"], row["clause"]
        out.append(
            f"| {length} s (mean {u['speech_s']:.1f} s, {u['utterances']} utterances) | {u['n']} ({u['segments']:.0f}) "
            f"| {spread(u)} | {spread(c)} "
            f"| {ratio(row, 'median'):.2f} / {ratio(row, 'p90'):.2f} / **{ratio(row, 'mean'):.2f}** | {u['unsettled']} / {c['unsettled']} |"
        )
    return out


def markdown(report: dict[str, Any], command: str) -> str:
    s, lag, cost, con = report["setup"], report["lag"], report["cost"], report["contention"]
    out = [
        MARK_START,
        "## Translation that keeps pace: clause by clause against whole utterances (`scripts/bench_translate.py`)",
        "",
        f"`{command}` on {s['machine']} (shared with other work), Python {s['python']}, {s['date']}. "
        f"{s['utterances']} utterances of espeak-ng speech, half English (translated into Chinese), "
        "half Mandarin (into English), each run through both policies. **Faster than real time, "
        "time as data**: the VAD, the recogniser and the model run for real and are timed, and "
        "each result is delivered at the time it would be ready (one worker each, as in the "
        "daemon). **Timings** come from the tiny random-weight SenseVoice and Qwen "
        "(`scripts/build_test_asr_model.py`, `scripts/build_test_model.py`), decoding the same "
        "audio and generating as many tokens as the reply has from the real prompts. **Text** "
        "(hence lag, erasure and agreement) comes from stand-ins: as the recogniser's text, the "
        "script's whole words whose audio ends inside the segment decoded (segment-aware: a "
        "segment the VAD cut is transcribed from its own first word, a partial up to the last "
        "word already heard), and `tests/translate_support`'s word-by-word table as the "
        "translator. Clause policy: the defaults (`translate.*`).",
        "",
        "Lag: for each source word, end of the word in the audio (word ends spread over the "
        "voiced audio of its clause) -> its translation settled on screen for good (seconds). "
        "The mean is the average lagging of simultaneous translation research, measured on the "
        "screen; the goal is stated against it. A word whose translation never settles gets no "
        "time and is counted (it would be a bench bug: the bench then fails); words the table "
        'translates into nothing ("the") are left out.',
        "",
        *lag_table(lag),
    ]
    u, c = cost["utterance"], cost["clause"]
    out += [
        "",
        "| cost (share of 2 cores over the audio; erasure per character shown) | whole utterance | clause |",
        "| --- | --- | --- |",
        f"| VAD | {u['vad_percent']:.2f} % | {c['vad_percent']:.2f} % |",
        f"| ASR (tiny SenseVoice, partials and finals) | {u['asr_percent']:.2f} % | {c['asr_percent']:.2f} % |",
        f"| translation (tiny Qwen) | {u['translation_percent']:.2f} % | {c['translation_percent']:.2f} % |",
        f"| the rest (translate mode) | {u['rest_percent']:.3f} % | {c['rest_percent']:.3f} % |",
        f"| prefill tokens computed: whole utterances / clauses / re-translation | {u['prefill_tokens'].get('utterance', 0)} / - / - "
        f"| {c['prefill_tokens'].get('utterance', 0)} / {c['prefill_tokens'].get('clause', 0)} / {c['prefill_tokens'].get('tentative', 0)} |",
        f"| re-translations cancelled | - | {c['cancelled']} |",
        f"| erasure, settled text | {u['erasure_settled']:.3f} | {c['erasure_settled']:.3f} |",
        f"| erasure, all drawn text (with the dim tentative part) | {u['erasure_drawn']:.3f} | {c['erasure_drawn']:.3f} |",
        "",
        *contention_table(con),
    ]
    out += ["", "| goal (issue 14) | measured | |", "| --- | --- | --- |"]
    g = report["goals"]
    value, median = g["lag_10s"]["ratio"], g["lag_10s"]["median_ratio"]
    out.append(
        f"| 10 s utterances: clause lag at most a third of whole-utterance lag (mean per-word lag; median: {median:.2f}) | {value:.2f} | **{'met' if g['lag_10s']['met'] else 'not met'}** |"
        if value is not None
        else "| 10 s lag | not measured | |"
    )
    out.append(
        f"| erasure at most 0.2 (all drawn text) | {g['erasure']['value']:.3f} | **{'met' if g['erasure']['met'] else 'not met'}** |"
    )
    out.append(
        f"| every word's translation settles, both policies | {g['all_settled']['unsettled']} unsettled | **{'met' if g['all_settled']['met'] else 'FAIL'}** |"
    )
    out += ["", MARK_END]
    return "\n".join(out)


def contention_table(con: dict[str, Any]) -> list[str]:
    """ASR decodes and the model's decode speed, with and without spinning threads."""
    model = Path(con["model"]).name
    out = [
        "ASR partials against translation on the CPU, real threads and clock: a 5 s decode of "
        f"the tiny SenseVoice (2 threads) alone and while the model (`{model}`, one intra-op "
        "thread per core) generates without pause on another thread; the model's decode speed "
        "alone and while ASR decodes back to back. Spinning and not spinning interleaved over "
        f"{con['rounds']} rounds; medians (p90 of the decodes):",
        "",
        "| the model's threads | ASR decode alone, ms | ASR decode while the model generates, ms | model decode alone, tokens/s | model decode while ASR decodes, tokens/s |",
        "| --- | --- | --- | --- | --- |",
    ]
    for mode, name in (
        ("spinning", "spin between operators (`llm.spinning = on`, the only way before)"),
        ("no_spinning", "do not spin (`off`; `auto` while ASR runs on the CPU)"),
    ):
        m = con[mode]
        alone, shared = m["asr_alone_ms"], m["asr_with_llm_ms"]
        out.append(
            f"| {name} | {alone['median']:.1f} ({alone['p90']:.1f}) | {shared['median']:.1f} ({shared['p90']:.1f}) "
            f"| {m['llm_alone']['median']:.1f} | {m['llm_with_asr']['median']:.1f} |"
        )
    return out


def write_section(doc: Path, section: str) -> None:
    text = doc.read_text(encoding="utf-8")
    if MARK_START in text:
        head, rest = text.split(MARK_START, 1)
        text = head + section + rest.split(MARK_END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")
