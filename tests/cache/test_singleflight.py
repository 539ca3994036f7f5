"""Single flight: shared loads, errors for every waiter, cancellation of one waiter."""

from __future__ import annotations

import asyncio

import pytest

from app.cache.singleflight import SingleFlight


class Load:
    """A load that counts its runs and finishes only when `release` is set."""

    def __init__(self, result: str = "card") -> None:
        self.result = result
        self.runs = 0
        self.started = asyncio.Event()
        self.release = asyncio.Event()
        self.failure: Exception | None = None

    async def __call__(self) -> str:
        self.runs += 1
        self.started.set()
        await self.release.wait()
        if self.failure is not None:
            raise self.failure
        return self.result


async def test_concurrent_callers_share_one_load() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    load = Load()

    waiters = [asyncio.create_task(flight.do("KR-1", load)) for _ in range(10)]
    await load.started.wait()  # the waiters were scheduled first: all have joined by now
    load.release.set()

    assert await asyncio.gather(*waiters) == ["card"] * 10
    assert load.runs == 1
    assert len(flight) == 0


async def test_different_keys_load_separately() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    one, two = Load("one"), Load("two")
    one.release.set()
    two.release.set()

    a, b = await asyncio.gather(flight.do("a", one), flight.do("b", two))

    assert (a, b) == ("one", "two")
    assert (one.runs, two.runs) == (1, 1)


async def test_finished_load_is_not_remembered() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    load = Load()
    load.release.set()

    await flight.do("KR-1", load)
    await flight.do("KR-1", load)

    assert load.runs == 2


async def test_error_reaches_every_waiter_and_is_not_cached() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    load = Load()
    load.failure = LookupError("db down")
    waiters = [asyncio.create_task(flight.do("KR-1", load)) for _ in range(5)]
    await load.started.wait()

    load.release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)

    assert all(isinstance(r, LookupError) for r in results)
    assert load.runs == 1
    load.failure = None
    assert await flight.do("KR-1", load) == "card"
    assert load.runs == 2


async def test_cancelling_one_waiter_does_not_cancel_the_load_for_others() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    load = Load()
    leaver = asyncio.create_task(flight.do("KR-1", load))
    stayer = asyncio.create_task(flight.do("KR-1", load))
    await load.started.wait()

    leaver.cancel()
    with pytest.raises(asyncio.CancelledError):
        await leaver
    load.release.set()

    assert await stayer == "card"
    assert load.runs == 1


async def test_load_finishes_even_when_every_waiter_left() -> None:
    flight: SingleFlight[str, str] = SingleFlight()
    load = Load()
    finished = asyncio.Event()

    async def load_and_note() -> str:
        result = await load()
        finished.set()
        return result

    only = asyncio.create_task(flight.do("KR-1", load_and_note))
    await load.started.wait()
    only.cancel()
    load.release.set()

    async with asyncio.timeout(1):
        await finished.wait()
    assert only.cancelled()
