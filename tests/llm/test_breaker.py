"""The circuit breaker's states, on a clock the test moves."""

from __future__ import annotations

from app.llm.breaker import CircuitBreaker


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_consecutive_failures_only():
    breaker = CircuitBreaker(3, 10, clock=Clock())
    breaker.failure()
    breaker.failure()
    breaker.success()
    breaker.failure()
    breaker.failure()
    assert breaker.allow()  # two in a row, not three

    breaker.failure()

    assert breaker.state == "open"
    assert not breaker.allow()


def test_half_open_breaker_lets_one_probe_through():
    clock = Clock()
    breaker = CircuitBreaker(1, 10, clock=clock)
    breaker.failure()
    clock.now += 10

    assert breaker.allow()
    assert not breaker.allow()  # a second caller while the probe is out
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


def test_released_probe_lets_the_next_caller_probe():
    clock = Clock()
    breaker = CircuitBreaker(1, 10, clock=clock)
    breaker.failure()
    clock.now += 10
    assert breaker.allow()

    breaker.release()

    assert breaker.state == "half_open"
    assert breaker.allow()
