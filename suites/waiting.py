"""The one wait helper of the suites: poll a check until it holds, or fail saying why.

Every timeout in the suites goes through `scaled()`, so a slow machine can stretch them all
with one factor: DEMO_MICRO_TIME_FACTOR=2 pytest ...
"""

import os
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

TIME_FACTOR = float(os.environ.get("DEMO_MICRO_TIME_FACTOR", "1"))


def scaled(seconds: float) -> float:
    """A timeout stretched by DEMO_MICRO_TIME_FACTOR."""
    return seconds * TIME_FACTOR


def eventually(
    check: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str,
    hint: str = "",
) -> T:
    """Call `check` until it returns a truthy value (returned) without raising.

    On timeout, raises AssertionError naming what was awaited, the deadline, the last value
    or exception seen, and a hint.
    """
    deadline = time.monotonic() + scaled(timeout)
    last: object = "<never ran>"
    attempts = 0
    while True:
        attempts += 1
        try:
            result = check()
            if result:
                return result
            last = result
        except Exception as exc:
            last = f"{type(exc).__name__}: {exc}"
        if time.monotonic() >= deadline:
            message = (
                f"timed out after {scaled(timeout):.1f}s ({attempts} attempts) waiting for: "
                f"{what}\n  last seen: {last!r}"
            )
            if hint:
                message += f"\n  hint: {hint}"
            raise AssertionError(message)
        time.sleep(interval)
