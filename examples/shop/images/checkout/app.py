"""checkout: takes the shop's orders.

`/` says checkout is open; `/readyz` is 200 only while its database accepts a connection (503
otherwise, naming it); `/healthz` is 200 while the process serves. Standard library only; its
settings come from the environment (the ConfigMap checkout-config).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, NoReturn

PORT = int(os.environ.get("PORT", "8001"))
DB_HOST = os.environ.get("DB_HOST", "checkout-db")
DB_PORT = int(os.environ.get("DB_PORT", "5432"))
#: A connection attempt gives up after this long: a probe's own timeout is 2 s.
CONNECT_TIMEOUT_SECONDS = 1.0


def why_not_ready() -> list[str]:
    """What checkout needs and cannot reach now (empty: ready)."""
    try:
        socket.create_connection((DB_HOST, DB_PORT), CONNECT_TIMEOUT_SECONDS).close()
    except OSError as error:
        return [f"database {DB_HOST}:{DB_PORT}: {error}"]
    return []


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/healthz":
            self.answer(200, {"status": "alive"})
        elif self.path == "/readyz":
            problems = why_not_ready()
            self.answer(503 if problems else 200, {"ready": not problems, "problems": problems})
        elif self.path == "/":
            self.answer(200, {"service": "checkout", "message": "checkout is open"})
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
        line = {"service": "checkout", "level": "info", "message": format % args}
        print(json.dumps(line), file=sys.stderr, flush=True)


def stop(*_: object) -> NoReturn:
    """SIGTERM ends the server (as PID 1, Python would otherwise ignore it)."""
    raise SystemExit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, stop)
    ThreadingHTTPServer(("", PORT), Handler).serve_forever()
