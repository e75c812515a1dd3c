"""On a reused cluster, `testbed up` runs the databases' init script again in each database
that mounts it (testbed/cluster.py, `rerun_database_init`), with the SQL as the repository has
it now: a change of the services' roles holds at once, not at the databases' next restart."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from testbed import cluster
from testbed.cluster import Testbed
from testbed.settings import Settings


def pod(name: str, config_maps: list[str]) -> SimpleNamespace:
    volumes = [SimpleNamespace(config_map=SimpleNamespace(name=c)) for c in config_maps]
    volumes.append(SimpleNamespace(config_map=None))  # an emptyDir, say
    spec = SimpleNamespace(volumes=volumes)
    return SimpleNamespace(metadata=SimpleNamespace(name=name), spec=spec)


@pytest.fixture
def ran(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[tuple[str, ...], Any]]:
    """Testbed.rerun_database_init run against three pods; the kubectl calls it made."""
    calls: list[tuple[tuple[str, ...], Any]] = []
    pods = [
        pod("order-db-0", [cluster.DATABASE_INIT]),
        pod("notification-db-0", ["mongodb-init"]),
        pod("order-service-abc", []),
    ]
    testbed = Testbed(Settings(cache=tmp_path, mode="online"))
    monkeypatch.setattr(testbed, "kube", lambda: SimpleNamespace(pods=lambda: pods))
    monkeypatch.setattr(
        testbed, "kubectl", lambda *args, stdin=None, timeout=0: calls.append((args, stdin))
    )
    testbed.rerun_database_init()
    return calls


def test_only_the_databases_that_mount_the_init_script_run_it(
    ran: list[tuple[tuple[str, ...], Any]],
) -> None:
    assert [args[4] for args, _ in ran] == ["order-db-0"]


def test_the_script_reads_the_repositorys_sql_from_stdin(
    ran: list[tuple[tuple[str, ...], Any]],
) -> None:
    ((args, stdin),) = ran
    assert args[-1] == f"APP_ROLE_SQL=/dev/stdin sh {cluster.DATABASE_INIT_SCRIPT}"
    assert stdin == cluster.DATABASE_INIT_SQL.read_bytes()
    assert b"idle_in_transaction_session_timeout" in stdin
