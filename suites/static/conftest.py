"""Fixtures of the static suite: every overlay rendered once per session."""

from __future__ import annotations

import pytest

from suites import promises
from suites.static.manifest import Rendered
from suites.static.render import render


@pytest.fixture(scope="session")
def rendered_overlays() -> dict[str, Rendered]:
    """Each overlay of manifests/overlays, rendered once."""
    return {overlay: Rendered(overlay, render(overlay)) for overlay in promises.OVERLAYS}


@pytest.fixture(params=sorted(promises.OVERLAYS))
def rendered(request: pytest.FixtureRequest, rendered_overlays: dict[str, Rendered]) -> Rendered:
    """One overlay's objects; tests using it run once per overlay."""
    overlay: str = request.param
    return rendered_overlays[overlay]


@pytest.fixture
def broken(rendered_overlays: dict[str, Rendered]) -> Rendered:
    """A private copy of the full (kind) overlay for a negative control to break."""
    return rendered_overlays["kind"].copy()
