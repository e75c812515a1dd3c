"""The second drawing the package's tests read: the shop example, written once."""

from __future__ import annotations

from pathlib import Path

#: The shop example's folder (its drawing, manifests and services).
SHOP = Path(__file__).resolve().parents[2] / "examples" / "shop"
#: Its drawing file.
SHOP_DRAWING = SHOP / "drawing.yaml"
