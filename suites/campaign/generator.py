"""A seeded stream of client operations against the gateway, each with the answer it should get.

The same seed gives the same stream of operations (and the same products and stocks). Which
worker sends which operation, and when the faults hit it, is timing: a replay repeats the
inputs and the fault schedule, not the interleaving.

Bodies are raw JSON, so they can be invalid on purpose. The limits come from the order API's
schema (`system.order_service.schemas`) and inventory's reservation cap, never typed here twice.
A share of the operations (`BAD_REQUEST_WEIGHT` of the mix) are bad requests to the gateway's
write routes derived from the OpenAPI document it serves (`badinput`).
"""

from __future__ import annotations

import dataclasses
import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from system.inventory_service.schemas import ReservationItem
from system.order_service.schemas import OrderItem, OrderRequest

from . import badinput
from .history import Expect


def _limit(model: type[BaseModel], name: str, constraint: str) -> int:
    """A field's constraint (max_length, le) as the schema declares it."""
    for entry in model.model_fields[name].metadata:
        value = getattr(entry, constraint, None)
        if isinstance(value, int):
            return value
    raise LookupError(f"{model.__name__}.{name} declares no {constraint}")


MAX_LINES = _limit(OrderRequest, "items", "max_length")
MAX_QUANTITY = _limit(OrderItem, "quantity", "le")
MAX_EMAIL = _limit(OrderRequest, "customer_email", "max_length")
#: The most units of one SKU inventory-service's reservation holds.
MAX_RESERVED_UNITS_PER_SKU = _limit(ReservationItem, "quantity", "le")

#: Control characters put into an e-mail address: NUL (PostgreSQL refuses it in text), C0,
#: DEL and a C1 one. The designed answer to each is a 4xx.
CONTROL_CHARACTERS = ("\x00", "\x01", "\x07", "\x1b", "\x7f", "\x9f")


@dataclass(frozen=True)
class Product:
    sku: str
    stock: int


@dataclass(frozen=True)
class Step:
    """One thing a client does; `copies` > 1 sends the same request that many times at once."""

    kind: str  # place, bad_request, get_order, list_orders, list_products, get_product
    expect: Expect
    method: str
    path: str
    body: Any = None
    key: str | None = None
    tag: str | None = None
    skus: tuple[str, ...] = ()
    copies: int = 1
    #: get_order: the key whose order to read (the runner knows its id once acknowledged),
    #: and the id read when it is not known yet (an order that does not exist).
    read_key: str | None = None
    fallback_id: str | None = None
    params: dict[str, int] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    #: The body's shape ("max lines", "control character in e-mail", ...), for the history.
    shape: str = ""


def products(seed: int, count: int = 6) -> list[Product]:
    """The campaign's own SKUs and their initial stock.

    The first holds more than a reservation may (so an over-cap order is refused for the cap,
    not for stock); the others range from scarce (orders get rejected) to plentiful.
    """
    rng = random.Random(f"{seed}-products")
    stocks = [MAX_RESERVED_UNITS_PER_SKU * 3] + [
        rng.choice([30, 300, 3_000, 20_000]) for _ in range(count - 1)
    ]
    return [Product(f"CAMP-{seed % 100_000_000}-{i}", stock) for i, stock in enumerate(stocks)]


@dataclass
class _Placed:
    key: str
    body: Any
    tag: str
    shape: str
    expect: Expect


#: The weight of bad requests in the mix below (of 108: about one operation in eleven).
BAD_REQUEST_WEIGHT = 10


class Generator:
    """`next()` gives the next step; deterministic for a seed, a product list and the gateway's
    OpenAPI document (without one, no bad requests are generated)."""

    def __init__(
        self, seed: int, catalogue: list[Product], openapi: dict[str, Any] | None = None
    ) -> None:
        self._rng = random.Random(seed)
        self._openapi = openapi or {}
        self._write_routes = badinput.write_routes(self._openapi)
        self._seed = seed
        self._skus = [p.sku for p in catalogue]
        self._big = catalogue[0].sku
        self._count = 0
        self._keyed: list[_Placed] = []
        self._mix: list[tuple[int, Callable[[], Step]]] = [
            (40, self._new_order),
            (10, self._same_key_same_body),
            (5, self._same_key_other_body),
            (3, self._another_customers_key),
            (6, self._concurrent_retries),
            (16, self._read_order),
            (7, self._list_orders),
            (4, self._list_products),
            (7, self._read_product),
        ]
        if self._write_routes:
            self._mix.append((BAD_REQUEST_WEIGHT, self._bad_request))

    def next(self) -> Step:
        self._count += 1
        weights = [w for w, _ in self._mix]
        (make,) = self._rng.choices([m for _, m in self._mix], weights=weights)
        return make()

    # -- orders -----------------------------------------------------------------------------

    def _tag(self) -> str:
        return f"s{self._seed}n{self._count}"

    def _key(self) -> str:
        return f"campaign-{self._seed}-{self._count}"

    def _lines(self, count: int, quantity: Callable[[], int]) -> list[dict[str, Any]]:
        return [{"sku": self._rng.choice(self._skus), "quantity": quantity()} for _ in range(count)]

    def _shape(self, tag: str) -> tuple[str, dict[str, Any], Expect]:
        """A body of one of the shapes, named, with what it should get."""
        rng = self._rng
        email = f"{tag}@example.com"
        small = self._lines(rng.randint(1, 4), lambda: rng.randint(1, 5))
        shapes: list[tuple[int, str, Callable[[], tuple[dict[str, Any], Expect]]]] = [
            (30, "small", lambda: ({"customer_email": email, "items": small}, "accept")),
            (5, "one unit", lambda: (_order(email, self._lines(1, lambda: 1)), "accept")),
            (4, "max lines", lambda: (
                _order(email, self._lines(MAX_LINES, lambda: rng.randint(1, 2))), "accept")),
            (5, "max quantity", lambda: (
                _order(email, self._lines(1, lambda: MAX_QUANTITY)), "accept")),
            (3, "same SKU on several lines", lambda: (
                _order(email, [{"sku": small[0]["sku"], "quantity": 2}] * 3), "accept")),
            (4, "e-mail of the longest length", lambda: (
                _order(_padded_email(tag, MAX_EMAIL), small), "accept")),
            (4, "unicode e-mail", lambda: (
                _order(f"{tag}.zo\u00eb\u2713\U0001f600@ex\u00e4mple.com", small), "accept")),
            (4, "per-SKU total above the reservation cap", lambda: (
                self._over_cap(email), "refuse_or_reject")),
            (4, "control character in e-mail", lambda: (
                _order(f"{tag}{rng.choice(CONTROL_CHARACTERS)}@example.com", small), "refuse")),
            (1, "lone surrogate in e-mail", lambda: (
                _order(f"{tag}\ud800@example.com", small), "refuse")),
            (2, "e-mail one too long", lambda: (
                _order(_padded_email(tag, MAX_EMAIL + 1), small), "refuse")),
            (2, "too many lines", lambda: (
                _order(email, self._lines(MAX_LINES + 1, lambda: 1)), "refuse")),
            (2, "quantity 0", lambda: (_order(email, self._lines(1, lambda: 0)), "refuse")),
            (2, "quantity above the limit", lambda: (
                _order(email, self._lines(1, lambda: MAX_QUANTITY + 1)), "refuse")),
            (1, "quantity as a string", lambda: (
                _order(email, [{"sku": self._skus[1], "quantity": "1"}]), "refuse")),
            (1, "no lines", lambda: (_order(email, []), "refuse")),
            (4, "unknown SKU", lambda: (
                _order(email, [*small, {"sku": f"NOPE-{tag}", "quantity": 1}]), "refuse")),
            (1, "malformed SKU", lambda: (
                _order(email, [{"sku": "no such sku!", "quantity": 1}]), "refuse")),
            (2, "extra field in the order", lambda: (
                {"customer_email": email, "items": small, "coupon": "FREE"}, "refuse")),
            (2, "extra field in a line", lambda: (
                _order(email, [{**small[0], "price_cents": 0}]), "refuse")),
            (1, "e-mail without @", lambda: (_order(f"{tag}.example.com", small), "refuse")),
        ]  # fmt: skip
        (chosen,) = rng.choices(shapes, weights=[w for w, _, _ in shapes])
        body, expect = chosen[2]()
        return chosen[1], body, expect

    def _over_cap(self, email: str) -> dict[str, Any]:
        lines = self._rng.randint(MAX_RESERVED_UNITS_PER_SKU // MAX_QUANTITY + 1, MAX_LINES)
        return _order(email, [{"sku": self._big, "quantity": MAX_QUANTITY}] * lines)

    def _place(
        self, body: dict[str, Any], tag: str, expect: Expect, key: str | None, shape: str
    ) -> Step:
        skus = tuple(sorted({str(i.get("sku")) for i in body.get("items", [])}))
        headers = {"Idempotency-Key": key} if key else {}
        return Step(
            "place", expect, "POST", "/api/orders", body, key, tag, skus,
            headers=headers, shape=shape,
        )  # fmt: skip

    def _new_order(self) -> Step:
        tag = self._tag()
        shape, body, expect = self._shape(tag)
        roll = self._rng.random()
        if roll < 0.7:
            key: str | None = self._key()
        elif roll < 0.97:
            key = None
        else:
            # Not printable ASCII without spaces: the key itself is refused.
            key, expect, shape = f"bad key {self._count}", "refuse", f"{shape}, malformed key"
        step = self._place(body, tag, expect, key, shape)
        if key and not key.startswith("bad key"):
            self._keyed.append(_Placed(key, body, tag, shape, expect))
        return step

    def _same_key_same_body(self) -> Step:
        if not self._keyed:
            return self._new_order()
        earlier = self._rng.choice(self._keyed)
        shape = f"repeat of {earlier.shape}"
        return self._place(earlier.body, earlier.tag, earlier.expect, earlier.key, shape)

    def _same_key_other_body(self) -> Step:
        """The customer's own key again, with other items: a key is the customer's (another
        customer's same key is a request of her own), so only this is a conflict."""
        valid = [p for p in self._keyed if p.expect == "accept"]
        if not valid:
            return self._new_order()
        earlier = self._rng.choice(valid)
        items = list(earlier.body["items"])
        # one line fewer, or one more: never the same items
        other = items[:-1] if len(items) > 1 else [*items, *self._lines(1, lambda: 1)]
        body = {**earlier.body, "items": other}
        return self._place(body, earlier.tag, "conflict", earlier.key, "same key, another body")

    def _another_customers_key(self) -> Step:
        """A key another customer placed an order with, sent by a new customer with an order of
        her own: a key is the customer's, so it places her order and never shows the other's."""
        valid = [p for p in self._keyed if p.expect == "accept"]
        if not valid:
            return self._new_order()
        earlier, tag = self._rng.choice(valid), self._tag()
        body, shape = _order(f"{tag}@example.com", self._lines(1, lambda: 1)), "another's key"
        self._keyed.append(_Placed(earlier.key, body, tag, shape, "accept"))
        return self._place(body, tag, "accept", earlier.key, shape)

    def _concurrent_retries(self) -> Step:
        tag, key = self._tag(), self._key()
        rng = self._rng
        expect: Expect = "accept"
        shape, lines = "concurrent retries", self._lines(2, lambda: 1)
        if rng.random() < 0.25:
            # Retries racing the discard of an order refused half-way (an unknown SKU).
            expect, lines = "refuse", [{"sku": f"NOPE-{tag}", "quantity": 1}]
            shape = "concurrent retries, unknown SKU"
        body = _order(f"{tag}@example.com", lines)
        step = self._place(body, tag, expect, key, shape)
        self._keyed.append(_Placed(key, body, tag, shape, expect))
        return dataclasses.replace(step, copies=rng.randint(2, 5))

    def _bad_request(self) -> Step:
        """One place of a valid request broken as the gateway's schema says it must not be."""
        rng, tag = self._rng, self._tag()
        route = rng.choice(self._write_routes)
        headers = {"Idempotency-Key": self._key()} if rng.random() < 0.7 else {}
        if (route.method, route.path) == ("POST", "/api/orders"):
            body: Any = _order(f"{tag}@example.com", self._lines(rng.randint(1, 3), lambda: 2))
        else:
            body = badinput.example(route.body_schema, self._openapi)
        bad = rng.choice(badinput.bad_requests(route, body, headers, self._openapi, rng))
        key = bad.headers.get("Idempotency-Key")
        lines = body.get("items", []) if isinstance(body, dict) else []
        skus = tuple(sorted({str(i.get("sku")) for i in lines if isinstance(i, dict)}))
        return Step(
            "bad_request", "refuse", route.method, route.path, bad.body, key, tag, skus,
            headers=bad.headers, shape=f"bad request: {bad.shape}",
        )  # fmt: skip

    # -- reads ------------------------------------------------------------------------------

    def _read_order(self) -> Step:
        fallback = str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
        key = self._rng.choice(self._keyed).key if self._keyed else None
        return Step("get_order", "read", "GET", "/api/orders/{id}", read_key=key,
                    fallback_id=fallback)  # fmt: skip

    def _list_orders(self) -> Step:
        params = {"limit": self._rng.choice([1, 20, 100]), "offset": self._rng.choice([0, 0, 5])}
        return Step("list_orders", "read", "GET", "/api/orders", params=params)

    def _list_products(self) -> Step:
        return Step("list_products", "read", "GET", "/api/inventory/products")

    def _read_product(self) -> Step:
        sku = self._rng.choice([*self._skus, f"NOPE-{self._tag()}"])
        return Step("get_product", "read", "GET", f"/api/inventory/products/{sku}", skus=(sku,))


def _order(email: str, items: list[dict[str, Any]]) -> dict[str, Any]:
    return {"customer_email": email, "items": items}


def _padded_email(tag: str, length: int) -> str:
    """An address of exactly `length` characters that still carries the tag."""
    domain = "@example.com"
    return f"{tag}." + "x" * (length - len(tag) - 1 - len(domain)) + domain
