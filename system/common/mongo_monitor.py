"""Whether a MongoDB client still watches its server: its monitor reports a heartbeat (started,
succeeded or failed) every few seconds for as long as it runs, whether the server answers or not.

A monitor that has reported nothing for long is stuck, and so is the client: it never learns that
its server is back. Seen on 6 Dec 2026 (`tox -e external`): a notification-service replica whose
first connection was refused (notification-db not up yet) still saw that refusal 7 minutes later,
its start-up's retries had stopped (an await that never ended), while a second client in the same
pod connected at once. Unready but alive, it was never restarted. The cause inside the driver is
not proven (docs/services.md, "A stuck MongoDB client"); this is how the service notices it:
/healthz fails and the kubelet restarts the container.
"""

import time
from collections.abc import Callable

from pymongo import monitoring


class HeartbeatWatch(monitoring.ServerHeartbeatListener):
    """Listens to a client's monitor; `silence` says when it has been quiet too long."""

    def __init__(self, limit_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit_seconds = limit_seconds
        self._clock = clock
        # From the client's creation: a monitor that never starts is as stuck as one that stops.
        self._last = clock()

    def _heard(self) -> None:
        self._last = self._clock()

    def started(self, event: monitoring.ServerHeartbeatStartedEvent) -> None:
        self._heard()

    def succeeded(self, event: monitoring.ServerHeartbeatSucceededEvent) -> None:
        self._heard()

    def failed(self, event: monitoring.ServerHeartbeatFailedEvent) -> None:
        self._heard()

    def silence(self) -> str | None:
        """Why the client is stuck, or None while its monitor reports."""
        quiet = self._clock() - self._last
        if quiet <= self.limit_seconds:
            return None
        return (
            f"the MongoDB client's monitor has reported no heartbeat for {quiet:.0f} s "
            f"(at most {self.limit_seconds:g} s): the client is stuck"
        )
