"""The one bounded wait of the project: poll a check until it holds or explain why it did not."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

#: Every timeout in the project is multiplied by this; raise it on slow machines.
TIMEOUT_FACTOR = float(os.environ.get("DEMO_MICRO_TIMEOUT_FACTOR", "1"))


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
    `timeout * TIMEOUT_FACTOR` seconds an AssertionError names what was awaited, for how long,
    the last observation and a hint.
    """
    deadline = time.monotonic() + timeout * TIMEOUT_FACTOR
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
                f"Timed out after {timeout * TIMEOUT_FACTOR:.0f} s ({attempts} checks) "
                f"waiting for: {what}\nLast observed: {last}"
            )
            if hint:
                message += f"\nHint: {hint}"
            raise AssertionError(message)
        time.sleep(interval)
