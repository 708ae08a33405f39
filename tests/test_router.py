"""FallbackBackend: the health rules with time as data, then the real thing -- a remote
``glasses serve`` (tiny Qwen2) that is stopped, unreachable, too slow or back, and the local
engine (tiny Qwen3, so the two answers differ)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
from serve_support import KEY, ScriptedEngine, SilentServer, free_port

from glasses.llm import CancelToken, ChatMessage, GenerationOptions, SamplingConfig
from glasses.llm.backend import LocalBackend
from glasses.llm.remote import RemoteBackend, RemoteConfig, RemoteRequestError
from glasses.llm.router import (
    ANSWER_RESET,
    FallbackBackend,
    RemoteHealth,
    RouterConfig,
    after_answer,
    after_failure,
    after_probe,
    answer_text,
    probe_due,
)
from glasses.server import ChatServer, ServerConfig

pytestmark = pytest.mark.model

CHAT = [ChatMessage("user", "Translate: 出口")]
GREEDY = GenerationOptions(max_new_tokens=8, sampling=SamplingConfig(greedy=True))
WAIT_S = 10.0  # upper bound only: every wait returns as soon as its condition holds


@pytest.mark.fast
def test_health_rules_with_time_as_data() -> None:
    cfg = RouterConfig(probe_interval_s=10, max_probe_interval_s=35)
    health = RemoteHealth()
    assert health.up and not probe_due(health, 1e9)
    health = after_failure(health, 100.0, cfg, "refused")
    assert (health.up, health.failures, health.next_probe_at_s) == (False, 1, 110.0)
    assert not probe_due(health, 109.9) and probe_due(health, 110.0)
    health = after_probe(health, 110.0, cfg, ok=False)  # backoff doubles...
    assert (health.failures, health.next_probe_at_s, health.last_error) == (2, 130.0, "refused")
    health = after_probe(health, 130.0, cfg, ok=False)  # ...up to the cap
    assert health.next_probe_at_s == 165.0
    health = after_probe(health, 165.0, cfg, ok=True)
    assert health.up and health.failures == 3  # reachable, but not yet proven
    health = after_failure(health, 170.0, cfg, "no first token")  # slow again: long wait
    assert health.next_probe_at_s == 205.0
    assert after_answer(health) == RemoteHealth()


@pytest.mark.fast
def test_answer_text_applies_resets() -> None:
    assert answer_text(["Hel", "lo", ANSWER_RESET, "Bon", "jour"]) == "Bonjour"
    assert answer_text(["a", "b"]) == "ab" and ANSWER_RESET == ""


class FakeRemote:
    """Scripted remote for the rules that need no network."""

    source = "remote"

    def __init__(self, error: Exception | None = None) -> None:
        self.error, self.probes, self.calls, self.probe_ok = error, 0, 0, False

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        yield "remote"

    def probe(self, timeout_s: float | None = None) -> bool:
        self.probes += 1
        return self.probe_ok


class FakeLocal:
    source = "local"

    def stream_chat(
        self,
        messages: Sequence[ChatMessage],
        options: GenerationOptions | None = None,
        cancel: CancelToken | None = None,
    ) -> Iterator[str]:
        yield "local"


@pytest.mark.fast
def test_probes_follow_the_clock() -> None:
    now = [1000.0]
    remote = FakeRemote(ConnectionRefusedError("refused"))
    router = FallbackBackend(remote, FakeLocal(), RouterConfig(probe_interval_s=10), lambda: now[0])
    assert router.source == "remote"
    assert "".join(router.stream_chat(CHAT)) == "local" and router.source == "local"
    now[0] += 5
    assert "".join(router.stream_chat(CHAT)) == "local"
    assert (remote.calls, remote.probes) == (1, 0)  # down: no retry, no probe before due
    now[0] += 6
    remote.error, remote.probe_ok = None, True
    assert router.probe_now() and router.source == "remote"
    assert "".join(router.stream_chat(CHAT)) == "remote" and router.health == RemoteHealth()


@pytest.mark.fast
def test_rejected_request_falls_back_without_marking_the_remote_down() -> None:
    router = FallbackBackend(FakeRemote(RemoteRequestError("400: prompt too long")), FakeLocal())
    assert "".join(router.stream_chat(CHAT)) == "local"
    assert router.health.up


@pytest.mark.fast
def test_pictures_skip_a_remote_that_reads_none() -> None:
    """remote.images off: a LOOK's picture goes to the local (vision) model only, never out."""
    look = [ChatMessage("user", "What is this?", images=(b"\xff\xd8 jpeg",))]
    remote = FakeRemote()  # no accepts_images: a text-only server
    router = FallbackBackend(remote, FakeLocal())
    assert "".join(router.stream_chat(look)) == "local"
    assert remote.calls == 0 and router.health.up
    assert "".join(router.stream_chat(CHAT)) == "remote" and remote.calls == 1
    remote.accepts_images = True  # type: ignore[attr-defined]  # remote.images on
    assert "".join(router.stream_chat(look)) == "remote" and remote.calls == 2


@pytest.fixture
def engines(llm_engine: Callable[[str], Any]) -> tuple[Any, Any]:
    pytest.importorskip("onnxruntime")
    return llm_engine("genai-qwen2-int4"), llm_engine("genai-qwen3-int4")


@pytest.fixture
def servers() -> Iterator[Callable[..., ChatServer]]:
    started: list[ChatServer] = []

    def start(engine: Any, port: int = 0) -> ChatServer:
        started.append(ChatServer(engine, ServerConfig(port=port, api_key=KEY)).start())
        return started[-1]

    yield start
    for server in started:
        server.close()


def router_to(
    base_url: str, local: Any, budget_s: float = 2.0, key: str = KEY, stall_s: float = 5.0
) -> FallbackBackend:
    remote = RemoteBackend(RemoteConfig(base_url=base_url, model="tiny", api_key=key))
    config = RouterConfig(
        first_token_budget_s=budget_s, stall_budget_s=stall_s, probe_interval_s=0.2
    )
    return FallbackBackend(remote, LocalBackend(local), config)


def test_stopped_remote_falls_back_and_recovers(
    engines: tuple[Any, Any], servers: Callable[..., ChatServer]
) -> None:
    remote_engine, local_engine = engines
    remote_text = remote_engine.generate(CHAT, GREEDY).text
    local_text = local_engine.generate(CHAT, GREEDY).text
    assert remote_text != local_text
    server = servers(remote_engine)
    router = router_to(server.base_url, local_engine)
    assert answer_text(router.stream_chat(CHAT, GREEDY)) == remote_text
    assert router.source == "remote"

    port = server.port
    server.close()
    assert answer_text(router.stream_chat(CHAT, GREEDY)) == local_text
    # Refused at once: the router took the refusal, it did not wait out the first-token budget.
    assert router.source == "local" and "cannot connect" in router.health.last_error

    servers(remote_engine, port=port)  # back on the same address
    deadline = time.monotonic() + WAIT_S
    while router.source != "remote" and time.monotonic() < deadline:
        router.probe_soon()  # what each request does while the remote is down
        time.sleep(0.05)
    assert router.source == "remote"
    assert answer_text(router.stream_chat(CHAT, GREEDY)) == remote_text


def test_remote_lost_mid_answer_restarts_locally(
    engines: tuple[Any, Any], servers: Callable[..., ChatServer]
) -> None:
    _, local_engine = engines
    server = servers(ScriptedEngine(block_at=1))
    router = router_to(server.base_url, local_engine)
    stream = router.stream_chat(CHAT, GREEDY)
    first = next(stream)
    assert first == "Hello" and router.source == "remote"
    server.close()
    rest = list(stream)
    assert rest[0] is ANSWER_RESET
    assert answer_text([first, *rest]) == local_engine.generate(CHAT, GREEDY).text
    assert not router.health.up


def test_remote_stalled_mid_answer_restarts_locally(
    engines: tuple[Any, Any], servers: Callable[..., ChatServer]
) -> None:
    """The link goes quiet without closing (Wi-Fi out of range): no waiting for the read timeout."""
    _, local_engine = engines
    stuck = ScriptedEngine(block_at=1)
    router = router_to(servers(stuck).base_url, local_engine, stall_s=0.3)
    deltas = list(router.stream_chat(CHAT, GREEDY))
    assert deltas[:2] == ["Hello", ANSWER_RESET]
    assert answer_text(deltas) == local_engine.generate(CHAT, GREEDY).text
    # The stall budget ended it, not the remote's 20 s read timeout.
    assert "stalled 0.3 s mid-answer" in router.health.last_error
    assert stuck.cancelled.wait(WAIT_S)  # the remote stopped generating for nobody


@pytest.mark.parametrize("case", ["unreachable", "too slow"])
def test_fallback_within_the_first_token_budget(engines: tuple[Any, Any], case: str) -> None:
    _, local_engine = engines
    silent = SilentServer() if case == "too slow" else None
    url = silent.base_url if silent else f"http://127.0.0.1:{free_port()}/v1"
    try:
        router = router_to(url, local_engine, budget_s=0.5)
        text = answer_text(router.stream_chat(CHAT, GREEDY))
    finally:
        if silent:
            silent.close()
    assert text == local_engine.generate(CHAT, GREEDY).text
    assert router.source == "local"
    # Which rule gave up on the remote: a refusal at once, silence after the budget (not the
    # remote's own 20 s read timeout).
    expected = "no first token in 0.5 s" if case == "too slow" else "cannot connect"
    assert expected in router.health.last_error


def test_key_never_logged_or_raised(
    engines: tuple[Any, Any],
    servers: Callable[..., ChatServer],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    remote_engine, local_engine = engines
    server = servers(remote_engine)
    wrong = "sk-wrong-" + KEY[::-1]
    router = router_to(server.base_url, local_engine, key=wrong)
    assert answer_text(router.stream_chat(CHAT, GREEDY)) == local_engine.generate(CHAT, GREEDY).text
    assert "401" in router.health.last_error
    router = router_to(server.base_url, local_engine)
    assert answer_text(router.stream_chat(CHAT, GREEDY))
    server.close()
    answer_text(router.stream_chat(CHAT, GREEDY))
    assert "remote model unavailable" in caplog.text
    for secret in (KEY, wrong):
        assert secret not in caplog.text and secret not in router.health.last_error
