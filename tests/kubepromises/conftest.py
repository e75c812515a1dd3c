"""Fixtures of the package's tests: the shop's drawing, loaded once."""

from __future__ import annotations

import pytest

from kubepromises import load_drawing
from kubepromises.drawing import Drawing
from tests.kubepromises.example import SHOP_DRAWING


@pytest.fixture(scope="session")
def shop() -> Drawing:
    return load_drawing(SHOP_DRAWING)


@pytest.fixture(scope="session")
def overlay(shop: Drawing) -> str:
    """The shop's first overlay, the one its live run deploys."""
    return shop.overlays[0].name
