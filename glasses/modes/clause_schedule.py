"""Which translation the model runs next, when clauses and re-translations compete for it.

One generation at a time. Committed clauses are translated in the order they were spoken and
are never cancelled: their text becomes final captions. A tentative re-translation of the
uncommitted tail is optional work: it runs only when no clause waits, a newer clause cancels it
(its source is stale once part of it is committed), and a newer tentative request replaces the
one waiting. So when the model falls behind the speaker, re-translation is what is dropped
first, and clauses queue. The queue is bounded: a clause that finds it full is merged into the
last queued clause of its utterance (nothing is lost, the model gets one longer clause), or,
failing that, the oldest queued clause is dropped and handed back so its source can be shown.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from typing import Literal

from glasses.modes.clauses import join_text

Kind = Literal["clause", "tentative"]


@dataclass(frozen=True)
class Job:
    """Text to translate. ``context``: the earlier clauses of the same utterance (``turn``)."""

    kind: Kind
    source: str
    context: tuple[str, ...]
    language: str
    turn: int
    last: bool = False  # the final transcript's remainder: the utterance ends with it


@dataclass(frozen=True)
class Decision:
    """What to do now: stop request ``cancel``, start ``start``; ``dropped``: clauses given up."""

    cancel: int | None = None
    start: Job | None = None
    dropped: tuple[Job, ...] = ()


class ClauseScheduler:
    """The order of translations. The mode reports each start (with the request id it gave the
    job) and each end; every call returns the :class:`Decision` to carry out."""

    def __init__(self, max_queued: int = 4) -> None:
        if max_queued < 1:
            raise ValueError(f"max_queued must be at least 1, got {max_queued}")
        self.max_queued = max_queued
        self.queue: deque[Job] = deque()
        self.waiting_tentative: Job | None = None
        self.running: tuple[int, Job] | None = None
        self.dropped_tentative = 0  # re-translations replaced or pre-empted (for the bench)

    def commit(self, job: Job) -> Decision:
        """A clause was committed: it will be translated after those already queued."""
        if job.kind != "clause":
            raise ValueError("commit takes clauses; tentative text goes to propose")
        if self.waiting_tentative is not None:  # its source now overlaps the clause
            self.waiting_tentative = None
            self.dropped_tentative += 1
        dropped: tuple[Job, ...] = ()
        last = self.queue[-1] if self.queue else None
        if len(self.queue) >= self.max_queued:
            if last is not None and last.turn == job.turn and last.language == job.language:
                merged = join_text(last.source, job.source)
                self.queue[-1] = replace(last, source=merged, last=job.last)
                return self._next()
            dropped = (self.queue.popleft(),)
        self.queue.append(job)
        return replace(self._next(), dropped=dropped)

    def propose(self, job: Job) -> Decision:
        """A tentative re-translation is wanted; it replaces any waiting one."""
        if job.kind != "tentative":
            raise ValueError("propose takes tentative jobs; clauses go to commit")
        if self.waiting_tentative is not None:
            self.dropped_tentative += 1
        self.waiting_tentative = job
        return self._next()

    def forget_tentative(self) -> None:
        """The utterance ended: a waiting re-translation of it is stale."""
        if self.waiting_tentative is not None:
            self.waiting_tentative = None
            self.dropped_tentative += 1

    def started(self, request_id: int, job: Job) -> None:
        """The mode sent ``job`` to the model as request ``request_id``."""
        self.running = (request_id, job)

    def finished(self, request_id: int) -> Decision:
        """Request ``request_id`` ended (done, failed or cancelled)."""
        if self.running is not None and self.running[0] == request_id:
            self.running = None
        return self._next()

    def clear(self) -> Decision:
        """Forget everything (the user cleared the captions or left the mode)."""
        self.queue.clear()
        self.waiting_tentative = None
        running, self.running = self.running, None
        return Decision(cancel=running[0] if running else None)

    def _next(self) -> Decision:
        if self.running is not None:
            request_id, job = self.running
            if job.kind == "tentative" and self.queue:  # a clause pre-empts a stale re-translation
                self.running = None
                self.dropped_tentative += 1
                return Decision(cancel=request_id, start=self.queue.popleft())
            return Decision()
        if self.queue:
            return Decision(start=self.queue.popleft())
        if self.waiting_tentative is not None:
            job, self.waiting_tentative = self.waiting_tentative, None
            return Decision(start=job)
        return Decision()
