"""Background relay from the outbox table to SQS.

At-least-once: a row is marked sent only after SQS accepted it, so an SQS outage delays
events but loses none; a crash between send and mark re-sends, which the consumer absorbs.

The relay claims a batch for a while (`OrderStore.relay_outbox`) and calls SQS with no
transaction open. The claim outlasts the SQS client's own bound on a send, so under normal
conditions no other replica takes an event that is still being published; past it (a DNS lookup
that gets no answer, which botocore does not bound) another replica may send it again, which
notification-service absorbs (one notification per order).
"""

import asyncio
import contextlib
import json
import logging

from system.common.sqs import SqsQueue
from system.order_service.store import OrderStore, OutboxEvent

log = logging.getLogger(__name__)

BATCH_SIZE = 10  # SQS's SendMessageBatch limit
#: Calls to SQS in one publish at most: CreateQueue when the queue's URL is not known (first
#: use, or forgotten after a failure), then SendMessageBatch.
CALLS_PER_PUBLISH = 2
#: Added to the SQS bound: the claim's and the mark's database round trips, and a wait for a
#: worker thread (the SQS client is blocking; asyncio.to_thread shares a few threads).
CLAIM_MARGIN_SECONDS = 10.0


def claim_seconds(queue: SqsQueue) -> float:
    """How long the relay claims a batch: its publish's bound and a margin. 58 s with
    order-service's SQS client: two calls of 3 attempts of 2 s connect and 5 s read with up to
    1 s and 2 s backoff between them (24 s each), and 10 s."""
    return CALLS_PER_PUBLISH * queue.call_bound_seconds + CLAIM_MARGIN_SECONDS


class OutboxRelay:
    def __init__(
        self,
        store: OrderStore,
        queue: SqsQueue,
        poll_seconds: float,
        max_backoff: float,
        claim_for: float | None = None,
    ) -> None:
        """`claim_for`: seconds a batch stays claimed; None: claim_seconds(queue)."""
        self._store = store
        self._queue = queue
        self._poll_seconds = poll_seconds
        self._max_backoff = max_backoff
        self.claim_seconds = claim_seconds(queue) if claim_for is None else claim_for
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
                sent = await self._store.relay_outbox(self._publish, BATCH_SIZE, self.claim_seconds)
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
