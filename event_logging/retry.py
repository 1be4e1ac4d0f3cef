"""The one back-off policy of the event pipeline: exponential with jitter, from tenacity.

Every wait between attempts against something that is down (the store for the consumer, the broker for the
Kafka sink, the event process for the process sink) is drawn from `backoff(initial_s, max_s)`: "equal
jitter", half of the exponential step fixed and half random, so the n-th wait lies in [d/2, d] for
d = min(initial_s·2^(n-1), max_s). The random half keeps many processes that saw the same outage (every
ingest member, every serving worker) from retrying in lockstep; the fixed half keeps a crash-looping
dependency from being retried in a tight loop.

The consumer runs its retries through `tenacity.Retrying` with this policy. The sinks cannot block in a
retry loop (the Kafka sink spools meanwhile and tries again on a later batch; the process sink waits on its
closing event), so they draw their waits one at a time from a `Backoff`.
"""

from __future__ import annotations

import tenacity
from tenacity.wait import wait_base


def backoff(initial_s: float, max_s: float) -> wait_base:
    """Waits of `initial_s`, doubling up to `max_s`, each one between half and all of its step."""
    half = tenacity.wait_exponential(multiplier=initial_s / 2, max=max_s / 2)
    return half + tenacity.wait_random_exponential(multiplier=initial_s / 2, max=max_s / 2)


class Backoff:
    """Successive waits of `backoff(initial_s, max_s)` for code that schedules its own next attempt."""

    def __init__(self, initial_s: float, max_s: float) -> None:
        self._wait = backoff(initial_s, max_s)
        self.reset()

    def reset(self) -> None:
        """After a success: the next wait is the shortest again."""
        self._attempts = tenacity.RetryCallState(tenacity.Retrying(), None, (), {})

    def next_wait(self) -> float:
        """The wait before the next attempt; each call is one more failed attempt."""
        wait = self._wait(self._attempts)
        self._attempts.prepare_for_next_attempt()
        return wait
