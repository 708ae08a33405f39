"""``bench_translate.py --realtime N``: the time-as-data figures checked in real time.

The same utterances go through both policies twice: in real time through the real daemon onto a
``glasses-sim`` process (:mod:`translate_bench.realtime`, lag read where the simulator
acknowledged the screen), and with time as data (:mod:`translate_bench.simulate`, lag read from
the mode's view), so the section shows whether the fast method agrees with the real one.
"""

from __future__ import annotations

import itertools
import statistics
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from glasses.modes.clauses import ClausePolicy
from translate_bench.metrics import Lags, lags, stats
from translate_bench.realtime import PROFILE, run_realtime
from translate_bench.report import spread
from translate_bench.simulate import listen, translate_run
from translate_bench.speech import Speech, utterances

MARK_START: Final = "<!-- bench_translate_realtime:start -->"
MARK_END: Final = "<!-- bench_translate_realtime:end -->"
AFTER: Final = "<!-- bench_translate:end -->"  # the section goes right after the main one
METHODS: Final = ("realtime", "time_as_data")
# ClausePolicy fields the daemon's settings can set (translate.*); the others keep defaults.
SETTINGS: Final = {
    "pause_s": "clause_pause_s",
    "max_words": "clause_max_words",
    "tentative": "tentative",
}


def overrides(policy: ClausePolicy) -> list[str]:
    """The ``translate.*`` settings that give the daemon ``policy``; refuses a policy they
    cannot express (a field the settings do not have, set away from its default)."""
    default = ClausePolicy()
    odd = [
        k
        for k in vars(policy)
        if k not in SETTINGS and k != "commit" and getattr(policy, k) != getattr(default, k)
    ]
    if odd:
        raise ValueError(
            f"--realtime runs the daemon, whose settings cannot set {odd}: leave them at the defaults"
        )
    return [f"translate.commit={policy.commit}"] + [
        f"translate.{name}={str(getattr(policy, field)).lower()}"
        for field, name in SETTINGS.items()
    ]


def pick(count: int, length_s: float) -> list[Speech]:
    """``count`` utterances of about ``length_s``, English and Mandarin in turn."""
    by_language: dict[str, list[Speech]] = {}
    for _, speech in utterances([length_s], (count + 1) // 2):
        by_language.setdefault(speech.language, []).append(speech)
    turns = itertools.chain.from_iterable(zip(by_language["en"], by_language["zh"], strict=True))
    return list(itertools.islice(turns, count))


def measure(
    speeches: list[Speech],
    policies: dict[str, ClausePolicy],
    models: tuple[Any, Any, Any],
    log: Callable[[str], None],
) -> dict[str, Any]:
    """Per policy and method: the per-word lag's median / p90 / mean, unsettled words, screens."""
    engine, recognizer, vad = models
    got = {p: {m: Lags() for m in METHODS} for p in policies}
    screens = {p: 0 for p in policies}
    for speech in speeches:
        log(f"real time: {speech.language} {speech.seconds:.1f} s: {speech.text[:60]}")
        events, _ = listen(speech, recognizer, vad)
        for name, policy in policies.items():
            run = run_realtime(speech, overrides(policy), engine, recognizer)
            got[name]["realtime"] += lags(speech, run)
            screens[name] += len(run.screens)
            got[name]["time_as_data"] += lags(speech, translate_run(events, policy, engine))
    lag: dict[str, dict[str, Any]] = {
        name: {
            method: {
                **stats(v.seconds),
                "unsettled": len(v.unsettled),
                "unsettled_words": v.unsettled,
            }
            for method, v in row.items()
        }
        | {"screens_acknowledged": screens[name]}
        for name, row in got.items()
    }
    return {
        "utterances": [
            {"language": s.language, "speech_s": s.seconds, "text": s.text} for s in speeches
        ],
        "mean_speech_s": statistics.fmean(s.seconds for s in speeches),
        "lag": lag,
        "unsettled": sum(lag[p][m]["unsettled"] for p in lag for m in METHODS),
    }


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b else "-"


def markdown(report: dict[str, Any], command: str, setup: dict[str, Any]) -> str:
    lag = report["lag"]
    languages = ", ".join(f"{u['language']} {u['speech_s']:.1f} s" for u in report["utterances"])
    out = [
        MARK_START,
        "### Cross-check in real time on the simulated glasses (`--realtime`)",
        "",
        f"`{command}` on {setup['machine']} (shared with other work), {setup['date']}: "
        f"{len(report['utterances'])} utterances ({languages}), each spoken once per policy "
        "at 1x by the real clock into the real daemon (`PushAudioSource` as the microphone, "
        f"real Silero VAD, listen, translate mode, display stage and link) and shown on a real "
        f"`glasses-sim display` process ({PROFILE}), with the stand-ins and tiny models of the "
        "table above. **Real time**: a word's lag runs from its end in the audio to the host's "
        "moment the display link saw the simulator acknowledge the PRESENT of the first screen "
        "that has its translation settled for good (the simulator acknowledges a PRESENT once it "
        "has carried it out, and keeps no timestamped log of its frames), both on the same "
        "monotonic clock. **Time as data**: the same utterances through the method of the "
        "table above, read from the mode's view.",
        "",
        "| policy (words) | real time: median / p90 / mean | time as data: median / p90 / mean "
        "| real time / time as data: median / p90 / mean | mean difference | unsettled words: real time / time as data | screens acknowledged |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, row in lag.items():
        r, t = row["realtime"], row["time_as_data"]
        out.append(
            f"| {name} ({r['n']}) | {spread(r)} | {spread(t)} "
            f"| {_ratio(r['median'], t['median'])} / {_ratio(r['p90'], t['p90'])} / **{_ratio(r['mean'], t['mean'])}** "
            f"| {r['mean'] - t['mean']:+.2f} s | {r['unsettled']} / {t['unsettled']} | {row['screens_acknowledged']} |"
        )
    if {"utterance", "clause"} <= set(lag):
        whole, clause = lag["utterance"], lag["clause"]
        both = [
            f"{method.replace('_', ' ').replace('realtime', 'real time')} {_ratio(clause[method]['mean'], whole[method]['mean'])}"
            for method in METHODS
        ]
        out += ["", f"Clause over whole-utterance mean lag: {', '.join(both)}."]
    out += ["", MARK_END]
    return "\n".join(out)


def write_section(doc: Path, section: str) -> None:
    """Replace the cross-check's section, or put it right after the main section's end."""
    text = doc.read_text(encoding="utf-8")
    if MARK_START in text:
        head, rest = text.split(MARK_START, 1)
        text = head + section + rest.split(MARK_END, 1)[1]
    elif AFTER in text:
        head, rest = text.split(AFTER, 1)
        text = head + AFTER + "\n\n" + section + rest
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    doc.write_text(text, encoding="utf-8")
