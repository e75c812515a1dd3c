"""Assertions shared by the tests: a promise holds, or a negative control is caught."""

from __future__ import annotations


def assert_holds(violations: list[str]) -> None:
    """The check found nothing wrong."""
    assert not violations, "\n".join(violations)


def assert_caught(violations: list[str], fragment: str) -> None:
    """The check flagged the breakage: some violation mentions `fragment`."""
    assert any(fragment in violation for violation in violations), (
        f"the check missed the breakage: no violation mentions {fragment!r}; "
        f"it reported {violations or 'nothing'}"
    )
