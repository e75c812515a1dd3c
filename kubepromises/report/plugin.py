"""The promise matrix of a session: first in the HTML report, in promises.json and the terminal.

`kubepromises.plugin` registers `PromiseMatrix` when the session's drawing names a promises file
(or the `promise_matrix` ini names a module holding a `PROMISES` table). It collects each test's
outcome and judges every promise at the end of the session: the verdict from the claimed tests'
outcomes (`kubepromises.report.status`), the figures of the measurements file (the
`measurements` ini) against their SLOs, and what the tests were verified against. The matrix
goes into pytest-html's report (its summary, and a "promises" column in the results table; the
`curves` ini's charts after it), into
``promises.json`` (`--promises-json`, by default beside ``--html`` or ``--junitxml``) and the
terminal. A project that brings up its cluster in a mode (online, offline) sets `mode`.
"""

from __future__ import annotations

import importlib
import json
import time
from pathlib import Path
from typing import Final

import pytest

from kubepromises.drawing import Drawing
from kubepromises.report import curves, render
from kubepromises.report.collection import (
    complete_claims,
    partial_claims,
    promises_without_claims,
    run_scope,
    unresolved_claims,
)
from kubepromises.report.matrix import Promise, promises_of
from kubepromises.report.status import (
    Outcome,
    PromiseResult,
    Result,
    build,
    changed_keys,
    merge,
    module_id,
    phase_outcome,
)

#: The name `PromiseMatrix` is registered under (`config.pluginmanager.get_plugin`).
PLUGIN_NAME: Final = "promise-matrix"


def addoption(parser: pytest.Parser) -> None:
    """The matrix's option and ini values (added by `kubepromises.plugin`)."""
    group = parser.getgroup("promise matrix")
    group.addoption(
        "--promises-json",
        default=None,
        help="where to write the promise matrix as JSON (default: beside --html or --junitxml)",
    )
    parser.addini(
        "promise_matrix",
        "a module holding a PROMISES table, instead of the drawing's promises file",
        default="",
    )
    parser.addini(
        "measurements", "measured figures (JSON), from rootdir", default="reports/measurements.json"
    )
    parser.addini(
        "curves",
        "charts (SVG, by glob from rootdir) shown after the matrix in the HTML report, each "
        "with when it was measured (kubepromises.report.curves)",
        type="linelist",
        default=[],
    )


def configure(config: pytest.Config, drawing: Drawing | None) -> None:
    """Register the matrix when the session has promises: the ini's module, else the drawing's
    promises file. Without either, nothing changes."""
    config.addinivalue_line(
        "markers",
        "fake(component): the test talks to a fake of the component (written for the test, not "
        "the real thing nor a stand-in keeping its interface): it can fail a promise, never "
        "verify one",
    )
    module = str(config.getini("promise_matrix"))
    if module:
        promises = load_promises(module)
    elif drawing is not None and drawing.promises:
        promises = promises_of(drawing)
    else:
        return
    config.pluginmanager.register(PromiseMatrix(config, promises), PLUGIN_NAME)


def load_promises(module: str) -> tuple[Promise, ...]:
    """The PROMISES table of a module; a promise without claims is refused, wherever it is."""
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


def module_id_of(item: pytest.Item) -> str:
    """The test's id by its module's dotted name (`package.module::test_x`), "" for none."""
    module = item.getparent(pytest.Module)
    if module is None:
        return ""
    name = getattr(module.obj, "__name__", "")
    return module_id(item.nodeid, module.nodeid, name if isinstance(name, str) else "")


def read_measurements(path: Path) -> dict[str, object]:
    """The recorded figures; an unreadable file counts as none (the report must still render)."""
    try:
        figures = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return figures if isinstance(figures, dict) else {}


class PromiseMatrix:
    """Collects each test's outcome, then judges every promise at the end of the session."""

    def __init__(self, config: pytest.Config, promises: tuple[Promise, ...]) -> None:
        self.config = config
        self.promises = promises
        self.measurements_path = config.rootpath / str(config.getini("measurements"))
        self.before: dict[str, object] = {}
        self.outcomes: dict[str, Outcome] = {}
        #: Every collected test (deselected ones too) and the component it fakes, if any.
        self.collected: dict[str, str] = {}
        #: Each collected test's id by its module's dotted name, where it has one.
        self.modules: dict[str, str] = {}
        self.broken: list[str] = []
        #: Claimed prefixes the run's arguments cover in part, and whole.
        self.partial: set[str] = set()
        self.complete: set[str] = set()
        #: The cluster's mode (offline, online), when the project says which it ran in.
        self.mode: str | None = None
        self.matrix: list[PromiseResult] = []
        self.json_path = self._json_path()
        self.began = time.time()

    def _json_path(self) -> Path | None:
        chosen = self.config.getoption("--promises-json")
        if chosen:
            return Path(chosen)
        for option in ("htmlpath", "xmlpath"):
            beside = self.config.getoption(option, default=None)
            if beside:
                return Path(beside).parent / "promises.json"
        return None

    def _collect(self, item: pytest.Item) -> None:
        self.collected[item.nodeid] = fake_of(item)
        named = module_id_of(item)
        if named:
            self.modules[item.nodeid] = named

    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self.before = read_measurements(self.measurements_path)
        self.began = time.time()

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:  # a module that cannot be imported fails every promise it backs
            self.outcomes[report.nodeid] = "failed"
            self.broken.append(report.nodeid)
        elif report.skipped:  # a module skipped whole (allow_module_level): verifies nothing
            self.outcomes[report.nodeid] = "skipped"
            self.broken.append(report.nodeid)

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        for item in items:  # by -k, -m or --deselect: collected, not run
            self._collect(item)
            self.outcomes.setdefault(item.nodeid, "deselected")

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Every claim inside the run's arguments must name a collected test."""
        for item in session.items:
            self._collect(item)
        rootpath = self.config.rootpath
        scope = run_scope(
            self.config.args,
            self.config.invocation_params.dir,
            rootpath,
            pyargs=bool(self.config.getoption("pyargs", default=False)),
        )
        self.partial = partial_claims(self.promises, scope, rootpath)
        self.complete = complete_claims(self.promises, scope, rootpath)
        names = [*self.collected, *self.modules.values()]
        problems = unresolved_claims(self.promises, names, scope, self.broken, rootpath)
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
        ran = [
            Result(n, o, self.collected.get(n, ""), self.modules.get(n, ""))
            for n, o in outcomes.items()
        ]
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
        patterns = [str(p) for p in self.config.getini("curves")]
        if patterns:
            found, problems = curves.find_curves(self.config.rootpath, patterns, self.began)
            prefix.insert(0, curves.html(found, problems))
        prefix.insert(0, render.html(self.matrix))

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        cells.insert(2, "<th>promises</th>")

    @pytest.hookimpl(optionalhook=True)
    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        test = Result(report.nodeid, "passed", module=self.modules.get(report.nodeid, ""))
        keys = [p.key for p in self.promises if any(test.named_by(x) for x in p.prefixes)]
        cells.insert(2, f'<td class="col-promises">{", ".join(keys)}</td>')

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.config.option.collectonly or not any(
            c.results for r in self.matrix for c in r.claims
        ):
            return  # no claimed test ran: nothing to say
        terminalreporter.write_sep("-", "promise matrix")
        for line in render.text(self.matrix):
            terminalreporter.write_line(line)
        if self.json_path is not None:
            terminalreporter.write_line(f"  written to {self.json_path}")
