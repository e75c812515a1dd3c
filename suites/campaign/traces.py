"""Operations traced through the services' logs by the X-Request-ID each was sent with.

A reading aid for a failing campaign, as the shortened history is: under each operation that
concerns an anomaly, every line the services logged for it (the gateway's access line, the
calls it made, what they logged), or that nothing was logged. A request that got no answer
and left no line never reached a service that lived to log it; one the gateway logged as
answered was lost on the way back.

Where the lines come from is the caller's: the local stack's log files (`from_log_files`), or
the testbed's log store (`suites/observability/store.py`, `LogStore.lines_of`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from .history import Operation

LogLine = dict[str, Any]
#: Request ids -> the lines logged under each, oldest first (an id nothing logged is absent).
Find = Callable[[list[str]], dict[str, list[LogLine]]]

#: The most operations traced in one report (the first of them, in invocation order).
MAX_TRACED = 200


def from_log_files(paths: Iterable[Path]) -> Find:
    """Lines from the services' JSON log files (one object per line; other lines skipped)."""
    files = list(paths)

    def find(request_ids: list[str]) -> dict[str, list[LogLine]]:
        wanted = set(request_ids)
        found: dict[str, list[LogLine]] = {}
        for path in files:
            for text in path.read_text(errors="replace").splitlines():
                line = _json_object(text)
                if line is not None and line.get("request_id") in wanted:
                    found.setdefault(str(line["request_id"]), []).append(line)
        for lines in found.values():
            lines.sort(key=lambda line: str(line.get("time", "")))
        return found

    return find


def _json_object(text: str) -> LogLine | None:
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def described(line: LogLine) -> str:
    """One log line as a line of the report: when, who (the pod where known), what."""
    kubernetes = line.get("kubernetes")
    pod = kubernetes.get("pod") if isinstance(kubernetes, dict) else None
    who = pod or line.get("service", "?")
    text = f"{line.get('time', '?')} {who} {line.get('level', '?')}: {line.get('message', '')}"
    if "duration_ms" in line:
        text += f" ({line['duration_ms']} ms)"
    if "exception" in line:
        text += f" [{str(line['exception']).splitlines()[-1]}]"
    return text


def traced(ops: list[Operation], find: Find) -> str:
    """Each operation's history line, then its log lines (or that none was logged)."""
    shown = ops[:MAX_TRACED]
    found = find([op.request_id for op in shown if op.request_id])
    lines = [
        f"{len(shown)} operations traced by their X-Request-ID"
        + (f" (the first {MAX_TRACED} of {len(ops)})" if len(ops) > MAX_TRACED else "")
    ]
    for op in shown:
        lines.append(op.line())
        logged = found.get(op.request_id, [])
        lines += [f"    {described(line)}" for line in logged]
        if not logged:
            lines.append(f"    no service logged request {op.request_id or '(none sent)'}")
    return "\n".join(lines)
