"""The event pipeline's one back-off policy: exponential, capped, jittered, and reset by a success."""

from __future__ import annotations

from event_logging.retry import Backoff


def test_waits_double_up_to_the_cap_each_between_half_and_all_of_its_step() -> None:
    steps = [0.5, 1.0, 2.0, 4.0, 5.0, 5.0, 5.0]
    for _ in range(200):
        backoff = Backoff(0.5, 5.0)
        for step in steps:
            assert step / 2 <= backoff.next_wait() <= step


def test_waits_are_jittered() -> None:
    """Processes that saw the same outage must not retry in lockstep."""
    firsts = {round(Backoff(1.0, 8.0).next_wait(), 6) for _ in range(50)}
    assert len(firsts) > 40


def test_reset_starts_over_at_the_shortest_wait() -> None:
    backoff = Backoff(1.0, 60.0)
    for _ in range(5):
        backoff.next_wait()
    assert backoff.next_wait() >= 16.0
    backoff.reset()
    assert backoff.next_wait() <= 1.0
