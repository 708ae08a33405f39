"""The pipeline's plumbing: channel policies, worker threads, the stage loop and metrics.

Everything runs on a real event loop but waits only on events, never on time.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncGenerator, Coroutine, Iterator
from typing import Any, TypeVar

import pytest

from glasses.display.views import Mode
from glasses.pipeline.channel import Channel, Overflow
from glasses.pipeline.messages import Message, SetMode
from glasses.pipeline.metrics import BOUNDS_MS, Histogram, Metrics, present_observations
from glasses.pipeline.stage import Stage
from glasses.pipeline.worker import Worker
from glasses.runtime.status import format_status

pytestmark = pytest.mark.fast

T = TypeVar("T")


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(asyncio.wait_for(coro, 10.0))


def test_keep_newest_drops_the_oldest_and_counts() -> None:
    async def main() -> tuple[list[int], int]:
        ch: Channel[int] = Channel("frames", 2, Overflow.KEEP_NEWEST)
        for i in range(5):
            await ch.put(i)
        got = [await ch.get(), await ch.get()]
        return got, ch.stats().dropped

    assert run(main()) == ([3, 4], 3)


def test_block_is_lossless_backpressure() -> None:
    async def main() -> list[int]:
        ch: Channel[int] = Channel("audio", 2, Overflow.BLOCK)
        await ch.put(0)
        await ch.put(1)
        assert not ch.put_nowait(2)  # full: refused, not dropped
        sender = asyncio.ensure_future(ch.put(2))
        await asyncio.sleep(0)
        assert not sender.done()  # waits for room
        got = [await ch.get()]
        await sender
        got += [await ch.get(), await ch.get()]
        stats = ch.stats()
        assert (stats.dropped, stats.sent, stats.high_water) == (0, 3, 2)
        return got

    assert run(main()) == [0, 1, 2]
    with pytest.raises(ValueError, match="capacity"):
        Channel("x", 0, Overflow.BLOCK)


def test_worker_runs_calls_in_its_thread_and_raises_their_errors() -> None:
    worker = Worker("test")

    async def main() -> None:
        name = await worker.call(lambda: threading.current_thread().name)
        assert name == "glasses-test"
        with pytest.raises(ZeroDivisionError):
            await worker.call(lambda: 1 / 0)
        assert await worker.call(lambda a, b: a + b, 2, 3) == 5

    run(main())
    worker.close()


def test_worker_stream_hands_items_over_and_ends_or_fails() -> None:
    worker = Worker("stream")
    closed = threading.Event()

    def items(fail: bool) -> Iterator[int]:
        try:
            yield from range(50)
            if fail:
                raise RuntimeError("device gone")
        finally:
            closed.set()

    async def main() -> None:
        got = [i async for i in worker.stream(lambda: items(False), capacity=2)]
        assert got == list(range(50))
        got.clear()
        with pytest.raises(RuntimeError, match="device gone"):
            async for i in worker.stream(lambda: items(True), capacity=2):
                got.append(i)
        assert got == list(range(50))  # everything before the error arrived: not an end

    run(main())
    assert closed.wait(5)
    worker.close()


def test_worker_stream_stops_its_thread_when_the_consumer_leaves() -> None:
    worker = Worker("endless")
    closed = threading.Event()

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                yield n
                n += 1
        finally:
            closed.set()

    async def main() -> None:
        stream = worker.stream(endless, capacity=1)
        async for n in stream:
            if n == 3:
                break
        await stream.aclose()

    run(main())
    assert closed.wait(5)
    assert run(worker.call(lambda: "free again")) == "free again"
    worker.close()


class Doubler(Stage[int]):
    async def process(self, msg: int) -> AsyncGenerator[Message, None]:
        for _ in range(2):
            yield SetMode(Mode.READ if msg else Mode.ASSIST)


def test_stage_sends_what_process_yields_in_order() -> None:
    async def main() -> list[Message]:
        sent: list[Message] = []

        async def send(msg: Message) -> None:
            sent.append(msg)

        inbox: Channel[int] = Channel("in", 4, Overflow.BLOCK)
        metrics = Metrics()
        stage = Doubler("doubler", inbox, send, metrics=metrics)
        task = asyncio.ensure_future(stage.run())
        await inbox.put(1)
        await inbox.put(0)
        while stage.handled < 2:
            await asyncio.sleep(0)
        assert stage.idle and metrics.histograms["stage.doubler"].count == 2
        task.cancel()
        return sent

    assert run(main()) == [SetMode(Mode.READ)] * 2 + [SetMode(Mode.ASSIST)] * 2


def test_histogram_quantiles_and_summary() -> None:
    h = Histogram()
    assert h.summary() == {"count": 0} and h.quantile_ms(0.5) == 0.0
    for value in [3.0] * 90 + [40.0] * 9 + [12345.0]:
        h.observe(value)
    assert h.quantile_ms(0.5) == 5.0  # the bucket's upper bound
    assert h.quantile_ms(0.95) == 50.0
    assert h.quantile_ms(1.0) == 12345.0  # capped by the largest value seen
    summary = h.summary()
    assert summary["count"] == 100 and summary["max_ms"] == 12345.0 and summary["min_ms"] == 3.0
    h.observe(10 * BOUNDS_MS[-1])  # beyond the last bound: the overflow bucket
    assert h.counts[-1] == 1 and h.quantile_ms(1.0) == 10 * BOUNDS_MS[-1]
    with pytest.raises(ValueError):
        h.quantile_ms(0)
    m = Metrics()
    m.observe_ms("a", 1.0)
    m.count("drops", 2)
    snap = m.snapshot()
    assert snap["counters"] == {"drops": 2} and "a" in snap["latency"]  # type: ignore[operator]


def test_an_unplug_is_a_wait_for_the_link_not_display_latency() -> None:
    # Issue 11: a 6.8 s unplug showed as 7.5 s of display latency. Time here is data.
    screen = present_observations(
        "OcrText",
        cause_at_s=9.9,
        rendered_s=10.0,
        wire_s=16.9,
        presented_s=17.0,
        link_down=[(10.0, 10.5), (10.5, 16.8)],
    )
    assert screen == pytest.approx(
        {
            "display.present": 200.0,
            "display.link_wait": 6800.0,
            "e2e.OcrText_to_present": 300.0,
            "e2e.OcrText_to_wire": 200.0,
        }
    )
    # The first write before the unplug: the wait only comes off what followed it.
    early = present_observations("OcrText", 9.9, 10.0, 10.01, 17.0, [(10.5, 17.0)])
    assert early["e2e.OcrText_to_wire"] == pytest.approx(110.0)
    assert early["display.present"] == pytest.approx(500.0)
    # With the link up all along there is no link wait at all.
    plain = present_observations("Button", None, 1.0, 1.001, 1.05)
    assert plain == pytest.approx({"display.present": 50.0})


def test_status_says_the_quantiles_are_bucket_edges_and_the_link_wait_apart() -> None:
    m = Metrics()
    for name, ms in present_observations("OcrText", 9.9, 10.0, 16.9, 17.0, [(10.0, 16.8)]).items():
        m.observe_ms(name, ms)
    status = {
        "state": "stopped",
        "pid": 0,
        "metrics": m.snapshot(),
        "process": {"cpu_s": 1.0, "rss_mb": 400.0, "peak_rss_mb": 420.0, "threads": 18},
        "loaded": {
            "ocr": {
                "load_s": 0.5,
                "load_rss_mb": 60.0,
                "first_read_s": 1.0,
                "first_read_rss_mb": 90.0,
            }
        },
    }
    text = format_status(status)
    assert "p95 ≤ms" in text and "bucket edges" in text
    assert "rss 400.0 MB" in text and "18 threads" in text
    assert "loaded at start-up: ocr (150 MB with a first read, 1.5 s)" in text
    rows = {line.split()[0]: line.split()[1:] for line in text.splitlines()[4:] if "." in line}
    assert rows["display.link_wait"] == ["1", "6800.0", "6800.0", "6800.0"]  # capped by the max
    assert rows["e2e.OcrText_to_present"][-1] == "300.0"  # not 7100
