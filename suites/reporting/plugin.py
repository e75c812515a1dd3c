"""pytest plugin: what this system adds to the report that kubepromises writes.

The promise matrix itself (first in the HTML report, in promises.json and the terminal) comes
from kubepromises' plugin (`kubepromises.report`), which reads `promises.yaml` through the
rootdir's drawing. Registered by the root conftest.py (``pytest_plugins``), this plugin adds:

- the testbed's mode (offline, online) to the matrix when the session brings up or reuses the
  testbed, so that the gate (`python -m suites.reporting.gate`) judges the run by it;
- the ``timeline`` fixture: ``timeline.attach(summary, marks={"pod deleted": t})`` puts a
  traffic timeline into the test's report row and saves it as ``reports/<test>/timeline.svg``.
"""

from __future__ import annotations

from collections.abc import Generator, Mapping
from pathlib import Path

import pytest

from kubepromises.report.plugin import PLUGIN_NAME, PromiseMatrix
from suites.reporting.attachments import add_extras, html_extra
from testbed import timeline as timeline_svg
from testbed.traffic import Summary

PENDING_TIMELINES = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini("reports_dir", "per-test folders (diagnostics, timelines)", default="reports")


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
) -> Generator[None, object, object]:
    """Note the testbed's mode (offline, online) in the matrix: the gate judges a run by it."""
    value = yield
    if fixturedef.argname == "testbed" and hasattr(value, "offline"):
        matrix = request.config.pluginmanager.get_plugin(PLUGIN_NAME)
        if isinstance(matrix, PromiseMatrix):
            matrix.mode = "offline" if value.offline else "online"
    return value


class Timeline:
    """Attaches traffic timelines to the running test's report row and saves them as SVG."""

    def __init__(self, item: pytest.Item, folder: Path) -> None:
        self.item = item
        self.folder = folder
        self.count = 0

    def attach(
        self,
        summary: Summary,
        marks: Mapping[str, float] | None = None,
        title: str | None = None,
    ) -> Path:
        """Render `summary` with `marks` (seconds on the probe's clock); return the SVG's path."""
        svg = timeline_svg.render(summary, marks, title=title or self.item.name)
        self.count += 1
        name = "timeline.svg" if self.count == 1 else f"timeline-{self.count}.svg"
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / name
        path.write_text(svg + "\n")
        self.item.stash.setdefault(PENDING_TIMELINES, []).append(
            f"<h4>Traffic timeline <small>({path})</small></h4>{svg}"
        )
        return path


@pytest.fixture
def timeline(request: pytest.FixtureRequest) -> Timeline:
    """Attach a traffic timeline: ``timeline.attach(summary, marks={"pod deleted": t})``."""
    folder = request.config.rootpath / str(request.config.getini("reports_dir"))
    return Timeline(request.node, folder / request.node.name)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Move the timelines attached so far into this phase's report (pytest-html joins phases)."""
    report = yield
    pending = item.stash.get(PENDING_TIMELINES, [])
    if pending:
        add_extras(report, [html_extra(svg) for svg in pending])
        pending.clear()
    return report
