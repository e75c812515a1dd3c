"""Bad requests derived from the gateway's OpenAPI document (the one it serves at /openapi.json).

For every write operation of the document (a POST, PUT, PATCH or DELETE under /api/ with a
JSON body) this walks the request body's schema beside a valid body and lists each way one
place of it can break the schema: a wrong type, a missing required field, a number past its
minimum or maximum, a string past its maxLength, a character its pattern forbids (control
characters, spaces, `@`), an array with too few or too many items, an unknown field where
`additionalProperties` is false, a value outside an enum; likewise for the operation's header
parameters. Nothing here names a field or a limit: change the schema and the bad requests
change with it. The designed answer to each is a 4xx with a JSON error that changes nothing.
"""

from __future__ import annotations

import copy
import random
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

WRITE_METHODS = ("post", "put", "patch", "delete")
#: Characters tried against a string's pattern; those it refuses make the bad values.
CANDIDATE_CHARACTERS = ("\x00", "\x07", "\x1b", "\x7f", "\x9f", "\t", " ", "@", "/", "\u2028")
#: A header value must stay sendable (HTTP forbids control characters in it).
HEADER_CHARACTERS = (" ", "\t", "@")
#: A value of another JSON type, per schema type (JSON's 1.0 is an integer, so 1.5).
WRONG_TYPES: dict[str, tuple[Any, ...]] = {
    "integer": ("1", 1.5, True, None),
    "number": ("1", True, None),
    "string": (1, None, ["x"], {}),
    "boolean": ("true", 1, None),
    "array": ({}, "x", None),
    "object": ([], "x", 1, None),
}
UNKNOWN_FIELD = "unexpected_field"


@dataclass(frozen=True)
class WriteRoute:
    method: str
    path: str
    body_schema: dict[str, Any]
    #: Header parameter name -> its schema.
    headers: dict[str, dict[str, Any]]


@dataclass(frozen=True)
class BadRequest:
    #: What is wrong, e.g. "items[1].quantity above its maximum 1000".
    shape: str
    #: The body to send (None: no body at all).
    body: Any
    headers: dict[str, str]


def write_routes(document: dict[str, Any]) -> list[WriteRoute]:
    """The document's write operations under /api/ that take a JSON body."""
    found = []
    for path, operations in sorted(document.get("paths", {}).items()):
        if not path.startswith("/api/"):
            continue
        for method, operation in sorted(operations.items()):
            content = operation.get("requestBody", {}).get("content", {})
            schema = content.get("application/json", {}).get("schema")
            if method not in WRITE_METHODS or schema is None:
                continue
            headers = {
                p["name"]: p.get("schema", {})
                for p in operation.get("parameters", [])
                if p.get("in") == "header"
            }
            found.append(WriteRoute(method.upper(), path, schema, headers))
    return found


def resolve(schema: dict[str, Any], document: dict[str, Any]) -> dict[str, Any]:
    """The schema behind a local `$ref` (and the non-null branch of an optional value)."""
    while "$ref" in schema:
        node: Any = document
        for part in schema["$ref"].removeprefix("#/").split("/"):
            node = node[part]
        schema = node
    branches = [s for s in schema.get("anyOf", []) if s.get("type") != "null"]
    if len(branches) == 1:
        return resolve(branches[0], document)
    return schema


def example(schema: dict[str, Any], document: dict[str, Any]) -> Any:
    """A value the schema accepts, from its examples and bounds (for a route the campaign
    has no generator of valid bodies for)."""
    schema = resolve(schema, document)
    if schema.get("examples"):
        return copy.deepcopy(schema["examples"][0])
    kind = schema.get("type")
    if kind == "object":
        properties = schema.get("properties", {})
        return {name: example(properties[name], document) for name in schema.get("required", [])}
    if kind == "array":
        return [example(schema.get("items", {}), document)] * int(schema.get("minItems", 1))
    if kind in ("integer", "number"):
        return int(schema.get("minimum", 0))
    if kind == "boolean":
        return True
    return "x" * int(schema.get("minLength", 1))


def complete(schema: dict[str, Any], value: Any, document: dict[str, Any]) -> Any:
    """`value` with every required field it lacks filled in from the schema, so a body built
    by the campaign stays valid when the schema gains a field."""
    schema = resolve(schema, document)
    if schema.get("type") == "object" and isinstance(value, dict):
        properties = schema.get("properties", {})
        filled = {
            name: complete(properties.get(name, {}), item, document) for name, item in value.items()
        }
        for name in schema.get("required", []):
            if name not in filled:
                filled[name] = example(properties.get(name, {}), document)
        return filled
    if schema.get("type") == "array" and isinstance(value, list):
        return [complete(schema.get("items", {}), item, document) for item in value]
    return value


def _refused_by(pattern: str, value: str, position: int, characters: tuple[str, ...]) -> list[str]:
    """`value` with each candidate character put in at `position`, where the pattern refuses it
    (JSON Schema's `pattern` is a search, as re.search)."""
    tried = (value[:position] + c + value[position:] for c in characters)
    return [t for t in tried if re.search(pattern, t) is None]


def _where(path: tuple[str | int, ...]) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.lstrip(".") or "the body"


#: A deletion, as a replacement value.
MISSING = object()


def violations(
    schema: dict[str, Any],
    value: Any,
    document: dict[str, Any],
    rng: random.Random,
    path: tuple[str | int, ...] = (),
) -> Iterator[tuple[str, tuple[str | int, ...], Any]]:
    """(what is wrong, where, the value put there or MISSING) for each way to break `value`
    (valid for `schema`) in one place (one seeded choice of character per pattern)."""
    schema = resolve(schema, document)
    where = _where(path)
    kind = schema.get("type")
    if kind in WRONG_TYPES:
        wrong = rng.choice(WRONG_TYPES[kind])
        yield f"{where} of the wrong type ({type(wrong).__name__}, not {kind})", path, wrong
    if "enum" in schema:
        yield f"{where} outside its enum", path, "not-one-of-the-values"
    if kind in ("integer", "number") and isinstance(value, int | float):
        if "minimum" in schema:
            below = int(schema["minimum"]) - rng.choice((1, 1, 1000))
            yield f"{where} below its minimum {schema['minimum']:g}", path, below
        if "maximum" in schema:
            above = int(schema["maximum"]) + rng.choice((1, 1, 1000))
            yield f"{where} above its maximum {schema['maximum']:g}", path, above
    if kind == "string" and isinstance(value, str):
        if "maxLength" in schema:
            longer = value + "x" * (int(schema["maxLength"]) + 1 - len(value))
            yield f"{where} longer than its maxLength {schema['maxLength']}", path, longer
        if schema.get("minLength", 0) > 0:
            yield f"{where} shorter than its minLength", path, ""
        if "pattern" in schema:
            position = rng.randint(len(value) // 2, len(value))
            refused = _refused_by(schema["pattern"], value, position, CANDIDATE_CHARACTERS)
            if refused:
                bad = rng.choice(refused)
                yield f"{where} with {bad[position]!r}, which its pattern refuses", path, bad
    if kind == "array" and isinstance(value, list):
        if schema.get("minItems", 0) > 0:
            yield f"{where} with fewer than {schema['minItems']} items", path, []
        if "maxItems" in schema and value:
            more = [value[i % len(value)] for i in range(int(schema["maxItems"]) + 1)]
            yield f"{where} with more than {schema['maxItems']} items", path, more
        for index in sorted({0, len(value) - 1}) if value else []:
            yield from violations(
                schema.get("items", {}), value[index], document, rng, (*path, index)
            )
    if kind == "object" and isinstance(value, dict):
        for name in schema.get("required", []):
            yield f"{_where((*path, name))} missing (required)", (*path, name), MISSING
        if schema.get("additionalProperties") is False:
            yield f"{where} with an unknown field", (*path, UNKNOWN_FIELD), "unexpected"
        for name, sub in schema.get("properties", {}).items():
            if name in value:
                yield from violations(sub, value[name], document, rng, (*path, name))


def _put(body: Any, path: tuple[str | int, ...], replacement: Any) -> Any:
    """A copy of `body` with `replacement` at `path` (MISSING deletes it)."""
    if not path:
        return None if replacement is MISSING else replacement
    changed = copy.deepcopy(body)
    node = changed
    for part in path[:-1]:
        node = node[part]
    if replacement is MISSING:
        del node[path[-1]]
    else:
        node[path[-1]] = replacement
    return changed


def bad_requests(
    route: WriteRoute,
    valid_body: Any,
    valid_headers: dict[str, str],
    document: dict[str, Any],
    rng: random.Random,
) -> list[BadRequest]:
    """Every bad request of the route one place away from the valid body and headers."""
    valid_body = complete(route.body_schema, valid_body, document)
    found = [
        BadRequest(shape, _put(valid_body, where, value), dict(valid_headers))
        for shape, where, value in violations(route.body_schema, valid_body, document, rng)
    ]
    for name, schema in route.headers.items():
        schema = resolve(schema, document)
        good = valid_headers.get(name) or example(schema, document)
        if "pattern" in schema and isinstance(good, str):
            position = rng.randint(1, max(1, len(good) - 1))
            refused = _refused_by(schema["pattern"], good, position, HEADER_CHARACTERS)
            if refused:
                bad = rng.choice(refused)
                shape = f"header {name} with {bad[position]!r}, which its pattern refuses"
                found.append(BadRequest(shape, valid_body, {**valid_headers, name: bad}))
        if "maxLength" in schema and isinstance(good, str):
            longer = good + "x" * (int(schema["maxLength"]) + 1 - len(good))
            shape = f"header {name} longer than its maxLength"
            found.append(BadRequest(shape, valid_body, {**valid_headers, name: longer}))
    return found
