"""The request id of the request being served, visible to logs and outbound calls."""

from contextvars import ContextVar

REQUEST_ID_HEADER = "X-Request-ID"

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")


def current_request_id() -> str:
    """The id of the request this task serves, or "-" outside a request."""
    return request_id_var.get()
