"""PriorityGate: urgent turns (no sources yet) are admitted before turns composing their answers."""

from __future__ import annotations

import threading
import time

import pytest

from assistant.scheduler import FIRST, REST, PriorityGate


def _start(gate: PriorityGate, priority: int, name: str, order: list[str], hold_s: float = 0.0) -> threading.Thread:
    def run() -> None:
        with gate.hold(priority):
            order.append(name)
            time.sleep(hold_s)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_for_waiters(gate: PriorityGate, n: int) -> None:
    deadline = time.monotonic() + 5
    while len(gate._waiting) < n:
        assert time.monotonic() < deadline, "waiters never queued"
        time.sleep(0.005)


def test_urgent_waiters_are_admitted_before_earlier_ones_composing():
    gate, order = PriorityGate(slots=1), []
    gate.acquire(REST)
    threads = [_start(gate, REST, "rest-1", order)]
    _wait_for_waiters(gate, 1)
    threads.append(_start(gate, REST, "rest-2", order))
    _wait_for_waiters(gate, 2)
    threads.append(_start(gate, FIRST, "first", order))
    _wait_for_waiters(gate, 3)
    gate.release()
    for t in threads:
        t.join(5)
    assert order == ["first", "rest-1", "rest-2"]  # equals keep their arrival order


def test_checkpoint_yields_only_to_strictly_more_urgent_waiters():
    gate, order = PriorityGate(slots=1), []
    gate.acquire(REST)
    same = _start(gate, REST, "rest", order)
    _wait_for_waiters(gate, 1)
    gate.checkpoint(REST)  # an equal is waiting: keep the slot
    assert order == [] and gate.holds()
    urgent = _start(gate, FIRST, "first", order, hold_s=0.05)
    _wait_for_waiters(gate, 2)
    gate.checkpoint(REST)  # the urgent one runs, then this thread continues before the equal
    order.append("me")
    gate.release()
    for t in (same, urgent):
        t.join(5)
    assert order == ["first", "me", "rest"]


def test_hold_is_reentrant_and_checkpoint_without_a_slot_does_nothing():
    gate = PriorityGate(slots=1)
    gate.checkpoint(FIRST)  # not held: no-op
    with gate.hold(REST):
        with gate.hold(FIRST):
            assert gate.holds()
        assert gate.holds()
    assert not gate.holds()
    with pytest.raises(ValueError):
        PriorityGate(slots=0)


def test_slots_run_turns_side_by_side():
    gate, order = PriorityGate(slots=2), []
    threads = [_start(gate, REST, f"t{i}", order, hold_s=0.2) for i in range(2)]
    time.sleep(0.1)
    assert sorted(order) == ["t0", "t1"]  # both admitted at once
    for t in threads:
        t.join(5)
