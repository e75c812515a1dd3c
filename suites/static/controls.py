"""Assertions shared by the tests: a promise holds, or a negative control is caught (the
generic package's own, so that both suites word their failures alike)."""

from kubepromises.static import assert_caught, assert_holds

__all__ = ["assert_caught", "assert_holds"]
