"""Background relay from the outbox table to SQS.

At-least-once: a row is marked sent only after SQS accepted it, so an SQS outage delays
events but loses none; a crash between send and mark re-sends, which the consumer absorbs.
"""

import asyncio
import contextlib
import json
import logging

from system.common.sqs import SqsQueue
from system.order_service.store import OrderStore, OutboxEvent

log = logging.getLogger(__name__)

BATCH_SIZE = 10  # SQS's SendMessageBatch limit


class OutboxRelay:
    def __init__(
        self, store: OrderStore, queue: SqsQueue, poll_seconds: float, max_backoff: float
    ) -> None:
        self._store = store
        self._queue = queue
        self._poll_seconds = poll_seconds
        self._max_backoff = max_backoff
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Ask the relay to look at the outbox now (a new event was committed)."""
        self._wake.set()

    async def _publish(self, events: list[OutboxEvent]) -> None:
        await self._queue.send_batch(
            [(str(e.id), json.dumps(e.payload), {"request_id": e.request_id or ""}) for e in events]
        )

    async def run(self) -> None:
        """Relay until cancelled."""
        backoff = self._poll_seconds
        while True:
            # Cleared before looking, so a wake-up during the look is not lost.
            self._wake.clear()
            try:
                sent = await self._store.relay_outbox(self._publish, BATCH_SIZE)
            except Exception as exc:
                log.warning(
                    "outbox relay failed, will retry",
                    extra={"error": f"{type(exc).__name__}: {exc}", "retry_in_s": backoff},
                )
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self._max_backoff)
                continue
            backoff = self._poll_seconds
            if sent:
                log.info("relayed outbox events", extra={"count": sent})
                if sent == BATCH_SIZE:
                    continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll_seconds)
