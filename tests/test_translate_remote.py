"""Clause-by-clause translation through the remote backend (issue #14): translate mode and the
daemon's real ``GenerateStage`` in front of a ``FallbackBackend``, whose remote is a real
``glasses serve`` server (``ChatServer``) on 127.0.0.1 and whose local model is the tiny test
Qwen on the real engine.

The remote's model is the stand-in table translator (``translate_support``), so what each
clause turns into is known exactly. While the server answers, every clause is translated
remotely, with the earlier clauses of the utterance as context. Once the server is gone, the
next utterance's clauses come from the local model (its greedy replies to the same prompts),
and the captions still hold every clause once, in order.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from modes_support import FakeLayout
from serve_support import KEY, chat_servers
from translate_support import TableEngine, request_text, translate

from glasses.llm import GenerationOptions, SamplingConfig
from glasses.llm.backend import LocalBackend
from glasses.llm.remote import RemoteBackend, RemoteConfig
from glasses.llm.router import FallbackBackend, RouterConfig
from glasses.modes.base import ModeContext, ModeOptions
from glasses.modes.clause_prompts import clause_messages
from glasses.modes.clauses import ClausePolicy, join_text, word_spans
from glasses.modes.translate import TranslateMode
from glasses.pipeline.channel import Channel, Overflow
from glasses.pipeline.messages import (
    CancelLlm,
    FinalTranscript,
    LlmDone,
    LlmRequest,
    Message,
    PartialTranscript,
)
from glasses.pipeline.metrics import Metrics
from glasses.runtime.generate_stage import GenerateStage
from glasses.server import ChatServer

pytest.importorskip("onnxruntime")
pytestmark = pytest.mark.model

GREEDY = GenerationOptions(sampling=SamplingConfig(greedy=True))
MAX_TOKENS = 24
FIRST = ("Good morning everyone,", "welcome to the city museum,", "we will walk to the lake.")
SECOND = ("Please stay with the group,", "the rooms are very busy,", "the boat leaves at two.")


class Rig:
    """Translate mode wired to a GenerateStage the way the daemon's control stage wires it:
    requests into the stage's inbox, cancellations straight to it, its output back to the mode."""

    def __init__(self, backend: Any) -> None:
        options = ModeOptions(languages=("zh", "en"), max_new_tokens=MAX_TOKENS)
        self.mode = TranslateMode(ModeContext(FakeLayout(400), options))
        self.inbox: Channel[LlmRequest] = Channel("llm", 1, Overflow.KEEP_NEWEST)
        self.stage = GenerateStage(self.inbox, self._back, backend, GREEDY, metrics=Metrics())
        self.done: list[LlmDone] = []
        self.requests: dict[int, LlmRequest] = {}

    async def _back(self, msg: Message) -> None:
        if isinstance(msg, LlmDone):
            self.done.append(msg)
        await self.carry(self.mode.handle(msg))

    async def carry(self, effects: Sequence[Message]) -> None:
        for effect in effects:
            if isinstance(effect, LlmRequest):
                self.requests[effect.request_id] = effect
                await self.inbox.put(effect)
            elif isinstance(effect, CancelLlm):
                self.stage.cancel(effect.request_id)

    async def say(self, clauses: Sequence[str]) -> None:
        """Partials that settle one clause after another (the first word of the next one
        heard but not settled), then the final transcript; returns once the model is idle."""
        for k in range(len(clauses)):
            stable = " ".join(clauses[: k + 1]) + " "
            heard = stable + (clauses[k + 1].split()[0] if k + 1 < len(clauses) else "")
            await self.carry(self.mode.handle(PartialTranscript(heard, stable, "en", k)))
            await self.idle()
        await self.carry(self.mode.handle(FinalTranscript(" ".join(clauses), "en", 3.0)))
        await self.idle()

    async def idle(self) -> None:
        clauses = self.mode.clauses
        assert clauses is not None
        scheduler = clauses.scheduler
        while scheduler.running or scheduler.queue or scheduler.waiting_tentative:
            await asyncio.sleep(0.005)  # polls the loop; nothing is timed

    def clause_sources(self, clauses: Sequence[str]) -> list[str]:
        """Who answered each clause request (the requests whose last line is a clause)."""
        return [
            d.source
            for d in self.done
            if not d.cancelled and request_text(self.requests[d.request_id].messages)[0] in clauses
        ]


def local_line(engine: Any, ctx: ModeContext, clauses: Sequence[str]) -> str:
    """The caption line the local model makes of ``clauses`` (its greedy reply per clause)."""
    line = ""
    for k, clause in enumerate(clauses):
        tokens = min(MAX_TOKENS, 16 + 3 * len(word_spans(clause)))
        messages = clause_messages(clauses[:k], clause, "en", "zh")
        text = engine.generate(messages, GenerationOptions(tokens, GREEDY.sampling)).text
        line = join_text(line, ctx.screen_text(text))
    return line


@pytest.fixture
def serve() -> Iterator[Callable[..., ChatServer]]:
    with chat_servers() as start:
        yield start


def test_clauses_are_translated_remotely_then_locally_once_the_server_is_gone(
    serve: Callable[..., ChatServer], llm_engine: Callable[[str], Any]
) -> None:
    table = TableEngine()
    server = serve(table)
    engine = llm_engine("optimum-qwen2-fp32")
    remote = RemoteBackend(RemoteConfig(base_url=server.base_url, model="table", api_key=KEY))
    router = FallbackBackend(remote, LocalBackend(engine), RouterConfig(probe_interval_s=60.0))
    rig = Rig(router)
    assert rig.mode.ctx.options.clauses == ClausePolicy()  # the default: clause by clause
    ctx = rig.mode.ctx

    first_done: list[LlmDone] = []

    async def main() -> None:
        task = asyncio.ensure_future(rig.stage.run())
        await rig.say(FIRST)
        first_done.extend(rig.done)
        server.close()  # the remote goes away between two utterances
        rig.done.clear()
        await rig.say(SECOND)
        task.cancel()

    asyncio.run(asyncio.wait_for(main(), 60.0))
    clauses = rig.mode.clauses
    assert clauses is not None
    assert [d.source for d in first_done if not d.cancelled] == ["remote"] * len(
        [d for d in first_done if not d.cancelled]
    )
    clause_chats = [chat for chat in table.requests if request_text(chat)[0] in FIRST]
    assert [request_text(chat)[0] for chat in clause_chats] == list(FIRST)
    last = clause_chats[-1][-1].content  # the third clause, the first two before it
    assert "\n".join(FIRST) in last and "Translate the last line" in last

    assert rig.clause_sources(SECOND) == ["local"] * 3
    assert not router.health.up
    remote_line = ""
    for clause in FIRST:
        remote_line = join_text(remote_line, ctx.screen_text(translate(clause, "zh")))
    assert clauses.captions.final == (remote_line, local_line(engine, ctx, SECOND))
