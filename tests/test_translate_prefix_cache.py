"""The clause prompt layout's prefix reuse, counted by the real engine on the tiny models:
a clause costs only its own tokens in prefill, however long the utterance already is."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from glasses.modes.clause_prompts import clause_messages

pytest.importorskip("onnxruntime")

pytestmark = pytest.mark.model

CLAUSES = (
    "Next stop, West Lake.",
    "Please exit by the front door,",
    "and mind the gap between the train and the platform.",
    "The museum opens at nine,",
    "and closes at five in the afternoon.",
)


@pytest.mark.parametrize("model", ["genai-qwen3-fp32", "optimum-qwen2-fp32"])
def test_each_clause_costs_only_its_own_tokens_in_prefill(
    llm_engine: Callable[[str], Any], model: str
) -> None:
    from glasses.llm.generator import GenerationOptions
    from glasses.llm.sampling import SamplingConfig

    engine = llm_engine(model)
    engine.clear_cache()
    options = GenerationOptions(8, SamplingConfig(greedy=True))
    computed: list[int] = []
    own: list[int] = []
    for k, clause in enumerate(CLAUSES):
        messages = clause_messages(CLAUSES[:k], clause, "en", "zh")
        if k:  # a tentative re-translation of the start of this clause runs in between
            tail = clause_messages(CLAUSES[:k], clause.split()[0], "en", "zh")
            engine.generate(tail, options)
        result = engine.generate(messages, options)
        timings = result.timings
        assert timings is not None
        computed.append(timings.prompt_tokens - timings.cached_prompt_tokens)
        own.append(len(engine.tokenizer.encode(clause)))
    overhead = [c - o for c, o in zip(computed, own, strict=True)]
    # From the second clause on, prefill is the clause's own tokens plus a fixed tail (the
    # "</data>" line, the task sentence and the assistant header), however long the utterance.
    assert len(set(overhead[1:])) == 1, (computed, own)
    print(f"{model}: prefill per clause {computed}, own tokens {own}")
    assert overhead[1] <= 40
    whole = len(engine.render(clause_messages(CLAUSES[:-1], CLAUSES[-1], "en", "zh")).ids)
    assert computed[-1] < whole / 3
