"""A small async face over boto3's SQS client for one queue.

boto3 is blocking, so calls run in worker threads; a long poll in a daemon thread of its own
(`_in_daemon_thread`). The queue is created on first use and
again whenever it vanished (an emulator restart loses its queues), so a producer or consumer
recovers from a queue outage by itself. CreateQueue is idempotent.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import boto3
from botocore.config import Config

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger(__name__)

#: botocore's limits on one call: connecting, and attempts in all (two retries inside boto;
#: callers retry on their own schedule after that). Written before as `max_attempts: 2`, meant as
#: one retry: botocore counts retries there, and a server that never answered got CreateQueue
#: three times, 5 s apart (suites/system, the test of the bound the relay's claim is made of).
CONNECT_TIMEOUT_SECONDS = 2.0
ATTEMPTS = 3
#: The longest wait before botocore's first retry, doubled for each further one ("standard" mode:
#: rand(0, 1) x 1 s x 2^(retry - 1) after a throttling error, x 0.05 s after any other).
RETRY_BACKOFF_SECONDS = 1.0


T = TypeVar("T")


async def _in_daemon_thread(call: Callable[[], T], name: str) -> T:
    """Await a blocking call run in a daemon thread of its own.

    For calls that wait long on purpose, such as a long poll. Cancelling the awaiting task does
    not end the call in either kind of thread, but asyncio.run waits for every thread of its
    default executor before it returns: a poll there kept a stopping service alive until the
    poll returned (up to 20 s; suites/system/test_a_long_poll_holds_up_no_shutdown.py). The
    process does not wait for a daemon thread; a poll it abandons returns its messages to the
    queue after their visibility timeout, as a poll whose task was cancelled always did."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: T | None, error: BaseException | None) -> None:
        if future.done():  # the awaiting task was cancelled meanwhile
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)  # type: ignore[arg-type]

    def run() -> None:
        try:
            result, error = call(), None
        except BaseException as exc:  # handed to the awaiting task, not lost in the thread
            result, error = None, exc
        # RuntimeError: the loop has closed, and nobody waits for this call any more.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(settle, result, error)

    threading.Thread(target=run, name=name, daemon=True).start()
    return await future


@dataclass(frozen=True)
class ReceivedMessage:
    body: str
    receipt_handle: str
    message_id: str
    receive_count: int
    attributes: dict[str, str]


class SqsQueue:
    def __init__(
        self,
        *,
        queue_name: str,
        endpoint_url: str | None,
        region: str,
        access_key_id: str | None,
        secret_access_key: str | None,
        read_timeout: float,
    ) -> None:
        self._name = queue_name
        self._client: SQSClient = boto3.client(
            "sqs",
            endpoint_url=endpoint_url or None,
            region_name=region,
            aws_access_key_id=access_key_id or None,
            aws_secret_access_key=secret_access_key or None,
            config=Config(
                connect_timeout=CONNECT_TIMEOUT_SECONDS,
                read_timeout=read_timeout,
                retries={"total_max_attempts": ATTEMPTS, "mode": "standard"},
                max_pool_connections=10,
            ),
        )
        self._read_timeout = read_timeout
        self._url: str | None = None

    @property
    def call_bound_seconds(self) -> float:
        """How long one call to SQS can take within botocore's limits: every attempt waiting
        out its connect and read timeouts, and the backoff between them. A call to a queue
        whose URL is not known yet (first use, or after a failure) is two: CreateQueue first.

        Not bounded by it: a DNS lookup of the endpoint's host that gets no answer (~40 s on the
        testbed while DNS was out; botocore's connect timeout starts after it), and a server
        that keeps answering within the read timeout but never finishes."""
        waits = ATTEMPTS * (CONNECT_TIMEOUT_SECONDS + self._read_timeout)
        backoff = sum(RETRY_BACKOFF_SECONDS * float(2**retry) for retry in range(ATTEMPTS - 1))
        return waits + backoff

    def _queue_url(self) -> str:
        if self._url is None:
            self._url = str(self._client.create_queue(QueueName=self._name)["QueueUrl"])
        return self._url

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self._client, method)(QueueUrl=self._queue_url(), **kwargs)
        except Exception:
            # Forget the URL so the next call re-creates the queue if it is gone.
            self._url = None
            raise

    async def ensure(self) -> str:
        """Create the queue if needed; raises while SQS is unreachable."""
        return await asyncio.to_thread(self._queue_url)

    async def send_batch(self, messages: list[tuple[str, str, dict[str, str]]]) -> None:
        """Send up to 10 (id, body, string attributes); raises unless every one was accepted."""
        entries = [
            {
                "Id": message_id,
                "MessageBody": body,
                "MessageAttributes": {
                    k: {"DataType": "String", "StringValue": v} for k, v in attrs.items() if v
                },
            }
            for message_id, body, attrs in messages
        ]
        result = await asyncio.to_thread(self._call, "send_message_batch", Entries=entries)
        failed = result.get("Failed") or []
        if failed:
            raise RuntimeError(f"SQS refused {len(failed)} message(s): {failed[0]}")

    async def receive(self, wait_seconds: int, max_messages: int = 10) -> list[ReceivedMessage]:
        """Long-poll for up to `wait_seconds`."""
        result = await _in_daemon_thread(
            lambda: self._call(
                "receive_message",
                MaxNumberOfMessages=max_messages,
                WaitTimeSeconds=wait_seconds,
                MessageSystemAttributeNames=["ApproximateReceiveCount"],
                MessageAttributeNames=["All"],
            ),
            name=f"sqs-receive-{self._name}",
        )
        return [
            ReceivedMessage(
                body=m["Body"],
                receipt_handle=m["ReceiptHandle"],
                message_id=m["MessageId"],
                receive_count=int(m.get("Attributes", {}).get("ApproximateReceiveCount", "1")),
                attributes={
                    name: value["StringValue"]
                    for name, value in m.get("MessageAttributes", {}).items()
                    if "StringValue" in value
                },
            )
            for m in result.get("Messages", [])
        ]

    async def delete(self, receipt_handles: list[str]) -> None:
        """Delete up to 10 received messages in one call; raises unless all were deleted."""
        if not receipt_handles:
            return
        entries = [{"Id": str(i), "ReceiptHandle": h} for i, h in enumerate(receipt_handles)]
        result = await asyncio.to_thread(self._call, "delete_message_batch", Entries=entries)
        failed = result.get("Failed") or []
        if failed:
            raise RuntimeError(f"SQS did not delete {len(failed)} message(s): {failed[0]}")

    async def retry_later(self, delays: list[tuple[str, int]]) -> None:
        """Make up to 10 received messages, (receipt handle, seconds), visible again after their
        seconds instead of the queue's visibility timeout; raises unless all were changed."""
        if not delays:
            return
        entries = [
            {"Id": str(i), "ReceiptHandle": handle, "VisibilityTimeout": seconds}
            for i, (handle, seconds) in enumerate(delays)
        ]
        result = await asyncio.to_thread(
            self._call, "change_message_visibility_batch", Entries=entries
        )
        failed = result.get("Failed") or []
        if failed:
            raise RuntimeError(f"SQS did not retime {len(failed)} message(s): {failed[0]}")

    async def depth(self) -> int:
        """Messages in the queue: waiting, plus received and not yet deleted (in flight)."""
        result = await asyncio.to_thread(
            self._call,
            "get_queue_attributes",
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )
        return sum(int(value) for value in result["Attributes"].values())

    async def ping(self) -> None:
        """Raise unless the queue exists (creating it if needed) and answers."""
        await asyncio.to_thread(self._call, "get_queue_attributes", AttributeNames=["QueueArn"])
