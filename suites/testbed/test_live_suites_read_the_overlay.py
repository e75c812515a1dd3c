"""The live suites check what the testbed deployed: they take the overlay from the `overlay`
fixture (the testbed's), never a name written in the test, or an online run would skip the
workloads only it deploys (Kibana, Logstash)."""

from __future__ import annotations

import re
from pathlib import Path

from testbed.settings import REPO

LIVE_SUITES = ("smoke", "conformance", "resilience", "observability", "load")
#: A call of the drawing's per-overlay helpers with an overlay's name written in.
NAMED_OVERLAY = re.compile(r"""\b(?:workloads|volumes|node_agents|configmaps)_in\(\s*["']""")
NAMED_IN_IMAGE = re.compile(r"""expected_image\([^)]*,\s*["']""")
#: An overlay's name kept in a constant of the test module.
NAMED_CONSTANT = re.compile(r"""^\s*[A-Z_]*OVERLAY\s*(?::[^=]*)?=\s*["']""")


def overlay_named_in(source: str) -> list[str]:
    """The lines of `source` that name an overlay where the drawing's helpers take one."""
    return [
        line.strip()
        for line in source.splitlines()
        if any(p.search(line) for p in (NAMED_OVERLAY, NAMED_IN_IMAGE, NAMED_CONSTANT))
    ]


def test_no_live_test_names_the_overlay_it_checks() -> None:
    found = {
        str(path.relative_to(REPO)): lines
        for suite in LIVE_SUITES
        for path in sorted((REPO / "suites" / suite).rglob("*.py"))
        if (lines := overlay_named_in(path.read_text()))
    }

    assert found == {}


def test_negative_control_a_test_that_names_its_overlay_is_found(tmp_path: Path) -> None:
    planted = (
        'OVERLAY = "offline"  # what .ci/run deploys\n'
        'expected = {w.name for w in promises.workloads_in("offline")}\n'
        "image = promises.expected_image('api-gateway', 'offline')\n"
        "fine = promises.workloads_in(overlay)\n"
    )

    assert overlay_named_in(planted) == [
        'OVERLAY = "offline"  # what .ci/run deploys',
        'expected = {w.name for w in promises.workloads_in("offline")}',
        "image = promises.expected_image('api-gateway', 'offline')",
    ]
