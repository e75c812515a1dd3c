"""storefront: the shop's front door.

`/` asks checkout and says what it answered; `/readyz` is 200 only while checkout answers its
`/healthz` and the cart cache accepts a connection (503 otherwise, naming what does not);
`/healthz` is 200 while the process serves. Standard library only; its settings come from the
environment (the ConfigMap storefront-config).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NoReturn

PORT = int(os.environ.get("PORT", "8000"))
CHECKOUT_URL = os.environ.get("CHECKOUT_URL", "http://checkout:8001")
CACHE_HOST = os.environ.get("CACHE_HOST", "cart-cache")
CACHE_PORT = int(os.environ.get("CACHE_PORT", "6379"))
#: Each call to a callee gives up after this long: a probe's own timeout is 2 s.
CALL_TIMEOUT_SECONDS = 1.0


def checkout(path: str) -> Any:
    """GET a path of checkout: its JSON body (HTTPError for a status other than 2xx)."""
    with urllib.request.urlopen(f"{CHECKOUT_URL}{path}", timeout=CALL_TIMEOUT_SECONDS) as answer:
        return json.load(answer)


def why_not_ready() -> list[str]:
    """What storefront needs and cannot reach now (empty: ready)."""
    problems = []
    try:
        checkout("/healthz")
    except (OSError, ValueError) as error:  # URLError and HTTPError are OSErrors
        problems.append(f"checkout {CHECKOUT_URL}/healthz: {error}")
    try:
        socket.create_connection((CACHE_HOST, CACHE_PORT), CALL_TIMEOUT_SECONDS).close()
    except OSError as error:
        problems.append(f"cart cache {CACHE_HOST}:{CACHE_PORT}: {error}")
    return problems


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            self.answer(200, {"status": "alive"})
        elif self.path == "/readyz":
            problems = why_not_ready()
            self.answer(503 if problems else 200, {"ready": not problems, "problems": problems})
        elif self.path == "/":
            try:
                said = checkout("/")
            except (OSError, ValueError) as error:
                self.answer(502, {"service": "storefront", "checkout": f"no answer: {error}"})
                return
            self.answer(200, {"service": "storefront", "checkout": said})
        else:
            self.answer(404, {"error": f"no page {self.path}"})

    def answer(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        line = {"service": "storefront", "level": "info", "message": format % args}
        print(json.dumps(line), file=sys.stderr, flush=True)


def stop(*_: object) -> NoReturn:
    """SIGTERM ends the server (as PID 1, Python would otherwise ignore it)."""
    raise SystemExit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    ThreadingHTTPServer(("", PORT), Handler).serve_forever()
