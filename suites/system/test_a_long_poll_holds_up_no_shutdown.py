"""Promise: notification-service stops at once on SIGTERM, even while its consumer long-polls SQS.

The consumer waits for messages in a blocking boto3 call of up to SQS_WAIT_SECONDS (at most 20).
Cancelling the task that awaits such a call does not end the call, and asyncio.run waits for
every thread of its default executor before the process exits: a poll run there kept every
stopping notification-service pod alive until the poll returned. On the testbed that made its
rollouts, scalings and pod kills 10-40 s slower than the other services' (3 Dec 2026).
"""

import asyncio
import signal
import time
from collections.abc import Callable, Coroutine
from typing import Any

from suites.system.stack import Stack
from suites.waiting import scaled
from system.common.sigterm import EXIT_CODE
from system.common.sqs import SqsQueue

#: Longer than any prompt stop could take: a poll left to run makes the stop last about this long.
LONG_POLL_SECONDS = 8
#: A queue of these tests' own: a poll they abandon takes the messages it receives out of sight
#: for the visibility timeout, which would delay the shared queue's notifications in later tests.
QUEUE = "long-poll-probe"
#: A stop that waits for nothing: uvicorn's shutdown with no request in flight, and the exit.
PROMPT_STOP_SECONDS = 3.0


def seconds_to_end(poll: Callable[[], Coroutine[Any, Any, object]]) -> float:
    """How long an event loop takes to end once the task running `poll()` is cancelled, as a
    stopping service's would: from the cancel to asyncio.run's return."""

    async def cancelled_while_polling() -> float:
        task = asyncio.create_task(poll())
        await asyncio.sleep(0.5)  # the poll is under way
        task.cancel()
        return time.monotonic()

    cancelled_at = asyncio.run(cancelled_while_polling())
    return time.monotonic() - cancelled_at


def test_a_cancelled_long_poll_holds_up_no_event_loop(stack: Stack) -> None:
    # arrange: the service's own queue client against the real SQS stand-in
    queue = SqsQueue(
        queue_name=QUEUE,
        endpoint_url=stack.infra.sqs_url,
        region="us-east-1",
        access_key_id="test",
        secret_access_key="test",
        read_timeout=LONG_POLL_SECONDS + 5,
    )

    # act
    seconds = seconds_to_end(lambda: queue.receive(LONG_POLL_SECONDS))

    # assert
    assert seconds < PROMPT_STOP_SECONDS, f"the loop ended {seconds:.1f} s after the cancel"


def test_negative_control_a_poll_in_the_default_executor_is_caught(stack: Stack) -> None:
    # arrange: the same receive as a plain blocking call in asyncio's default executor
    client = stack.infra.sqs_client()
    url = client.create_queue(QueueName=QUEUE)["QueueUrl"]

    # act
    seconds = seconds_to_end(
        lambda: asyncio.to_thread(
            client.receive_message, QueueUrl=url, WaitTimeSeconds=LONG_POLL_SECONDS
        )
    )

    # assert: the check notices the loop waiting for the poll
    assert seconds >= PROMPT_STOP_SECONDS, f"the loop ended {seconds:.1f} s after the cancel"


def test_sigterm_stops_notification_service_while_its_consumer_long_polls(stack: Stack) -> None:
    # arrange: an instance of its own whose consumer waits long for messages (none come)
    service = stack.start_extra(
        "notification_service",
        stack.notifications,
        {"SQS_WAIT_SECONDS": str(LONG_POLL_SECONDS), "SQS_QUEUE_NAME": QUEUE},
    )
    time.sleep(1.0)  # a dwell: the consumer's first poll is under way
    assert service.process.proc is not None

    # act
    signalled_at = time.monotonic()
    service.process.signal(signal.SIGTERM)
    exit_code = service.process.proc.wait(timeout=scaled(LONG_POLL_SECONDS + 20))
    seconds = time.monotonic() - signalled_at

    # assert: it ended by itself, promptly, through uvicorn's graceful shutdown
    assert exit_code == EXIT_CODE, (exit_code, service.process.log_tail(10))
    assert seconds < PROMPT_STOP_SECONDS, f"stopped {seconds:.1f} s after SIGTERM"
    assert "Application shutdown complete" in service.process.log_tail(10)
