"""The issue's goals, the Pi 5 pixel-budget estimate and the markdown tables of
``bench_vlm.py``.

The Pi 5 figure is an estimate from this machine's measurements, never a measurement: the
project has no timing from a real Pi 5 (docs/field.md: emulated arm64 runs say nothing about
its speed).  docs/benchmarks.md's power section takes a Cortex-A76 core as about three times
slower than one core of this x86 machine; a Pi 5 has four of them where this benchmark uses
``threads``, and matrix work is taken to scale to them at 75 % (memory bandwidth and the
serial parts of a step do not scale).  Time to first token is fitted over the picture's tokens
(a + b n + c n^2: the encoder's attention is quadratic in the patches) through the measured
sizes, scaled, and the largest picture answered within the target is the budget.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .arena import pairs_markdown

A76_PER_CORE_SLOWDOWN = 3.0  # docs/benchmarks.md, "A day on one battery"
PI5_CORES = 4
CORE_SCALING = 0.75
PIXELS_PER_TOKEN = 28 * 28  # one picture token per merged 2 x 2 block of 14 px patches
MIN_TOKENS = 4  # Qwen2VLImageProcessor's min_pixels, 56 x 56
RSS_GOAL_BYTES = 2.5e9
LABELS = {"glasses": "glasses (int4)", "transformers": "transformers (float32)"}


def pi5_factor(threads: int) -> float:
    """How many times longer a Pi 5 takes than this machine with ``threads`` threads."""
    return A76_PER_CORE_SLOWDOWN * threads / (PI5_CORES * CORE_SCALING)


def pi5_budget(sizes: dict[str, dict[str, float]], threads: int, target_s: float) -> dict[str, Any]:
    """The largest picture (in tokens and pixels) whose estimated Pi 5 TTFT is within
    ``target_s``, from glasses' measured TTFT per size."""
    tokens = np.array([row["picture_tokens"] for row in sizes.values()], dtype=np.float64)
    ttft = np.array([row["ttft_s"] for row in sizes.values()], dtype=np.float64)
    degree = min(2, len(tokens) - 1)
    coeffs = np.polyfit(tokens, ttft, degree) if degree > 0 else np.array([ttft[0]])
    if degree == 2 and coeffs[0] < 0:  # noise bent it the wrong way: a line is the safer fit
        coeffs = np.polyfit(tokens, ttft, 1)
    factor = pi5_factor(threads)

    def pi5_ttft(n: float) -> float:
        return factor * float(np.polyval(coeffs, n))

    best = 0
    for n in range(MIN_TOKENS, 16385):
        if pi5_ttft(n) > target_s:
            break
        best = n
    side = math.isqrt(best) * 28 if best else 0
    return {
        "target_s": target_s,
        "factor": factor,
        "fit": [float(c) for c in coeffs],
        "tokens": best,
        "pixels": best * PIXELS_PER_TOKEN,
        "square_side_px": side,
        "pi5_ttft_s": {key: pi5_ttft(row["picture_tokens"]) for key, row in sizes.items()},
        "pi5_ttft_at_min_s": pi5_ttft(MIN_TOKENS),
    }


def goals(
    engines: dict[str, Any],
    budget: dict[str, Any],
    ttft_size: str,
    peaks: dict[str, int] | None = None,
) -> list[dict[str, Any]]:
    """Each goal of the issue: TTFT at ``ttft_size`` against the peer, peak RSS (over all sizes
    in one process, and with each size as the largest picture), Pi 5 budget."""
    ours = engines["glasses"]
    out: list[dict[str, Any]] = [
        {
            "goal": "peak RSS under 2.5 GB, all sizes in one process",
            "value": ours["peak_rss"] / 1e9,
            "unit": "GB",
            "met": ours["peak_rss"] < RSS_GOAL_BYTES,
        },
        {
            "goal": f"a pixel budget at which a Pi 5 answers within {budget['target_s']:g} s "
            "(estimate)",
            "value": budget["pixels"],
            "unit": "pixels",
            "met": budget["pixels"] > 0,
        },
    ]
    for key, peak in (peaks or {}).items():
        out.insert(
            -1,
            {
                "goal": f"peak RSS under 2.5 GB, pictures up to {key}",
                "value": peak / 1e9,
                "unit": "GB",
                "met": peak < RSS_GOAL_BYTES,
            },
        )
    if "transformers" in engines:
        ttft = ours["sizes"][ttft_size]["ttft_s"]
        peer = engines["transformers"]["sizes"][ttft_size]["ttft_s"]
        out.insert(
            0,
            {
                "goal": f"TTFT at {ttft_size} no worse than transformers'",
                "value": ttft / peer,
                "unit": "x",
                "met": ttft <= peer,
            },
        )
    return out


def _cell(value: float, digits: int) -> str:
    return f"{value:,.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    engines = report["engines"]
    names = list(engines)
    peer = len(names) > 1
    head = "| metric | " + " | ".join(LABELS.get(n, n) for n in names)
    lines = [head + (" | glasses / transformers |" if peer else " |")]
    lines.append("| --- |" + " ---: |" * (len(names) + peer))

    def row(label: str, values: list[float], digits: int) -> None:
        cells = [_cell(v, digits) for v in values]
        if peer:
            cells.append(f"{values[0] / values[1]:.2f}x" if values[1] else "n/a")
        lines.append(f"| {label} | " + " | ".join(cells) + " |")

    for key in engines["glasses"]["sizes"]:
        sizes = [engines[n]["sizes"][key] for n in names]
        tokens, prompt = sizes[0]["picture_tokens"], sizes[0]["prompt_tokens"]
        row(
            f"{key}: image encode, {tokens} picture tokens (ms)",
            [1000 * s["encode_s"] for s in sizes],
            0,
        )
        row(
            f"{key}: prefill, {prompt}-token prompt (tokens/s)",
            [s["prompt_tokens"] / s["prefill_s"] for s in sizes],
            0,
        )
        row(f"{key}: picture prepare (ms)", [1000 * s["prepare_s"] for s in sizes], 0)
        row(
            f"{key}: time to first token from the button press (ms)",
            [1000 * s["ttft_s"] for s in sizes],
            0,
        )
    plan = report["plan"]
    decode = f"decode, {plan['decode_tokens']} tokens after the {plan['decode_size'][0]}x{plan['decode_size'][1]} prompt (tokens/s)"
    row(decode, [engines[n]["decode_tokens_per_s"] for n in names], 2)
    row("peak RSS (MiB)", [engines[n]["peak_rss"] / 2**20 for n in names], 0)
    row("RSS after loading (MiB)", [engines[n]["rss_after_load"] / 2**20 for n in names], 0)

    row("load (s)", [engines[n]["load_s"] for n in names], 1)
    peaks = report.get("peak_rss_by_size") or {}
    if peaks:  # a child per size: the peak a pixel budget of that size allows
        lines += ["", "| largest picture (glasses alone) | peak RSS (MiB) | (GB) |"]
        lines.append("| --- | ---: | ---: |")
        lines += [f"| {k} | {v / 2**20:,.0f} | {v / 1e9:.2f} |" for k, v in peaks.items()]
    pairs = report.get("encode_pairs") or {}
    if pairs:  # --arena-pairs: the arena kept against shrunk, interleaved in one process
        lines += ["", *pairs_markdown(pairs)]
    lines += ["", "| goal | measured | met |", "| --- | ---: | --- |"]
    for goal in report["goals"]:
        value = goal["value"]
        shown = (
            f"{value:,.0f} {goal['unit']}"
            if goal["unit"] == "pixels"
            else f"{value:.2f} {goal['unit']}"
        )
        lines.append(f"| {goal['goal']} | {shown.strip()} | {'yes' if goal['met'] else '**no**'} |")
    budget = report["pi5_budget"]
    scaled = ", ".join(f"{k} {v:.1f} s" for k, v in budget["pi5_ttft_s"].items())
    lines += [
        "",
        f"Pi 5 estimate (x{budget['factor']:.2f} this machine's {plan['threads']}-thread times; "
        f"not a measurement): TTFT {scaled}; at the smallest picture "
        f"({MIN_TOKENS} tokens) {budget['pi5_ttft_at_min_s']:.1f} s.  Within "
        f"{budget['target_s']:g} s: "
        + (
            f"{budget['tokens']} picture tokens = {budget['pixels']:,} pixels "
            f"(about {budget['square_side_px']}x{budget['square_side_px']})."
            if budget["tokens"]
            else "no picture size."
        ),
    ]
    return "\n".join(lines)
