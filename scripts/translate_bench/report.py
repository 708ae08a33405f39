"""The benchmark's section of docs/benchmarks.md: lag, cost, contention and the issue's goals."""

from __future__ import annotations

from pathlib import Path
from typing import Any

MARK_START, MARK_END = "<!-- bench_translate:start -->", "<!-- bench_translate:end -->"
GOAL_LAG_RATIO, GOAL_ERASURE = 1 / 3, 0.2


def goals(lag: dict[str, Any], cost: dict[str, Any]) -> dict[str, Any]:
    """Issue 14's goals: clause lag at most a third of whole-utterance lag on 10 s utterances
    (medians), and at most 0.2 of all drawn text taken back."""
    ten = lag.get("10", {})
    ratio = ten["clause"]["median"] / ten["utterance"]["median"] if ten else None
    erased = cost["clause"]["erasure_drawn"]
    return {
        "lag_10s": {
            "ratio": ratio,
            "goal": GOAL_LAG_RATIO,
            "met": ratio is not None and ratio <= GOAL_LAG_RATIO,
        },
        "erasure": {"value": erased, "goal": GOAL_ERASURE, "met": erased <= GOAL_ERASURE},
    }


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
        "(hence lag, erasure and agreement) comes from stand-ins: the script up to the word being "
        "spoken as the recogniser's text, and `tests/translate_support`'s word-by-word table as "
        "the translator. Clause policy: the defaults (`translate.*`).",
        "",
        "Lag: for each source word, end of the word in the audio -> its translation settled on "
        "screen (seconds; average lagging is the mean).",
        "",
        "| utterance | words | whole utterance: median / p90 / mean | clause: median / p90 / mean | clause / whole (median) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for length, row in lag.items():
        u, c = row["utterance"], row["clause"]
        out.append(
            f"| {length} s (mean {u['speech_s']:.1f} s) | {u['n']} | {u['median']:.2f} / {u['p90']:.2f} / {u['mean']:.2f} "
            f"| {c['median']:.2f} / {c['p90']:.2f} / {c['mean']:.2f} | {c['median'] / u['median']:.2f} |"
        )
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
    ratio = g["lag_10s"]["ratio"]
    out.append(
        f"| 10 s utterances: clause lag at most a third of whole-utterance lag (median) | {ratio:.2f} | **{'met' if g['lag_10s']['met'] else 'not met'}** |"
        if ratio is not None
        else "| 10 s lag | not measured | |"
    )
    out.append(
        f"| erasure at most 0.2 (all drawn text) | {g['erasure']['value']:.3f} | **{'met' if g['erasure']['met'] else 'not met'}** |"
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
