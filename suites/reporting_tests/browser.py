"""Headless Chromium for the report test: the DOM after scripts ran, and a screenshot's colours."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
TIMEOUT = 120


def chromium() -> str:
    """The browser binary; skipped without one, except in CI, where it is a failure."""
    for name in BROWSERS:
        if found := shutil.which(name):
            return found
    message = "needs headless Chromium: apt-get install chromium (Debian's package)"
    if os.environ.get("CI"):
        pytest.fail(f"CI must have a browser: {message}")
    pytest.skip(message)


def run_chromium(page: Path, profile: Path, *args: str) -> str:
    """Open the page headless (root needs --no-sandbox); return stdout."""
    command = [
        chromium(),
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        *args,
        page.as_uri(),
    ]
    done = subprocess.run(command, check=True, capture_output=True, text=True, timeout=TIMEOUT)
    return done.stdout


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM once the page's scripts ran (pytest-html draws its results table in script)."""
    return run_chromium(page, profile, "--dump-dom", "--virtual-time-budget=5000")


def screenshot(page: Path, profile: Path, out: Path, size: tuple[int, int]) -> Path:
    run_chromium(page, profile, f"--screenshot={out}", f"--window-size={size[0]},{size[1]}")
    return out


class MatrixCells(HTMLParser):
    """Each promise row's verdict, each claim's verdict, in the order the DOM has them."""

    def __init__(self) -> None:
        super().__init__()
        self.promise = ""
        self.verdicts: dict[str, str] = {}
        self.claims: dict[str, list[str]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        classes = (attributes.get("class") or "").split()
        if tag == "tr" and attributes.get("data-promise"):
            self.promise = attributes["data-promise"] or ""
        elif tag == "td" and "verdict" in classes:
            self.verdicts[self.promise] = attributes.get("data-verdict") or ""
        elif tag == "li" and "claim" in classes:
            self.claims.setdefault(self.promise, []).append(attributes.get("data-verdict") or "")


def matrix_cells(dom: str) -> MatrixCells:
    cells = MatrixCells()
    cells.feed(dom)
    return cells


def png_rows(data: bytes) -> Iterator[bytes]:
    """The unfiltered pixel rows of an 8-bit RGB(A), non-interlaced PNG (what Chromium writes)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    position, idat, header = 8, b"", b""
    while position < len(data):
        (length,) = struct.unpack(">I", data[position : position + 4])
        kind = data[position + 4 : position + 8]
        body = data[position + 8 : position + 8 + length]
        header = body if kind == b"IHDR" else header
        idat += body if kind == b"IDAT" else b""
        position += 12 + length
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", header)
    assert (depth, interlace) == (8, 0), (depth, interlace)
    assert colour in (2, 6), colour
    pixel = 3 if colour == 2 else 4
    stride = width * pixel
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            left = line[i - pixel] if i >= pixel else 0
            up = previous[i]
            corner = previous[i - pixel] if i >= pixel else 0
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 2:
                line[i] = (line[i] + up) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                line[i] = (line[i] + paeth(left, up, corner)) & 0xFF
        previous = line
        yield bytes(line[j] for k in range(0, stride, pixel) for j in range(k, k + 3))


def paeth(a: int, b: int, c: int) -> int:
    estimate = a + b - c
    da, db, dc = abs(estimate - a), abs(estimate - b), abs(estimate - c)
    return a if da <= db and da <= dc else b if db <= dc else c


def colours_present(png: Path, wanted: dict[str, str]) -> set[str]:
    """Which of the named `#rrggbb` colours fill a pixel of the screenshot."""
    targets = {bytes.fromhex(hex_colour.lstrip("#")): name for name, hex_colour in wanted.items()}
    found: set[str] = set()
    for row in png_rows(png.read_bytes()):
        for target, name in targets.items():
            at = row.find(target)
            while at != -1 and name not in found:
                if at % 3 == 0:  # on a pixel boundary
                    found.add(name)
                at = row.find(target, at + 1)
        if len(found) == len(targets):
            break  # the rest of the page need not be decoded
    return found
