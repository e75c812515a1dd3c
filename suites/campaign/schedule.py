"""The campaign's clock: every time in a history is seconds since the campaign started.

The only waits of the campaign that are not `eventually` are here, and they are the schedule
itself: a fault's planned moment and its down time, the pace of the operations, and the dwell
before notifications are counted a second time.
"""

import asyncio
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Clock:
    """Monotonic seconds since `origin` (the campaign's start)."""

    origin: float = field(default_factory=time.monotonic)

    def now(self) -> float:
        return time.monotonic() - self.origin

    def hold_until(self, moment: float) -> None:
        """Block until the schedule's `moment` (no-op if it has passed)."""
        remaining = moment - self.now()
        if remaining > 0:
            time.sleep(remaining)

    async def reach(self, moment: float) -> None:
        """The same, for the operations' event loop."""
        remaining = moment - self.now()
        if remaining > 0:
            await asyncio.sleep(remaining)
