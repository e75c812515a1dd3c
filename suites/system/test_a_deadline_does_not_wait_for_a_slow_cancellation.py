"""Promise: a request is answered by its deadline even when the work it cuts short takes long to
stop, as a psycopg query does (it asks the server to cancel, then waits for the query's end: up
to 10 s, `system.common.deadline`). The work is cancelled all the same and ends on its own."""

import asyncio
import time

import pytest

from system.common import deadline

#: How long the work below takes to stop once cancelled (psycopg: up to 10 s).
STOPPING = 1.0
DEADLINE = 0.2


async def slow_to_stop(stopped: list[str]) -> str:
    """Work that takes STOPPING to stop when cancelled, as a psycopg query on a slow network."""
    try:
        await asyncio.sleep(30)
        return "done"
    except asyncio.CancelledError:
        await asyncio.sleep(STOPPING)
        stopped.append("cancelled")
        raise


async def with_asyncio_timeout(stopped: list[str]) -> str:
    async with asyncio.timeout(DEADLINE):
        return await slow_to_stop(stopped)


async def answered_after(use_within: bool) -> tuple[float, list[str]]:
    """How long the request took to be answered TimeoutError, and what had stopped by then."""
    stopped: list[str] = []
    started = time.monotonic()
    work = (
        deadline.within(DEADLINE, slow_to_stop(stopped))
        if use_within
        else with_asyncio_timeout(stopped)
    )
    with pytest.raises(TimeoutError):
        await work
    return time.monotonic() - started, stopped


def test_within_answers_at_the_deadline_and_the_work_still_stops() -> None:
    async def scenario() -> tuple[float, list[str], int, list[str]]:
        took, stopped = await answered_after(use_within=True)
        at_answer = list(stopped)
        waiting = deadline.still_cancelling()
        await asyncio.sleep(STOPPING + 0.5)
        return took, at_answer, waiting, stopped

    took, at_answer, waiting, stopped = asyncio.run(scenario())
    assert took < DEADLINE + 0.3, f"answered {took:.2f} s after the start"
    assert at_answer == [], "the work was still stopping when answered"
    assert waiting == 1
    assert stopped == ["cancelled"], "the work was cancelled, and it ended"
    assert deadline.still_cancelling() == 0


def test_negative_control_asyncio_timeout_waits_for_the_work_to_stop() -> None:
    # the shape of the bug: the answer waits for the cancellation to finish
    took, stopped = asyncio.run(answered_after(use_within=False))
    assert took >= DEADLINE + STOPPING, f"answered after only {took:.2f} s"
    assert stopped == ["cancelled"]


def test_work_that_ends_in_time_gives_its_result_or_its_error() -> None:
    async def quick() -> str:
        return "result"

    async def failing() -> str:
        raise ValueError("refused")

    assert asyncio.run(deadline.within(1.0, quick())) == "result"
    with pytest.raises(ValueError, match="refused"):
        asyncio.run(deadline.within(1.0, failing()))
