"""The services' OpenAPI documents describe the error answers as they are sent.

FastAPI documents its own validation-error shape (`detail` as a list) for 422 and nothing for
other errors, while every service answers each 4xx and 5xx with ErrorBody (errors.py). A client
generated from the document would mis-read every error, so each documented 4xx/5xx answer is
given ErrorBody as its JSON content, and FastAPI's validation-error schemas are dropped.
"""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from system.common.errors import ErrorBody
from system.common.listing_access import SCHEME_NAME as LISTING_TOKEN_SCHEME

REF_TEMPLATE = "#/components/schemas/{model}"
FASTAPI_ERROR_SCHEMAS = ("HTTPValidationError", "ValidationError")


def with_error_bodies(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with every 4xx/5xx response's content set to ErrorBody."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    error_schema = ErrorBody.model_json_schema(ref_template=REF_TEMPLATE)
    components.update(error_schema.pop("$defs", {}))
    components[ErrorBody.__name__] = error_schema
    for name in FASTAPI_ERROR_SCHEMAS:
        components.pop(name, None)
    content = {"application/json": {"schema": {"$ref": REF_TEMPLATE.format(model="ErrorBody")}}}
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for code, response in operation.get("responses", {}).items():
                if str(code)[0] in "45":
                    response["content"] = content
    return schema


CAP_DESCRIPTION = "at the concurrency cap (MAX_CONCURRENT_REQUESTS); see Retry-After"


def with_cap_refusals(schema: dict[str, Any], uncapped_paths: frozenset[str]) -> dict[str, Any]:
    """`schema` with a 503 on every operation the concurrency cap can refuse (where the route
    does not document a 503 of its own already)."""
    for path, path_item in schema.get("paths", {}).items():
        if path in uncapped_paths:
            continue
        for operation in path_item.values():
            operation.setdefault("responses", {}).setdefault(
                "503", {"description": CAP_DESCRIPTION}
            )
    return schema


BODY_DEADLINE_DESCRIPTION = "the body did not arrive in full within REQUEST_BODY_TIMEOUT_SECONDS"


def with_body_deadline(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` with the body deadline's 408 on every operation that takes a body."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            if "requestBody" in operation:
                responses = operation.setdefault("responses", {})
                responses.setdefault("408", {"description": BODY_DEADLINE_DESCRIPTION})
    return schema


def with_optional_security(schema: dict[str, Any], scheme_names: frozenset[str]) -> dict[str, Any]:
    """`schema` with each operation that uses one of `scheme_names` also allowing none (the `{}`
    requirement): without a token such a route still answers, with less (listing_access.py)."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            security = operation.get("security", [])
            uses = any(name in requirement for requirement in security for name in scheme_names)
            if uses and {} not in security:
                security.insert(0, {})
    return schema


def describe_errors_as_sent(app: FastAPI, uncapped_paths: frozenset[str] | None = None) -> None:
    """Make `app.openapi()` document ErrorBody for each error answer, the body deadline's 408,
    the listing token as optional, and the concurrency cap's 503 on every path but
    `uncapped_paths` when the app has a cap."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            if uncapped_paths is not None:
                schema = with_cap_refusals(schema, uncapped_paths)
            schema = with_optional_security(schema, frozenset({LISTING_TOKEN_SCHEME}))
            app.openapi_schema = with_error_bodies(with_body_deadline(schema))
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
