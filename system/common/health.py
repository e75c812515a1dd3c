"""/healthz (process alive), /readyz (own dependencies reachable) and /version."""

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from system.common.draining import DrainState


@dataclass(frozen=True)
class DependencyCheck:
    """A named async probe of one dependency; it raises (or times out) when unreachable.
    `describe`, where given, says what the client knows of the dependency (a MongoDB client's
    view of its servers), added to a failed check's answer: a readiness body lands in the
    kubelet's events and in a failed live test's diagnostics, so a replica that stays unready
    says why."""

    name: str
    probe: Callable[[], Awaitable[object]]
    describe: Callable[[], str] | None = None


@dataclass(frozen=True)
class StuckCheck:
    """A named look at something inside the process that can get stuck while the event loop
    still answers (a database client that no longer watches its server): `problem` says why it
    is stuck, or None. A stuck part fails /healthz, so the kubelet restarts the container: being
    unready forever is not self-healing."""

    name: str
    problem: Callable[[], str | None]


#: How much of a failure's text an answer keeps, and of the client's view beside it.
ANSWER_CHARS = 300
#: How long /readyz waits for each dependency: inside the readiness probe's 2-s timeout.
CHECK_SECONDS = 2.0


async def _run(check: DependencyCheck, limit_seconds: float) -> str:
    try:
        await asyncio.wait_for(check.probe(), limit_seconds)
    except TimeoutError:
        failure = f"timed out after {limit_seconds}s"
    except Exception as exc:
        failure = f"{type(exc).__name__}: {exc}"[:ANSWER_CHARS]
    else:
        return "ok"
    if check.describe is None:
        return failure
    return f"{failure}; the client sees: {check.describe()[:ANSWER_CHARS]}"


def health_router(
    service: str,
    version: str,
    checks: Sequence[DependencyCheck],
    timeout: float = CHECK_SECONDS,
    drain: DrainState | None = None,
    stuck_checks: Sequence[StuckCheck] = (),
) -> APIRouter:
    """Build the three health endpoints for one service."""
    router = APIRouter(tags=["health"])

    @router.get("/healthz", responses={503: {"description": "a part of the process is stuck"}})
    async def healthz() -> JSONResponse:
        """The process is alive: its event loop answers and no part of it is stuck."""
        problems = {c.name: p for c in stuck_checks if (p := c.problem()) is not None}
        if problems:
            body = {"status": "stuck", "service": service, "checks": problems}
            return JSONResponse(body, status_code=503)
        return JSONResponse({"status": "alive", "service": service})

    @router.get("/readyz", responses={503: {"description": "a dependency is unreachable"}})
    async def readyz() -> JSONResponse:
        """Every dependency of this service answers."""
        results = await asyncio.gather(*(_run(c, timeout) for c in checks))
        by_name = {c.name: r for c, r in zip(checks, results, strict=True)}
        if drain is not None and drain.draining:
            by_name["draining"] = "shutting down"
        ready = all(r == "ok" for r in by_name.values())
        body = {"status": "ready" if ready else "not ready", "service": service, "checks": by_name}
        return JSONResponse(body, status_code=200 if ready else 503)

    @router.get("/version")
    async def version_info() -> dict[str, str]:
        """The deployed version, from the app-version ConfigMap."""
        return {"service": service, "version": version}

    return router
