"""Start-up work that is tried again, with a growing pause, until it succeeds."""

import asyncio
import logging
from collections.abc import Awaitable, Callable

log = logging.getLogger(__name__)


async def until_done(
    attempt: Callable[[], Awaitable[None]],
    what: str,
    *,
    first_pause: float,
    max_pause: float,
    on_failure: Callable[[Exception], None] = lambda exc: None,
) -> None:
    """Await `attempt` until it returns, pausing after each failure: `first_pause`, doubled
    each time up to `max_pause`. Every exception is a reason to try again (mostly a database
    that does not answer yet); each is logged with `what` and passed to `on_failure`."""
    pause = first_pause
    while True:
        try:
            await attempt()
            return
        except Exception as exc:
            on_failure(exc)
            log.warning(
                f"{what} failed, will retry",
                extra={"error": f"{type(exc).__name__}: {exc}", "retry_in_s": pause},
            )
            await asyncio.sleep(pause)
            pause = min(pause * 2, max_pause)
