"""The one bounded wait of the project: poll a check until it holds or explain why it did not.

Every timeout goes through `scaled()`, so a slow machine stretches them all with one factor:
KUBEPROMISES_TIME_FACTOR=2.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

TIME_FACTOR = float(os.environ.get("KUBEPROMISES_TIME_FACTOR", "1"))


def scaled(seconds: float) -> float:
    """A timeout stretched by KUBEPROMISES_TIME_FACTOR."""
    return seconds * TIME_FACTOR


class NotYet(Exception):
    """Raised by a check to say what it saw while the awaited state is not reached yet."""

    def __init__(self, observed: object) -> None:
        super().__init__(str(observed))
        self.observed = observed


def truthy(check: Callable[[], T | None]) -> Callable[[], T]:
    """A check that returns a falsy value while the state is not reached, as one that says
    NotYet: ``eventually(truthy(lambda: cached() == "hit"), ...)``."""

    def holds() -> T:
        result = check()
        if not result:
            raise NotYet(result)
        return result

    return holds


def eventually(
    check: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.5,
    what: str,
    hint: str = "",
    retry_on: tuple[type[Exception], ...] = (),
) -> T:
    """Call `check` until it returns; return its value.

    Only a designated "not yet" retries: `NotYet(observed)`, or an exception of a type in
    `retry_on` (a starting server's connection errors, say so by passing them). Anything else,
    an AssertionError included, fails at once: a duplicate is not retried into a timeout. After
    `scaled(timeout)` seconds an AssertionError names what was awaited, for how long, the last
    observation and a hint.
    """
    deadline = time.monotonic() + scaled(timeout)
    last: object = "nothing observed yet"
    attempts = 0
    while True:
        attempts += 1
        try:
            return check()
        except NotYet as not_yet:
            last = not_yet.observed
        except retry_on as error:  # designated by the caller as "not yet"
            last = f"{type(error).__name__}: {error}"
        except Exception as error:
            error.add_note(
                f"while waiting for: {what} (check {attempts}, after "
                f"{scaled(timeout) - (deadline - time.monotonic()):.1f} s; last observed "
                f"before: {last!r})"
            )
            raise
        if time.monotonic() >= deadline:
            message = (
                f"Timed out after {scaled(timeout):.1f} s ({attempts} checks) "
                f"waiting for: {what}\nLast observed: {last!r}"
            )
            if hint:
                message += f"\nHint: {hint}"
            raise AssertionError(message)
        time.sleep(interval)
