"""Promise: the outbox relay sends every event at least once, and once while its claim holds.

The relay claims a batch (`claimed_until`) in a short transaction, publishes it with no
transaction open, then marks it sent; a publish that raises releases the claim. A claim outlasts
the SQS client's bound on a publish, so replicas relaying at once send each event once; a claim
left by a relay that died mid-publish lapses, and another relay sends those events again (the
consumer keeps one notification per order). Here the relays run over a database of their own,
SQS a publish stand-in. The negative control's claims lapse at once: two relays then send events
twice, so the once-check can fail.
"""

import asyncio
import time

import pytest
from botocore.exceptions import ReadTimeoutError

from suites.system.relaying import (
    BlockedPublish,
    FailingPublish,
    OrdersDatabase,
    RecordingPublish,
    relay_pool,
)
from system.common import sqs
from system.common.sqs import SqsQueue
from system.order_service import relay
from system.order_service.relay import BATCH_SIZE, claim_seconds
from system.order_service.store import OrderStore

#: A claim that holds for the whole test.
HOLDING = 60.0
#: A claim short enough to watch it lapse.
SHORT = 1.0
#: How long one batch takes to publish in the tests with relays at once: they overlap.
PUBLISH_SECONDS = 0.05


async def _relay_until_empty(store: OrderStore, publish: RecordingPublish, claim: float) -> int:
    """Relay rounds until one finds nothing to send; the events sent."""
    sent = 0
    while batch := await store.relay_outbox(publish, BATCH_SIZE, claim):
        sent += batch
    return sent


def test_events_whose_publish_failed_stay_unsent_and_go_out_on_the_next_round(
    orders_database: OrdersDatabase,
) -> None:
    events = orders_database.add_events(3)

    async def run() -> tuple[list[int], list[int], list[int]]:
        async with relay_pool(orders_database) as pool:
            store = OrderStore(pool)
            # act: a round whose publish raises, then a round that succeeds
            with pytest.raises(RuntimeError):  # the relay logs it and backs off
                await store.relay_outbox(FailingPublish(), BATCH_SIZE, HOLDING)
            after_failure = (orders_database.unsent(), orders_database.claimed())
            publish = RecordingPublish()
            await store.relay_outbox(publish, BATCH_SIZE, HOLDING)
            return *after_failure, publish.published

    unsent, claimed, published = asyncio.run(run())

    # assert: unsent and unclaimed after the failure (no wait for the claim), then sent
    assert (unsent, claimed) == (events, [])
    assert published == events
    assert orders_database.unsent() == []


def test_two_relays_at_once_publish_each_event_once(orders_database: OrdersDatabase) -> None:
    # arrange: more events than two batches, and two replicas' relays (a pool each)
    events = orders_database.add_events(5 * BATCH_SIZE)

    async def run() -> tuple[list[int], list[int]]:
        publishes = [RecordingPublish(PUBLISH_SECONDS), RecordingPublish(PUBLISH_SECONDS)]
        async with relay_pool(orders_database) as one, relay_pool(orders_database) as other:
            # act
            await asyncio.gather(
                _relay_until_empty(OrderStore(one), publishes[0], HOLDING),
                _relay_until_empty(OrderStore(other), publishes[1], HOLDING),
            )
        return publishes[0].published, publishes[1].published

    first, second = asyncio.run(run())

    # assert: both relays worked, and every event went out once
    assert first, "the other relay sent everything: they did not run at once"
    assert second, "the one relay sent everything: they did not run at once"
    assert sorted(first + second) == events
    assert orders_database.unsent() == []


def _a_second_relay_while_the_first_publishes(
    database: OrdersDatabase, claim: float
) -> tuple[list[int], list[int]]:
    """Two relays claiming for `claim` s: the second runs a round while the first is in its
    publish; then the first finishes. What each published."""

    async def run() -> tuple[list[int], list[int]]:
        async with relay_pool(database) as one, relay_pool(database) as other:
            first = BlockedPublish()
            relaying = asyncio.create_task(OrderStore(one).relay_outbox(first, BATCH_SIZE, claim))
            try:
                await asyncio.wait_for(first.started.wait(), 10)
                second = RecordingPublish()
                await OrderStore(other).relay_outbox(second, BATCH_SIZE, claim)
            finally:
                first.release.set()
            await asyncio.wait_for(relaying, 10)
        return first.published, second.published

    return asyncio.run(run())


def test_a_relay_takes_none_of_the_events_another_is_publishing(
    orders_database: OrdersDatabase,
) -> None:
    events = orders_database.add_events(3)

    # act
    first, second = _a_second_relay_while_the_first_publishes(orders_database, HOLDING)

    # assert: the first sent them, the second none
    assert (first, second) == (events, [])


def test_negative_control_claims_that_lapse_at_once_let_a_second_relay_send_them_again(
    orders_database: OrdersDatabase,
) -> None:
    events = orders_database.add_events(3)

    # act: the same, with claims of 0 s (lapsed as soon as they are made)
    first, second = _a_second_relay_while_the_first_publishes(orders_database, 0.0)

    # assert: both sent them
    assert (first, second) == (events, events)


def test_an_event_whose_relay_died_mid_publish_goes_out_again_once_its_claim_lapsed(
    orders_database: OrdersDatabase,
) -> None:
    events = orders_database.add_events(3)

    async def run() -> tuple[list[int], list[int], float]:
        async with relay_pool(orders_database) as one, relay_pool(orders_database) as other:
            # arrange: a relay claims the events and dies (is cancelled) in its publish
            stuck = BlockedPublish()
            dying = asyncio.create_task(OrderStore(one).relay_outbox(stuck, BATCH_SIZE, SHORT))
            await asyncio.wait_for(stuck.started.wait(), 10)
            claimed_at = time.monotonic()
            dying.cancel()
            # act: another relay's rounds, at the relay's poll, until it sends something
            survivor = OrderStore(other)
            publish = RecordingPublish()
            while_claimed = await survivor.relay_outbox(publish, BATCH_SIZE, HOLDING)
            deadline = claimed_at + SHORT + 10
            while not publish.published and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
                await survivor.relay_outbox(publish, BATCH_SIZE, HOLDING)
            return [while_claimed], publish.published, time.monotonic() - claimed_at

    while_claimed, published, after = asyncio.run(run())

    # assert: nothing taken while the claim held; all of them once it lapsed
    assert while_claimed == [0]
    assert published == events, f"published {published} within {after:.1f} s of the claim"
    # Not at once: the claim lapsed SHORT s after it was made (a few ms before `claimed_at`,
    # which is taken once the publish began).
    assert after > SHORT / 2, after
    assert orders_database.unsent() == []


def test_an_event_the_delivery_check_put_back_goes_out_again_at_once(
    orders_database: OrdersDatabase,
) -> None:
    events = orders_database.add_events(2)

    async def run() -> list[int]:
        async with relay_pool(orders_database) as pool:
            store = OrderStore(pool)
            await store.relay_outbox(RecordingPublish(), BATCH_SIZE, HOLDING)
            # act: the delivery check finds the first lost, the second delivered
            await store.settle(delivered=[events[1]], lost=[events[0]])
            again = RecordingPublish()
            await store.relay_outbox(again, BATCH_SIZE, HOLDING)
            return again.published

    # assert: the lost one is sent again by the next round, not after a claim
    assert asyncio.run(run()) == [events[0]]


def test_one_sqs_call_ends_within_the_bound_the_claim_is_made_of(silent_sqs: str) -> None:
    # arrange: order-service's SQS client, pointed at a server that never answers; its read
    # timeout shortened (the bound is computed from it) to keep the test short
    read_timeout = 1.0
    queue = SqsQueue(
        queue_name="order-events",
        endpoint_url=silent_sqs,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
        read_timeout=read_timeout,
    )

    # act: one call (CreateQueue, the first of a publish), with botocore's attempts
    started = time.monotonic()
    with pytest.raises(ReadTimeoutError):
        asyncio.run(queue.ensure())
    took = time.monotonic() - started

    # assert: every attempt waited out its read timeout, and the call ended within the bound (so
    # a publish of two calls ends within the claim)
    assert sqs.ATTEMPTS * read_timeout <= took <= queue.call_bound_seconds, took
    assert claim_seconds(queue) > relay.CALLS_PER_PUBLISH * queue.call_bound_seconds
