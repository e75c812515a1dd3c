"""The one checker of the order flow's invariants (suites/invariants.py), on books written by
hand: clean books pass, and each planted break is named by its invariant. The resilience suite
reads its books from the databases, the load runs through the API (`suites.load.invariants.
books`); both are judged here the same way."""

from __future__ import annotations

import re
from typing import Any

import pytest

from suites.invariants import Books, Findings, assert_hold, judge, supply_changes
from suites.load.invariants import books

CONFIRMED, REJECTED, PENDING = "o-confirmed", "o-rejected", "o-pending"
#: Before the window: 10 on the shelf, 5 held by an earlier order.
SUPPLY_BEFORE = {"SKU-CABLE": 15}


def clean(**changes: Any) -> Books:
    """A confirmed order holding 2 units and a rejected one holding none, as the databases say."""
    fields: dict[str, Any] = {
        "orders": {CONFIRMED: "confirmed", REJECTED: "rejected"},
        "stock": {"SKU-CABLE": 8},
        "supply": {"SKU-CABLE": 15},
        "holding": {CONFIRMED},
    }
    return Books(**{**fields, **changes})


def judged(books_: Books, **kwargs: Any) -> Findings:
    acknowledged = {CONFIRMED: "confirmed", REJECTED: "rejected"}
    return judge(books_, acknowledged, SUPPLY_BEFORE, **kwargs)


def test_clean_books_break_no_invariant() -> None:
    findings = judged(clean(), settled=True)

    assert findings.broken() == {}
    assert_hold(findings)


@pytest.mark.parametrize(
    ("planted", "invariant", "named"),
    [
        pytest.param(
            {"orders": {CONFIRMED: "confirmed"}},
            "acknowledged orders lost or changed",
            [f"{REJECTED} (answered rejected, now missing)"],
            id="an-acknowledged-order-missing",
        ),
        pytest.param(
            {"orders": {CONFIRMED: "rejected", REJECTED: "rejected"}, "holding": set()},
            "acknowledged orders lost or changed",
            [f"{CONFIRMED} (answered confirmed, now rejected)"],
            id="an-acknowledged-order-changed",
        ),
        pytest.param(
            {"holding": set()},
            "confirmed without reserved stock",
            [CONFIRMED],
            id="oversold",
        ),
        pytest.param(
            {"holding": {CONFIRMED, REJECTED}},
            "stock held by rejected orders",
            [REJECTED],
            id="held-by-rejected",
        ),
        pytest.param(
            {"stock": {"SKU-CABLE": -1}},
            "negative stock",
            ["SKU-CABLE"],
            id="negative-stock",
        ),
        pytest.param(
            {"supply": {"SKU-CABLE": 16}},
            "stock not conserved (shelf + held units)",
            ["SKU-CABLE: 15 -> 16"],
            id="a-unit-from-nothing",
        ),
        pytest.param(
            {"supply": {"SKU-CABLE": 15, "SKU-NEW": 3}},
            "stock not conserved (shelf + held units)",
            ["SKU-NEW: missing -> 3"],
            id="a-sku-from-nothing",
        ),
        pytest.param(
            {"orders": {CONFIRMED: "confirmed", REJECTED: "rejected", PENDING: "pending"}},
            "orders left pending",
            [PENDING],
            id="left-pending",
        ),
    ],
)
def test_negative_control_each_planted_break_is_named_by_its_invariant(
    planted: dict[str, Any], invariant: str, named: list[str]
) -> None:
    findings = judged(clean(**planted), settled=True)

    assert findings.broken() == {invariant: named}
    with pytest.raises(AssertionError, match=re.escape(invariant)):
        assert_hold(findings)


def test_without_reservations_the_oversell_check_is_not_made_and_says_so() -> None:
    findings = judged(clean(holding=None))

    assert findings.oversold == []
    assert not findings.reservations_read
    assert "reservations not read" in str(findings)


def test_a_window_need_not_end_settled_unless_asked() -> None:
    books_ = clean(orders={CONFIRMED: "confirmed", REJECTED: "rejected", PENDING: "pending"})

    assert judged(books_).unsettled == []
    assert judged(books_, settled=True).unsettled == [PENDING]


def test_supply_changes_name_moved_vanished_and_new_skus() -> None:
    before = {"A": 1, "B": 2}
    after = {"A": 1, "B": 3, "C": 4}

    assert supply_changes(before, after) == ["B: 2 -> 3", "C: missing -> 4"]
    assert supply_changes(after, before) == ["B: 3 -> 2", "C: 4 -> missing"]


def order(order_id: str, status: str, *items: tuple[str, int]) -> dict[str, Any]:
    return {
        "id": order_id,
        "status": status,
        "items": [{"sku": sku, "quantity": quantity} for sku, quantity in items],
    }


def test_through_the_api_a_confirmed_order_holds_its_units_and_a_rejected_one_none() -> None:
    before = {"SKU-CABLE": 10, "SKU-MONITOR": 3}
    orders = [
        order("a", "confirmed", ("SKU-CABLE", 2), ("SKU-MONITOR", 1)),
        order("b", "confirmed", ("SKU-CABLE", 1)),
        order("c", "rejected", ("SKU-MONITOR", 5)),
    ]
    after = {"SKU-CABLE": 7, "SKU-MONITOR": 2}

    findings = judge(books(after, orders), supply_before=before, settled=True)

    assert findings.broken() == {}
    assert findings.orders == {"a": "confirmed", "b": "confirmed", "c": "rejected"}


@pytest.mark.parametrize(
    ("after", "orders", "found"),
    [
        pytest.param(
            {"SKU-CABLE": 8},
            [order("a", "confirmed", ("SKU-CABLE", 1))],
            {"stock not conserved (shelf + held units)": ["SKU-CABLE: 10 -> 9"]},
            id="a-unit-lost",
        ),
        pytest.param(
            {"SKU-CABLE": 10},
            [order("a", "confirmed", ("SKU-CABLE", 1))],
            {"stock not conserved (shelf + held units)": ["SKU-CABLE: 10 -> 11"]},
            id="confirmed-without-taking-stock",
        ),
        pytest.param(
            {"SKU-CABLE": -2},
            [order("a", "confirmed", ("SKU-CABLE", 12))],
            {"negative stock": ["SKU-CABLE"]},
            id="oversold-below-zero",
        ),
        pytest.param(
            {"SKU-CABLE": 10},
            [order("a", "confirmed", ("SKU-GHOST", 1))],
            {"stock not conserved (shelf + held units)": ["SKU-GHOST: missing -> 1"]},
            id="a-sku-not-in-the-catalogue",
        ),
    ],
)
def test_negative_control_through_the_api_broken_stock_is_caught(
    after: dict[str, int], orders: list[dict[str, Any]], found: dict[str, list[str]]
) -> None:
    findings = judge(books(after, orders), supply_before={"SKU-CABLE": 10}, settled=True)

    assert findings.broken() == found
