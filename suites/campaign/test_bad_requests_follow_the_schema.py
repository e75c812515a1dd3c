"""Promise: the campaign's bad requests are derived from the gateway's OpenAPI document, so a
change of the schema changes them (no hand-written list to fall behind), and each one breaks
the schema: the gateway's own validation refuses every one of them.

Runs on the document the gateway's app builds (the campaign itself fetches the one the running
gateway serves, the same document), without a stack.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import pydantic
import pytest

from system.api_gateway.config import Settings
from system.api_gateway.main import create_app
from system.order_service.schemas import IDEMPOTENCY_KEY_PATTERN, OrderRequest

from . import badinput, generator


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    built: dict[str, Any] = json.loads(json.dumps(create_app(Settings()).openapi()))
    return built


def _bad_steps(document: dict[str, Any], seed: int = 7, steps: int = 2000) -> list[generator.Step]:
    made = generator.Generator(seed, generator.products(seed), document)
    return [s for s in (made.next() for _ in range(steps)) if s.kind == "bad_request"]


def test_the_write_routes_are_read_from_the_document(document: dict[str, Any]) -> None:
    routes = badinput.write_routes(document)

    assert [(r.method, r.path) for r in routes] == [("POST", "/api/orders")]
    assert list(routes[0].headers) == ["Idempotency-Key"]


def test_every_generated_bad_request_is_refused_by_the_gateways_validation(
    document: dict[str, Any],
) -> None:
    # arrange: the bad requests of a seed (about one operation in ten)
    bad = _bad_steps(document)
    assert len(bad) > 100, len(bad)

    # assert: each breaks the body's model or the key's pattern
    accepted = []
    for step in bad:
        key = step.headers.get("Idempotency-Key")
        key_ok = key is None or re.search(IDEMPOTENCY_KEY_PATTERN, key) is not None
        try:
            OrderRequest.model_validate_json(json.dumps(step.body))
        except pydantic.ValidationError:
            continue
        if key_ok:
            accepted.append(step.shape)
    assert accepted == []


def test_the_same_seed_gives_the_same_bad_requests(document: dict[str, Any]) -> None:
    first, again = _bad_steps(document, seed=3), _bad_steps(document, seed=3)

    assert [(s.shape, s.body, s.headers) for s in first] == [
        (s.shape, s.body, s.headers) for s in again
    ]


def test_a_schema_change_changes_the_bad_requests(document: dict[str, Any]) -> None:
    # arrange: a copy of the document with other limits and one more required field
    changed = copy.deepcopy(document)
    request = changed["components"]["schemas"]["OrderRequest"]
    request["properties"]["items"]["maxItems"] = 5
    item = changed["components"]["schemas"]["OrderItem"]
    item["properties"]["quantity"]["maximum"] = 7
    item["properties"]["note"] = {"type": "string", "maxLength": 3}
    item["required"].append("note")

    # act
    shapes = {step.shape for step in _bad_steps(changed, steps=6000)}

    # assert: the new limits and field appear, the old limits do not
    assert any("more than 5 items" in s for s in shapes), sorted(shapes)
    assert any("above its maximum 7" in s for s in shapes), sorted(shapes)
    assert any(re.search(r"items\[\d+\]\.note missing", s) for s in shapes), sorted(shapes)
    assert not any("more than 50 items" in s or "maximum 1000" in s for s in shapes)
