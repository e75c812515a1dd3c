"""Pure ASGI middleware: request ids with an access log line, a concurrency cap, and limits on
request bodies (size and time)."""

import asyncio
import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from system.common.request_context import REQUEST_ID_HEADER, request_id_var

access_log = logging.getLogger("access")

# Accept a caller's id only if it is short and printable, so it is safe in logs and headers.
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{1,128}$")
_HEADER_NAME = REQUEST_ID_HEADER.lower().encode()


def _incoming_request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == _HEADER_NAME:
            candidate = bytes(value).decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


class RequestIdMiddleware:
    """Reads or creates X-Request-ID, binds it for logs, echoes it and logs one access line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_request_id(scope)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                status = message["status"]
                response_started = True
                headers = list(message.get("headers", []))
                headers.append((_HEADER_NAME, request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:
            # Handled here rather than in Starlette's outermost ServerErrorMiddleware so the
            # 500 still carries the request id and the JSON error shape.
            access_log.error("unhandled error", exc_info=exc)
            if not response_started:
                await send_json_error(send_with_id, 500, f"internal error: {type(exc).__name__}")
        finally:
            path = scope.get("path", "")
            if path not in ("/healthz", "/readyz"):
                access_log.info(
                    "%s %s %s",
                    scope.get("method"),
                    path,
                    status,
                    extra={
                        "http_method": scope.get("method"),
                        "path": path,
                        "status": status,
                        "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    },
                )
            request_id_var.reset(token)


#: Never refused by the concurrency cap: the kubelet's probes and the preStop hook's drain must
#: keep working while a pod is busy (a busy pod is neither dead nor unready).
UNCAPPED_PATHS = frozenset({"/healthz", "/readyz", "/drainz"})
CAP_RETRY_AFTER_SECONDS = 1


class ConcurrencyCapMiddleware:
    """Answers 503 with Retry-After at once when `limit` requests are already in flight.

    Counted from when a request reaches this middleware until the app returns; the refused
    request's body is never read.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit
        self.in_flight = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in UNCAPPED_PATHS:
            await self.app(scope, receive, send)
            return
        if self.in_flight >= self.limit:
            detail = f"at the limit of {self.limit} concurrent requests; retry later"
            retry_after = str(CAP_RETRY_AFTER_SECONDS).encode()
            await send_json_error(send, 503, detail, extra_headers=[(b"retry-after", retry_after)])
            return
        self.in_flight += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.in_flight -= 1


#: After the body's deadline, how long what has already arrived gets to be read (a stopped
#: process wakes past its deadline with the body in its socket: the local campaign of seed
#: 599876, 6 Dec 2026, a gateway paused for 10 s). A client dribbling its body gets this too.
LATE_READ_SECONDS = 0.5


class RequestBodyLimitsMiddleware:
    """Reads each request body in full before the route runs, bounded in size and in time.

    Over `max_bytes`: 413 (the body is buffered, so chunked uploads without a Content-Length
    are limited too; the services only take small JSON bodies). Not complete `read_seconds`
    after the headers: 408, for the whole body rather than per chunk, so that a client
    dribbling a byte at a time cannot hold a request for ever. Both close the connection.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, read_seconds: float) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.read_seconds = read_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_bytes:
            await self._too_large(send, declared)
            return
        reading = _Body(self.max_bytes)
        try:
            try:
                async with asyncio.timeout(self.read_seconds):
                    body = await reading.read(receive)
            except TimeoutError:
                # The deadline runs on this process's clock: a process that was stopped (paused,
                # starved of CPU) while the body arrived finds it passed when it runs again, the
                # body waiting in its socket. What has arrived is read before a 408.
                async with asyncio.timeout(LATE_READ_SECONDS):
                    body = await reading.read(receive)
        except TimeoutError:
            detail = f"request body not received in full within {self.read_seconds:g} s"
            await send_json_error(send, 408, detail, close=True)
            return
        except _TooLarge as exc:
            await self._too_large(send, exc.size)
            return
        if body is None:
            return  # the client went away
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, size: int) -> None:
        detail = f"request body too large: {size} bytes or more, limit is {self.max_bytes}"
        await send_json_error(send, 413, detail, close=True)


class _Body:
    """A request body read in chunks, kept across a cancelled read (the server's `receive`
    loses nothing when its wait is cancelled)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.chunks: list[bytes] = []
        self.size = 0

    async def read(self, receive: Receive) -> bytes | None:
        """The whole body, or None if the client disconnected."""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            self.size += len(chunk)
            if self.size > self.max_bytes:
                raise _TooLarge(self.size)
            self.chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(self.chunks)


class _TooLarge(Exception):
    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


async def send_json_error(
    send: Send,
    status: int,
    detail: str,
    close: bool = False,
    extra_headers: list[tuple[bytes, bytes]] | None = None,
) -> None:
    """Send the services' JSON error body straight over ASGI (for middleware)."""
    payload = json.dumps(
        {"detail": detail, "status": status, "request_id": request_id_var.get()}
    ).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(payload)).encode()),
    ]
    if close:
        # The rest of the body is never read; the connection cannot be reused.
        headers.append((b"connection", b"close"))
    headers += extra_headers or []
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
