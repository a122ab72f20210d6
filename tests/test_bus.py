"""The run's bus on its own: order, inline and queued subscribers, slow and failing ones."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from tests.conftest import eventually
from tmuxorch.run.bus import Bus

if TYPE_CHECKING:
    from tmuxorch.run.bus import Event


def make_bus(logged: list[str]) -> Bus:
    return Bus(snapshot=lambda: {"type": "run-snapshot", "tasks": []}, log=logged.append)


def test_inline_subscribers_run_in_order_before_publish_returns() -> None:
    bus = make_bus([])
    calls: list[tuple[str, object]] = []
    bus.subscribe(lambda e: calls.append(("first", e["seq"])), inline=True)
    bus.subscribe(lambda e: calls.append(("second", e["seq"])), inline=True)
    bus.publish({"type": "a"})
    assert calls == [("first", 1), ("second", 1)]
    bus.publish({"type": "b"})
    assert calls[2:] == [("first", 2), ("second", 2)]


def test_a_queued_subscriber_gets_everything_in_order_and_close_delivers_the_rest() -> None:
    bus = make_bus([])
    got: list[Event] = []
    bus.subscribe(got.append)
    for i in range(500):
        bus.publish({"type": "n", "i": i})
    bus.close()
    assert [e["i"] for e in got] == list(range(500))


def test_a_slow_subscriber_never_holds_the_publisher_up_and_gets_a_gap_then_a_snapshot() -> None:
    logged: list[str] = []
    bus = make_bus(logged)
    release = threading.Event()
    slow: list[Event] = []
    fast: list[Event] = []

    def stuck(event: Event) -> None:
        release.wait()
        slow.append(event)

    sub = bus.subscribe(stuck, name="stuck", maxsize=10)
    assert sub is not None
    bus.subscribe(fast.append, name="fast", maxsize=1000)
    for i in range(100):
        bus.publish({"type": "n", "i": i})
    assert not release.is_set()  # all 100 published while the slow one was still stuck
    release.set()
    eventually(lambda: sub.backlog == 0, what="the slow one caught up")
    bus.publish({"type": "n", "i": 100})
    bus.close()
    assert [e["i"] for e in fast] == list(range(101))
    kinds = [e["type"] for e in slow]
    assert "gap" in kinds
    gap = slow[kinds.index("gap")]
    assert slow[kinds.index("gap") + 1]["type"] == "run-snapshot"
    assert slow[-1] == {"type": "n", "i": 100, "seq": 101}  # in step again afterwards
    delivered = [e for e in slow if e["type"] == "n"]
    assert len(delivered) + sum(int(e["dropped"]) for e in slow if e["type"] == "gap") == 101  # type: ignore[call-overload]
    assert gap["reason"] == "subscriber too slow"
    assert any("subscriber stuck is too slow" in line for line in logged)


def test_a_failing_subscriber_is_logged_once_and_keeps_getting_events() -> None:
    logged: list[str] = []
    bus = make_bus(logged)
    tried: list[object] = []
    others: list[Event] = []

    def broken(event: Event) -> None:
        tried.append(event["seq"])
        raise RuntimeError("no disk")

    bus.subscribe(broken, name="broken", inline=True)
    bus.subscribe(broken, name="broken-queued")
    bus.subscribe(others.append)
    for _ in range(3):
        bus.publish({"type": "n"})
    bus.close()
    assert len(tried) == 6  # each of the two got all three
    assert len(others) == 3
    assert len([line for line in logged if "subscriber broken " in line]) == 1
    assert len([line for line in logged if "subscriber broken-queued " in line]) == 1
    assert "RuntimeError('no disk')" in logged[0]


def test_a_subscriber_may_ask_for_ticks() -> None:
    bus = make_bus([])
    got: list[Event] = []
    bus.subscribe(got.append, every=0.02)
    eventually(lambda: sum(e["type"] == "tick" for e in got) >= 3, what="three ticks")
    bus.close()
