"""The one bounded wait of the project: poll a check until it holds or explain why it did not.

Every timeout goes through `scaled()`, so a slow machine stretches them all with one factor:
DEMO_MICRO_TIME_FACTOR=2.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

TIME_FACTOR = float(os.environ.get("DEMO_MICRO_TIME_FACTOR", "1"))


def scaled(seconds: float) -> float:
    """A timeout stretched by DEMO_MICRO_TIME_FACTOR."""
    return seconds * TIME_FACTOR


class NotYet(Exception):
    """Raised by a check to say what it saw while the awaited state is not reached yet."""

    def __init__(self, observed: object) -> None:
        super().__init__(str(observed))
        self.observed = observed


def eventually(
    check: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.5,
    what: str,
    hint: str = "",
) -> T:
    """Call `check` until it returns without raising; return its value.

    A check signals "not yet" by raising `NotYet(observed)` or `AssertionError`. After
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
        except AssertionError as failed:
            last = str(failed) or repr(failed)
        if time.monotonic() >= deadline:
            message = (
                f"Timed out after {scaled(timeout):.1f} s ({attempts} checks) "
                f"waiting for: {what}\nLast observed: {last!r}"
            )
            if hint:
                message += f"\nHint: {hint}"
            raise AssertionError(message)
        time.sleep(interval)
