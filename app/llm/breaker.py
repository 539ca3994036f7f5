"""A circuit breaker per link: stop calling a provider that keeps failing, probe it later."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from collections.abc import Callable

State = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """Closed → open after `failures` consecutive failures → one probe after `reset_seconds`.

    Process-local on purpose: each replica learns about an outage from its own requests, and a
    shared breaker would need a round trip to Redis before every model call.
    """

    def __init__(
        self,
        failures: int,
        reset_seconds: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.failures = failures
        self.reset_seconds = reset_seconds
        self._clock = clock
        self._consecutive = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> State:
        if self._opened_at is None:
            return "closed"
        if self._clock() - self._opened_at >= self.reset_seconds:
            return "half_open"
        return "open"

    def allow(self) -> bool:
        """May a request go out now? In half-open, only the first caller (the probe) may."""
        state = self.state
        if state == "closed":
            return True
        if state == "open" or self._probing:
            return False
        self._probing = True
        return True

    def success(self) -> None:
        self._consecutive = 0
        self._opened_at = None
        self._probing = False

    def failure(self) -> None:
        self._consecutive += 1
        # A failed probe re-opens at once, for another full `reset_seconds`.
        if self._probing or self._consecutive >= self.failures:
            self._opened_at = self._clock()
        self._probing = False

    def release(self) -> None:
        """The request ended without a verdict on the provider (our own deadline ran out)."""
        self._probing = False
