"""Fixtures of the static suite: every overlay rendered once per session.

The rendering is kubepromises' (its plugin's `rendered_manifests`: each overlay from the folder
drawing.yaml names), shared with the generic suite (test_drawing_counts.py); the kustomize it
uses is this project's (suites/static/render.py also finds the one the set-up builds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from suites import promises
from suites.static.manifest import Obj, Rendered
from suites.static.render import renderer


@pytest.fixture(scope="session")
def kustomize_command() -> list[str]:
    """This project's kustomize for kubepromises' rendering (overrides the plugin's)."""
    return renderer()


@pytest.fixture(scope="session")
def rendered_overlays(rendered_manifests: Mapping[str, Sequence[Obj]]) -> dict[str, Rendered]:
    """Each overlay of the drawing, rendered once."""
    return {
        overlay: Rendered(overlay, list(rendered_manifests[overlay]))
        for overlay in promises.OVERLAYS
    }


@pytest.fixture(params=sorted(promises.OVERLAYS))
def rendered(request: pytest.FixtureRequest, rendered_overlays: dict[str, Rendered]) -> Rendered:
    """One overlay's objects; tests using it run once per overlay."""
    overlay: str = request.param
    return rendered_overlays[overlay]


@pytest.fixture
def broken(rendered_overlays: dict[str, Rendered]) -> Rendered:
    """A private copy of the full (kind) overlay for a negative control to break."""
    return rendered_overlays["kind"].copy()
