"""The fast suite's form of the project's one wait (testbed.waiting): a check that returns a
truthy value when the awaited state is reached, and whose errors (a server still starting)
count as "not yet"."""

from collections.abc import Callable
from typing import TypeVar

from testbed.waiting import NotYet, scaled
from testbed.waiting import eventually as _eventually

T = TypeVar("T")

__all__ = ["eventually", "scaled"]


def eventually(
    check: Callable[[], T],
    *,
    timeout: float,
    interval: float = 0.1,
    what: str,
    hint: str = "",
) -> T:
    """Call `check` until it returns a truthy value, which is returned."""

    def truthy() -> T:
        try:
            result = check()
        except Exception as exc:  # any error (a server still starting) is an observation
            raise NotYet(f"{type(exc).__name__}: {exc}") from exc
        if not result:
            raise NotYet(result)
        return result

    return _eventually(truthy, timeout=timeout, interval=interval, what=what, hint=hint)
