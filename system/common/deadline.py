"""A request answered by its deadline, even when the work it waits for cannot be stopped at once.

Cancelling a psycopg query is not prompt: when the task awaiting a query is cancelled, psycopg
asks the server to cancel it (over a new connection, up to 5 s) and then waits for the query to
end (up to 5 s more) before the cancellation goes on (psycopg 3.3, `AsyncConnection.wait`).
`asyncio.timeout` around database work can so answer up to 10 s after its deadline: with every
packet from order-service to order-db 3 s late, orders and order reads were answered by the
gateway's own 504 at its 10-s read timeout (5 Dec 2026), not by order-service's 503.

`within` runs the work as a task of its own and waits for it, shielded, until the deadline; then
it cancels the task and raises TimeoutError at once, while the task finishes its cancellation in
the background (at most CANCELLING_AT_MOST). An order cut short so stays pending, for a retry
with its key or the reconciler, as before; only the answer no longer waits for the clean-up.
"""

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any, TypeVar

from fastapi import HTTPException, status

log = logging.getLogger(__name__)

T = TypeVar("T")

#: The longest a cancelled database task takes to end: psycopg's cancel request (5 s), then its
#: wait for the query to end (5 s).
CANCELLING_AT_MOST = 10.0

#: Tasks cut short by their deadline, referenced until they end (the event loop holds tasks
#: weakly).
_cancelling: set[asyncio.Task[Any]] = set()


async def within(seconds: float, work: Coroutine[Any, Any, T]) -> T:
    """The result of `work`, or TimeoutError once `seconds` have passed: then the work is
    cancelled, and ends in the background."""
    task = asyncio.ensure_future(work)
    try:
        return await asyncio.wait_for(asyncio.shield(task), seconds)
    except BaseException:  # the deadline, or this request cancelled
        if not task.done():
            task.cancel()
            _cancelling.add(task)
            task.add_done_callback(_ended)
        raise


def read_not_in_time(database: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answer of a read of `database` cut short by its deadline."""
    return {503: {"description": f"{database} did not answer within the read deadline"}}


async def read_within(seconds: float, database: str, work: Coroutine[Any, Any, T]) -> T:
    """`work`, a read of `database`, answered 503 (Retry-After: 1) once `seconds` have passed:
    a database that hangs (alive, not answering) holds no request until its caller gives up."""
    return await _answered_within(seconds, f"{database} did not answer within {seconds:g} s", work)


#: What a write cut short by its deadline tells its caller.
WRITE_OUTCOME_UNKNOWN = "whether the write was done is unknown: send the same request again"


def write_not_in_time(database: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answer of an idempotent write to `database` cut short by its deadline."""
    return {
        503: {
            "description": f"{database} did not answer within the write deadline; "
            f"{WRITE_OUTCOME_UNKNOWN} (it is idempotent)"
        }
    }


async def write_within(seconds: float, database: str, work: Coroutine[Any, Any, T]) -> T:
    """`work`, an idempotent write to `database`, answered 503 (Retry-After: 1) once `seconds`
    have passed. The write may still be done (cancelling it races its commit), so the answer
    says the outcome is unknown; the same request again gives it."""
    detail = f"{database} did not answer within {seconds:g} s; {WRITE_OUTCOME_UNKNOWN}"
    return await _answered_within(seconds, detail, work)


async def _answered_within(seconds: float, detail: str, work: Coroutine[Any, Any, T]) -> T:
    try:
        return await within(seconds, work)
    except TimeoutError as exc:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, detail, headers={"Retry-After": "1"}
        ) from exc


def _ended(task: asyncio.Task[Any]) -> None:
    _cancelling.discard(task)
    if not task.cancelled() and task.exception() is not None:
        error = task.exception()
        log.info(
            "work cut short by its deadline ended with an error",
            extra={"error": f"{type(error).__name__}: {error}"},
        )


def still_cancelling() -> int:
    """How many tasks cut short by their deadline have not ended yet."""
    return len(_cancelling)
