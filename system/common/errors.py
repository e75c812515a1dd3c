"""JSON error bodies for every 4xx/5xx, naming the problem and the request id."""

from typing import Any

import psycopg
import pymongo.errors
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from system.common.request_context import current_request_id


class ValidationProblem(BaseModel):
    """One invalid part of a request."""

    loc: str = Field(description="where, dotted: body.items.0.quantity")
    msg: str
    type: str


class ErrorBody(BaseModel):
    """The body of every 4xx and 5xx answer of every service (the gateway's included)."""

    detail: str = Field(description="what went wrong, in a sentence")
    status: int = Field(description="the HTTP status, repeated")
    request_id: str = Field(description="the X-Request-ID of the request, for the logs")
    errors: list[ValidationProblem] | None = Field(
        default=None, description="422 only: each invalid part of the request"
    )


def error_response(
    status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The one error body shape of all services: detail, status, request_id (+ extras)."""
    body: dict[str, Any] = {"detail": detail, "status": status, "request_id": current_request_id()}
    body.update(extra)
    return JSONResponse(body, status_code=status, headers=headers)


def _describe_validation_error(error: dict[str, Any]) -> dict[str, Any]:
    location = ".".join(str(part) for part in error.get("loc", ()))
    return {"loc": location, "msg": str(error.get("msg", "")), "type": str(error.get("type", ""))}


async def _on_validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_describe_validation_error(dict(e)) for e in exc.errors()]
    summary = "; ".join(f"{p['loc']}: {p['msg']}" for p in problems[:5])
    return error_response(422, f"invalid request: {summary}", errors=problems)


async def _on_http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = exc.detail
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such resource: {request.method} {request.url.path}"
    elif exc.status_code == 405:
        detail = f"method {request.method} not allowed on {request.url.path}"
    headers = dict(exc.headers) if exc.headers else None
    return error_response(exc.status_code, str(detail), headers=headers)


#: A dependency that is down (database restarting, connection refused): the request failed
#: cleanly and may be retried, which is 503, not a crash's 500.
DEPENDENCY_DOWN: tuple[type[Exception], ...] = (
    psycopg.OperationalError,
    pymongo.errors.ConnectionFailure,
    pymongo.errors.ServerSelectionTimeoutError,
)


async def _on_dependency_down(_: Request, exc: Exception) -> JSONResponse:
    return error_response(
        503, f"a dependency is unavailable: {type(exc).__name__}", headers={"Retry-After": "1"}
    )


def install_error_handlers(app: FastAPI) -> None:
    """Make validation and HTTP errors answer with the JSON error body.

    Crashes are turned into a JSON 500 by RequestIdMiddleware.
    """
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    for unavailable in DEPENDENCY_DOWN:
        app.add_exception_handler(unavailable, _on_dependency_down)
