"""The suites' form of the project's one wait (kubepromises.waiting.eventually): a check returns a
truthy value when the awaited state is reached; a falsy value or NotYet means "not yet", and so
do the exception types the caller passes as `retry_on` (a server still starting refuses
connections). Anything else, an AssertionError included, fails at once."""

from collections.abc import Callable
from typing import TypeVar

from kubepromises.waiting import NotYet, scaled, truthy
from kubepromises.waiting import eventually as _eventually

T = TypeVar("T")

__all__ = ["NotYet", "eventually", "scaled"]


def eventually(
    check: Callable[[], T | None],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str,
    hint: str = "",
    retry_on: tuple[type[Exception], ...] = (),
) -> T:
    """Call `check` until it returns a truthy value, which is returned."""
    return _eventually(
        truthy(check), timeout=timeout, interval=interval, what=what, hint=hint, retry_on=retry_on
    )
