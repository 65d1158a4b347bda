"""A priority gate for the CPU-bound part of answering, so new questions get their sources first.

Under load every answer competes for the same cores (and for Python's GIL). Shared fairly, a new
question waits behind every answer being composed before its first retrieval returns, and the first
streamed event comes late. The gate lets at most `slots` turns run engine code at once and, whenever
a turn reaches a checkpoint (each tool call), hands the slot to the most urgent waiter: turns that
have not yet retrieved anything (priority 0) go before turns composing the rest of their answer
(priority 1). Average throughput is unchanged; the time to the first event drops.

Turns hold the gate only in threads (the engine, the conversation store); holding is re-entrant per
thread and a checkpoint in a thread that does not hold the gate does nothing, so the LLM path and
nested tool calls are unaffected.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager

FIRST = 0  # not yet retrieved anything: the first event is waiting on this turn
REST = 1  # composing the rest of the answer


class PriorityGate:
    """At most `slots` holders; waiters are admitted by (priority, arrival)."""

    def __init__(self, slots: int = 2) -> None:
        if slots < 1:
            raise ValueError("slots must be >= 1")
        self.slots = slots
        self._cv = threading.Condition()
        self._holders: dict[int, int] = {}  # thread id -> re-entrant depth
        self._waiting: list[tuple[int, int]] = []  # heap of (priority, ticket)
        self._tickets = itertools.count()
        self._arrival: dict[int, int] = {}  # thread id -> arrival ticket (kept across checkpoints)

    def holds(self) -> bool:
        """True when the calling thread holds a slot."""
        with self._cv:
            return threading.get_ident() in self._holders

    def acquire(self, priority: int, _arrival: int | None = None) -> None:
        """Take a slot (re-entrant: a thread that holds one just goes deeper)."""
        me = threading.get_ident()
        with self._cv:
            if me in self._holders:
                self._holders[me] += 1
                return
            arrival = next(self._tickets) if _arrival is None else _arrival
            ticket = (priority, arrival)
            self._arrival[me] = arrival
            heapq.heappush(self._waiting, ticket)
            while len(self._holders) >= self.slots or self._waiting[0] != ticket:
                self._cv.wait()
            heapq.heappop(self._waiting)
            self._holders[me] = 1
            self._cv.notify_all()  # another slot may be free for the next waiter

    def release(self) -> None:
        """Give the slot back (at the outermost level)."""
        me = threading.get_ident()
        with self._cv:
            depth = self._holders.get(me)
            if depth is None:
                return
            if depth > 1:
                self._holders[me] = depth - 1
                return
            del self._holders[me]
            self._arrival.pop(me, None)
            self._cv.notify_all()

    def checkpoint(self, priority: int) -> None:
        """Let a strictly more urgent waiter in first: release, then re-acquire at `priority`.

        A no-op unless the calling thread holds a slot; equals never preempt each other, so turns
        of the same priority run first come, first served.
        """
        me = threading.get_ident()
        with self._cv:
            depth = self._holders.get(me)
            if depth is None or not self._waiting or self._waiting[0][0] >= priority:
                return  # nobody more urgent is waiting: keep going
            del self._holders[me]
            arrival = self._arrival[me]
            self._cv.notify_all()
        self.acquire(priority, _arrival=arrival)  # back in line at its first arrival, not at the end
        with self._cv:
            self._holders[me] = depth

    @contextmanager
    def hold(self, priority: int) -> Iterator[None]:
        """Hold a slot for the block."""
        self.acquire(priority)
        try:
            yield
        finally:
            self.release()
