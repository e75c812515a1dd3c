"""pytest plugin: the promise matrix first in the HTML report, in promises.json and the terminal.

Registered by the root conftest.py (``pytest_plugins``). Also provides the ``timeline`` fixture:
``timeline.attach(summary, marks={"pod deleted": t})`` puts a traffic timeline into the test's
report row and saves it as ``reports/<test>/timeline.svg``.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Generator, Mapping
from pathlib import Path

import pytest

from suites.matrix import Promise
from suites.reporting import render
from suites.reporting.attachments import add_extras, html_extra
from suites.reporting.collection import (
    complete_claims,
    partial_claims,
    promises_without_claims,
    run_scope,
    unresolved_claims,
)
from suites.reporting.status import (
    Outcome,
    PromiseResult,
    Result,
    build,
    changed_keys,
    claims,
    merge,
    phase_outcome,
)
from testbed import timeline as timeline_svg
from testbed.traffic import Summary

PENDING_TIMELINES = pytest.StashKey[list[str]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("promise matrix")
    group.addoption(
        "--promises-json",
        default=None,
        help="where to write the promise matrix as JSON (default: beside --html or --junitxml)",
    )
    parser.addini("promise_matrix", "module holding PROMISES", default="suites.matrix")
    parser.addini(
        "measurements", "measured figures (JSON), from rootdir", default="reports/measurements.json"
    )
    parser.addini("reports_dir", "per-test folders (diagnostics, timelines)", default="reports")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fake(component): the test talks to a fake of the component (written for the test, not "
        "the real thing nor a stand-in keeping its interface): it can fail a promise, never "
        "verify one",
    )
    config.pluginmanager.register(PromiseMatrix(config), "promise-matrix")


def load_promises(module: str) -> tuple[Promise, ...]:
    """The PROMISES table of a module (suites.matrix, or a test's synthetic one); a promise
    without claims is refused, whichever module holds it."""
    try:
        promises: tuple[Promise, ...] = tuple(importlib.import_module(module).PROMISES)
    except (ImportError, AttributeError) as error:
        raise pytest.UsageError(
            f"promise_matrix = {module}: no PROMISES there ({error})"
        ) from error
    problems = promises_without_claims(promises)
    if problems:
        raise pytest.UsageError(f"promise_matrix = {module}: " + "; ".join(problems))
    return promises


def fake_of(item: pytest.Item) -> str:
    """The component a `fake` marker names, or ""."""
    marker = item.get_closest_marker("fake")
    return str(marker.args[0]) if marker is not None and marker.args else ""


def read_measurements(path: Path) -> dict[str, object]:
    """The recorded figures; an unreadable file counts as none (the report must still render)."""
    try:
        figures = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return figures if isinstance(figures, dict) else {}


class PromiseMatrix:
    """Collects each test's outcome, then judges every promise at the end of the session."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.promises = load_promises(str(config.getini("promise_matrix")))
        self.measurements_path = config.rootpath / str(config.getini("measurements"))
        self.before: dict[str, object] = {}
        self.outcomes: dict[str, Outcome] = {}
        #: Every collected test (deselected ones too) and the component it fakes, if any.
        self.collected: dict[str, str] = {}
        self.broken: list[str] = []
        #: Claimed prefixes the run's arguments cover in part, and whole.
        self.partial: set[str] = set()
        self.complete: set[str] = set()
        #: The testbed's mode when this session brought one up or reused it.
        self.mode: str | None = None
        self.matrix: list[PromiseResult] = []
        self.json_path = self._json_path()

    def _json_path(self) -> Path | None:
        chosen = self.config.getoption("--promises-json")
        if chosen:
            return Path(chosen)
        for option in ("htmlpath", "xmlpath"):
            beside = self.config.getoption(option, default=None)
            if beside:
                return Path(beside).parent / "promises.json"
        return None

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.before = read_measurements(self.measurements_path)

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:  # a module that cannot be imported fails every promise it backs
            self.outcomes[report.nodeid] = "failed"
            self.broken.append(report.nodeid)
        elif (
            report.skipped
        ):  # a module skipped whole (allow_module_level): its tests verify nothing
            self.outcomes[report.nodeid] = "skipped"
            self.broken.append(report.nodeid)

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[object], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        """Note the testbed's mode (offline, online): the gate judges a run by it."""
        value = yield
        if fixturedef.argname == "testbed" and hasattr(value, "offline"):
            self.mode = "offline" if value.offline else "online"
        return value

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:  # by -k, -m or --deselect: collected, not run
            self.collected[item.nodeid] = fake_of(item)
            self.outcomes.setdefault(item.nodeid, "deselected")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Every claim inside the run's arguments must name a collected test."""
        for item in session.items:
            self.collected[item.nodeid] = fake_of(item)
        scope = run_scope(self.config.args, self.config.invocation_params.dir, self.config.rootpath)
        self.partial = partial_claims(self.promises, scope)
        self.complete = complete_claims(self.promises, scope)
        problems = unresolved_claims(self.promises, self.collected, scope, self.broken)
        if problems:
            raise pytest.UsageError(
                "the promise matrix claims tests that do not exist:\n  " + "\n  ".join(problems)
            )

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        new = phase_outcome(report.when, report.outcome, hasattr(report, "wasxfail"))
        merged = merge(self.outcomes.get(report.nodeid), new)
        if merged is not None:
            self.outcomes[report.nodeid] = merged

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.config.option.collectonly:
            return  # nothing ran: keep the last run's promises.json
        after = read_measurements(self.measurements_path)
        outcomes: dict[str, Outcome] = dict.fromkeys(self.collected, "not run")
        outcomes.update(self.outcomes)  # collected but never reported: the session ended first
        ran = [Result(n, o, self.collected.get(n, "")) for n, o in outcomes.items()]
        fresh = changed_keys(self.before, after)
        self.matrix = build(self.promises, ran, after, fresh, self.partial)
        if self.json_path is not None:
            document = render.as_json(self.matrix, ran, after, fresh)
            document["modes"] = [self.mode] if self.mode else []
            document["claims_in_part"] = sorted(self.partial)
            document["claims_whole"] = sorted(self.complete)
            self.json_path.parent.mkdir(parents=True, exist_ok=True)
            self.json_path.write_text(json.dumps(document, indent=2) + "\n")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_summary(self, prefix: list[str]) -> None:
        prefix.insert(0, render.html(self.matrix))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(2, "<th>promises</th>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        keys = [p.key for p in self.promises if any(claims(x, report.nodeid) for x in p.prefixes)]
        cells.insert(2, f'<td class="col-promises">{", ".join(keys)}</td>')

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.config.option.collectonly or not any(
            c.results for r in self.matrix for c in r.claims
        ):
            return  # no claimed test ran (e.g. only these reporting tests): nothing to say
        terminalreporter.write_sep("-", "promise matrix")
        for line in render.text(self.matrix):
            terminalreporter.write_line(line)
        if self.json_path is not None:
            terminalreporter.write_line(f"  written to {self.json_path}")


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
