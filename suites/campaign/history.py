"""The history of a campaign: every operation as invoked and as it completed, and every fault
window, with times in seconds since the campaign started (`schedule.Clock`).

An operation's outcome is
- `ok`: the gateway answered below 500 (201, 404, 409, 422, ...);
- `failed`: it answered 5xx, or the request never reached it (connection refused);
- `unknown`: the request was sent and no answer came (client timeout, connection dropped):
  it may or may not have taken effect, and the checker wants it resolved by its key.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Outcome = Literal["ok", "failed", "unknown"]

#: What the generator expects of an operation; the checker holds the answer to it.
#: accept: a valid order (201); conflict: the same key with another body (409, or 201 when
#: the first body was never claimed); refuse: invalid input (4xx, never 201); refuse_or_reject:
#: valid in shape but more of one SKU than a reservation can hold (422, or 201 rejected);
#: read: a read (200, or 404 for what does not exist); resolve: the campaign's own re-POST of
#: an uncertain order with its key after the faults.
#: Operations are begun from the clients' event loop and the resolver's threads.
_BEGIN = threading.Lock()

Expect = Literal["accept", "conflict", "refuse", "refuse_or_reject", "read", "resolve"]


@dataclass(frozen=True)
class Answer:
    status: int
    #: The parsed JSON body, or the text when it is not JSON.
    body: Any
    is_json: bool
    headers: dict[str, str]


@dataclass
class Operation:
    index: int
    kind: str  # place, bad_request, get_order, list_orders, list_products, get_product, resolve
    expect: Expect
    method: str
    path: str
    headers: dict[str, str]
    body: Any
    invoked: float
    #: The Idempotency-Key sent, if any.
    key: str | None = None
    #: The order's tag (unique per generated body; it is in customer_email), if any.
    tag: str | None = None
    skus: tuple[str, ...] = ()
    #: Operations sent at once (concurrent retries of one key) share a group.
    group: int | None = None
    #: For a `resolve` operation: the operation whose outcome it settles.
    resolves: int | None = None
    #: The generator's name for the body's shape.
    shape: str = ""
    completed: float | None = None
    outcome: Outcome | None = None
    answer: Answer | None = None
    error: str | None = None
    #: The X-Request-ID sent (`request_id`): the services log every line of the request
    #: under it, so the operation can be traced through their logs (`traces.py`).
    request_id: str = ""

    @property
    def status(self) -> int | None:
        return self.answer.status if self.answer else None

    @property
    def order_id(self) -> str | None:
        """The order id in a 2xx answer's body, if there is one."""
        if self.answer and self.answer.is_json and 200 <= self.answer.status < 300:
            found = self.answer.body.get("id") if isinstance(self.answer.body, dict) else None
            return found if isinstance(found, str) else None
        return None

    @property
    def order_status(self) -> str | None:
        if self.order_id and isinstance(self.answer, Answer):
            status = self.answer.body.get("status")
            return status if isinstance(status, str) else None
        return None

    def line(self) -> str:
        """One line of a printed history."""
        done = f"{self.completed:7.2f}" if self.completed is not None else "   ... "
        what = f"{self.method} {self.path}"
        if self.shape:
            what += f" [{self.shape}]"
        if self.key:
            what += f" key={self.key}"
        if self.tag:
            what += f" tag={self.tag}"
        if self.group is not None:
            what += f" group={self.group}"
        if self.resolves is not None:
            what += f" resolves=#{self.resolves}"
        if self.answer:
            got = f"{self.answer.status} {_short(self.answer.body)}"
        else:
            got = f"{self.outcome}: {self.error}"
        return f"{self.invoked:7.2f}-{done} #{self.index} {self.kind}/{self.expect} {what} -> {got}"


@dataclass(frozen=True)
class FaultWindow:
    #: kill (SIGKILL to the process group) | term (the process's stop signal) | pause
    #: (SIGSTOP to the process group, SIGCONT after the down time) | sever (the server ended
    #: its clients' connections) | crash (a PostgreSQL server process SIGKILLed, on the
    #: testbed) | partition, delay, reset (of a link, `links.py`)
    kind: str
    #: A process, or a link (`client→server`).
    target: str
    #: The signal sent; for `sever`, how the connections were ended; for a link, what it did.
    signal: str
    #: When the signal was sent, when the process had stopped serving (exited; for a pause at
    #: once), when it answered again.
    start: float
    stopped: float
    end: float
    note: str = ""
    #: A pause: when SIGCONT was sent.
    resumed: float | None = None
    #: A sever or a reset: how many connections it ended.
    ended: int = 0

    def line(self) -> str:
        note = f" ({self.note})" if self.note else ""
        if self.kind in ("sever", "partition", "delay", "reset"):
            how = self.signal
        elif self.resumed is not None:
            how = f"{self.signal}, SIGCONT at {self.resumed:.2f}"
        else:
            how = f"{self.signal}, exited at {self.stopped:.2f}"
        return f"{self.start:7.2f}-{self.end:7.2f} FAULT {self.kind} {self.target} ({how}){note}"


@dataclass
class History:
    seed: int
    operations: list[Operation] = field(default_factory=list)
    faults: list[FaultWindow] = field(default_factory=list)
    #: The campaign's products: SKU -> stock it started with.
    initial_stock: dict[str, int] = field(default_factory=dict)
    #: Faults that went wrong, e.g. a process that did not come back.
    nemesis_errors: list[str] = field(default_factory=list)
    #: The gateway's OpenAPI document the bad requests were derived from.
    openapi: dict[str, Any] = field(default_factory=dict)

    def begin(self, **fields: Any) -> Operation:
        """A new operation, invoked now (the caller gives `invoked`)."""
        with _BEGIN:
            index = len(self.operations)
            operation = Operation(index=index, request_id=request_id(self.seed, index), **fields)
            self.operations.append(operation)
            return operation

    @property
    def placements(self) -> list[Operation]:
        return [op for op in self.operations if op.kind in ("place", "resolve")]

    def to_json(self) -> str:
        return json.dumps(asdict(self), default=str, ensure_ascii=True)


def request_id(seed: int, index: int) -> str:
    """The X-Request-ID of a campaign's operation: unique across campaigns that share a log
    store (the seed), and not a key or a tag (the checker's evidence names those)."""
    return f"campaign-{seed}-op{index}"


def _short(body: Any, limit: int = 160) -> str:
    text = json.dumps(body, ensure_ascii=True, default=str)
    return text if len(text) <= limit else text[: limit - 3] + "..."
