"""The promise table cannot rot: prefixes name real tests; every live/static module is claimed;
the table read from promises.yaml keeps every promise."""

from __future__ import annotations

import ast
import fnmatch
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import get_args

import pytest

from kubepromises.drawing import PROMISES_SCHEMA_RESOURCE, schema
from kubepromises.report import matrix as report_matrix
from kubepromises.report.matrix import Figure, Promise
from kubepromises.report.status import claims
from suites import matrix
from suites.promises import DRAWING, REPO_ROOT
from suites.reporting import checklist

#: The promises the table had when it moved from suites/matrix.py to promises.yaml: dropping
#: one from the data is a change to this list too, never an accident of an edit.
PROMISE_KEYS = (
    "high-availability",
    "auto-healing",
    "load-balancing",
    "service-discovery",
    "persistent-storage",
    "configuration",
    "health-checks",
    "resource-limits",
    "scalability",
    "rolling-updates",
    "namespace",
    "workloads",
    "services-count",
    "configmaps-and-secrets",
    "pvcs",
    "total-pods",
    "external-access",
    "data-flow",
    "cache",
    "queue",
    "logs",
    "database-loss",
    "network-faults",
    "network-latency",
    "clock-skew",
    "network-isolation",
    "least-privilege",
    "valid-manifests",
    "orders-are-correct",
    "orders-under-faults",
)


def defined_tests(module: Path) -> set[str]:
    """The names of the module's test functions (module level and in classes), and of those it
    imports by name (a generic suite's tests run in a module of this project)."""
    tree = ast.parse(module.read_text())
    defined = {
        node.name
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")
    }
    imported = {
        alias.asname or alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
        if (alias.asname or alias.name).startswith("test")
    }
    return defined | imported


def missing_promises(promises: Iterable[Promise], keys: Iterable[str]) -> list[str]:
    """Keys without a promise in the table, and promises that claim no test."""
    table = {p.key: p for p in promises}
    missing = [f"{key}: no such promise" for key in keys if key not in table]
    return missing + [f"{p.key}: claims no test" for p in table.values() if not p.tests]


def typing_drift(typed: Iterable[str], enum: Iterable[str]) -> list[str]:
    """Values a Literal type and the schema's enum do not share."""
    typed, enum = set(typed), set(enum)
    return [f"only typed: {v}" for v in sorted(typed - enum)] + [
        f"only in the schema: {v}" for v in sorted(enum - typed)
    ]


def missing_prefixes(promises: Iterable[Promise], root: Path) -> list[str]:
    """Claimed prefixes (not pending ones) that name no existing test module or function."""
    missing = []
    for promise in promises:
        for prefix in promise.tests:
            path, _, function = prefix.partition("::")
            target = root / path
            if prefix.endswith("/"):
                found = target.is_dir() and any(target.rglob("test_*.py"))
            elif not target.is_file():
                found = False
            else:
                found = not function or function in defined_tests(target)
            if not found:
                missing.append(f"{promise.key}: {prefix}")
    return missing


def unclaimed_modules(promises: Sequence[Promise], root: Path, folders: Iterable[str]) -> list[str]:
    """Test modules under the folders that no promise claims (module, folder or function)."""
    prefixes = [p for promise in promises for p in promise.prefixes]
    modules = [m for folder in folders for m in sorted((root / folder).rglob("test_*.py"))]
    unclaimed = []
    for module in modules:
        nodeid = module.relative_to(root).as_posix()
        if not any(claims(p, nodeid) or p.startswith(nodeid + "::") for p in prefixes):
            unclaimed.append(nodeid)
    return unclaimed


def recorded_keys(roots: Iterable[Path]) -> set[str]:
    """The measurements.json keys the code records: `record("key", …)` or `record(f"a.{x}", …)`
    calls, an f-string's placeholders as `*`."""
    keys = set()
    for module in (m for root in roots for m in sorted(root.rglob("*.py"))):
        for node in ast.walk(ast.parse(module.read_text())):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "id", getattr(node.func, "attr", ""))
            first = node.args[0]
            if name != "record":
                continue
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                keys.add(first.value)
            elif isinstance(first, ast.JoinedStr):
                keys.add(
                    "".join(
                        str(part.value) if isinstance(part, ast.Constant) else "*"
                        for part in first.values
                    )
                )
    return keys


def unwritten_figures(promises: Iterable[Promise], keys: Iterable[str]) -> list[str]:
    """Figure patterns no recorded key can match. A key's placeholder stands for any name (so
    `load.mixed.p95_ms` matches `load.mixed.{name}`), a pattern's `*` for any instance."""
    keys = list(keys)

    def meet(pattern: str, key: str) -> bool:
        return fnmatch.fnmatchcase(key.replace("*", "x"), pattern) or fnmatch.fnmatchcase(
            pattern.replace("*", "x"), key
        )

    return [
        f"{promise.key}: {figure.pattern}"
        for promise in promises
        for figure in promise.figures
        if not any(meet(figure.pattern, key) for key in keys)
    ]


def test_promise_keys_are_unique_and_each_promise_names_an_existing_test() -> None:
    keys = [p.key for p in matrix.PROMISES]
    assert len(keys) == len(set(keys)), keys
    assert all(p.tests for p in matrix.PROMISES)
    assert missing_prefixes(matrix.PROMISES, REPO_ROOT) == []


def test_the_table_read_from_the_data_has_every_promise_each_claiming_tests() -> None:
    assert missing_promises(matrix.PROMISES, PROMISE_KEYS) == []
    assert len(matrix.PROMISES) == len(DRAWING.promises)


def test_a_lost_promise_or_one_without_tests_is_caught() -> None:
    """The control: the same check on a table with a promise dropped and one emptied."""
    kept = [p for p in matrix.PROMISES if p.key != "queue"]
    emptied = [
        Promise(p.key, p.source, p.title, p.drawing, ()) if p.key == "cache" else p for p in kept
    ]
    assert missing_promises(emptied, PROMISE_KEYS) == [
        "queue: no such promise",
        "cache: claims no test",
    ]


def test_a_figure_bound_to_an_slo_keeps_the_drawings_threshold() -> None:
    (healing,) = [p for p in matrix.PROMISES if p.key == "auto-healing"]
    assert healing.figures[0].threshold == DRAWING.slo("ready").at_most
    assert healing.figures[0].unit == DRAWING.slo("ready").unit
    assert healing.figures[1].threshold is None


def test_the_types_of_sources_and_modes_are_the_schemas() -> None:
    definitions = schema(PROMISES_SCHEMA_RESOURCE)["$defs"]
    assert typing_drift(get_args(report_matrix.Source), definitions["source"]["enum"]) == []
    assert typing_drift(report_matrix.MODES, definitions["mode"]["enum"]) == []


def test_a_mode_only_typed_or_only_in_the_schema_is_caught() -> None:
    assert typing_drift(("offline", "online", "hybrid"), ("offline", "online", "edge")) == [
        "only typed: hybrid",
        "only in the schema: edge",
    ]


def test_every_live_and_static_test_module_is_claimed_by_some_promise() -> None:
    unclaimed = unclaimed_modules(matrix.PROMISES, REPO_ROOT, matrix.CLAIMED_FOLDERS)
    assert unclaimed == [], (
        f"add these modules to a promise in promises.yaml (then run "
        f"python -m suites.reporting.checklist): {unclaimed}"
    )


def test_the_key_features_of_the_drawing_each_have_a_promise() -> None:
    features = [p.title for p in matrix.PROMISES if p.source == "key features"]
    assert len(features) == 10, features  # the drawing's KEY FEATURES box lists ten


def test_docs_checklist_is_generated_from_the_table() -> None:
    assert checklist.CHECKLIST.read_text() == checklist.render(), (
        "docs/CHECKLIST.md is out of date: run python -m suites.reporting.checklist"
    )


def test_every_figure_the_matrix_shows_is_recorded_by_some_code() -> None:
    keys = recorded_keys([REPO_ROOT / "suites", REPO_ROOT / "testbed"])
    assert "slowest_time_to_ready_seconds.*" in keys  # an f-string key, with its placeholder
    assert unwritten_figures(matrix.PROMISES, keys) == []


def test_a_figure_no_code_records_is_caught(tmp_path: Path) -> None:
    (tmp_path / "test_x.py").write_text(
        'record(f"database_loss.{name}", 1)\nlive.record("logs.latency_seconds.p95", 2)\n'
    )
    keys = recorded_keys([tmp_path])
    assert keys == {"database_loss.*", "logs.latency_seconds.p95"}
    table = (
        Promise(
            "a",
            "behaviour",
            "A",
            "a",
            ("suites/static/test_replicas.py",),
            (
                Figure("kept", "database_loss.*"),
                Figure("one instance of it", "database_loss.order-db"),
                Figure("never written", "order_db_loss"),
                Figure("another key", "logs.completeness.*"),
            ),
        ),
    )
    assert unwritten_figures(table, keys) == ["a: order_db_loss", "a: logs.completeness.*"]


def test_a_prefix_naming_a_missing_module_or_function_is_caught() -> None:
    bogus = (
        Promise("a", "behaviour", "A", "a", ("suites/static/test_nothing_here.py",)),
        Promise("b", "behaviour", "B", "b", ("suites/static/test_replicas.py::test_gone",)),
        Promise("c", "behaviour", "C", "c", ("suites/static/test_replicas.py",)),
    )
    assert missing_prefixes(bogus, REPO_ROOT) == [
        "a: suites/static/test_nothing_here.py",
        "b: suites/static/test_replicas.py::test_gone",
    ]


def test_a_test_imported_by_name_counts_and_one_not_imported_is_caught(tmp_path: Path) -> None:
    """A module running a generic suite's tests names them in its imports; the control: a name
    the module neither defines nor imports is still missing."""
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "test_generic.py").write_text(
        "from generic_suite import fixture_x, test_imported\n\n\ndef test_defined():\n    pass\n"
    )
    table = (
        Promise("a", "behaviour", "A", "a", ("suites/test_generic.py::test_imported",)),
        Promise("b", "behaviour", "B", "b", ("suites/test_generic.py::test_defined",)),
        Promise("c", "behaviour", "C", "c", ("suites/test_generic.py::fixture_x",)),
        Promise("d", "behaviour", "D", "d", ("suites/test_generic.py::test_elsewhere",)),
    )
    assert missing_prefixes(table, tmp_path) == [
        "c: suites/test_generic.py::fixture_x",
        "d: suites/test_generic.py::test_elsewhere",
    ]


def test_a_new_unclaimed_module_is_caught(tmp_path: Path) -> None:
    (tmp_path / "suites" / "live").mkdir(parents=True)
    for name in ("test_claimed.py", "test_by_function.py", "test_new.py"):
        (tmp_path / "suites" / "live" / name).write_text("def test_x():\n    pass\n")
    table = (
        Promise("a", "behaviour", "A", "a", ("suites/live/test_claimed.py",)),
        Promise("b", "behaviour", "B", "b", ("suites/live/test_by_function.py::test_x",)),
    )
    assert unclaimed_modules(table, tmp_path, ["suites/live"]) == ["suites/live/test_new.py"]


def test_a_stale_checklist_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stale = tmp_path / "CHECKLIST.md"
    stale.write_text(checklist.render().replace("High availability", "Hi availability"))
    monkeypatch.setattr(checklist, "CHECKLIST", stale)
    assert checklist.main(["--check"]) == 1
    stale.write_text(checklist.render())
    assert checklist.main(["--check"]) == 0
