"""The config-rollout and memory-limit checks (`kubepromises.configs`, `kubepromises.limits`) on
manifests, readings and pod states written here.

The generic live suite reads what pods see by exec and checks it with these functions; here
each is shown, without a cluster, to find the uses the shop's manifests make, to hold on the
readings of a healthy rollout, and to name each breakage it exists for: a replica still on the
old value, a container limited to another size or to none, an OOM kill (and none where a
container ended otherwise). A reading that could not be made is neither a violation nor a pass:
it is listed as not verified.
"""

from __future__ import annotations

import dataclasses

import pytest
import yaml

from kubepromises import load_drawing
from kubepromises.configs import (
    MARK,
    ConfigUse,
    Reading,
    chosen_keys,
    config_violations,
    parse_reading,
    read_command,
    unread,
    uses,
)
from kubepromises.limits import (
    LimitReading,
    MemoryLimit,
    held_bytes,
    memory_limit_violations,
    memory_limits,
    oom_kills,
    starving_limit,
)
from kubepromises.limits import parse_reading as parse_limit
from kubepromises.limits import unread as limits_unread
from kubepromises.static import Obj, find
from tests.kubepromises.example import SHOP

CANNOT_EXEC = '{"status":"Failure","message":"exec: \\"sh\\": executable file not found in $PATH"}'


@pytest.fixture(scope="module")
def shop_objects() -> list[Obj]:
    """The shop's plain manifests, read as they are written (no kustomize needed)."""
    objects: list[Obj] = []
    for path in sorted((SHOP / "manifests").glob("*.yaml")):
        if path.name != "kustomization.yaml":
            objects += [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
    return objects


def workload(containers: list[Obj], volumes: list[Obj] | None = None) -> Obj:
    return {
        "kind": "Deployment",
        "metadata": {"name": "web"},
        "spec": {"template": {"spec": {"containers": containers, "volumes": volumes or []}}},
    }


# -- where a workload takes a ConfigMap --------------------------------------------------------


def test_the_shops_services_take_their_configmaps_whole_as_variables(
    shop_objects: list[Obj],
) -> None:
    drawing = load_drawing(SHOP / "drawing.yaml")
    found = {}
    for service in drawing.services:
        obj = find(shop_objects, service.kind, service.name)
        assert obj is not None
        found[service.name] = uses(obj, MARK, drawing.configmaps)
    assert found == {
        "storefront": [ConfigUse("storefront", "storefront", "storefront-config", "env", MARK)],
        "checkout": [ConfigUse("checkout", "checkout", "checkout-config", "env", MARK)],
    }


def test_every_whole_use_is_found_and_chosen_keys_are_listed_apart() -> None:
    # arrange: each way a container can take a ConfigMap, and one ConfigMap not the drawing's
    web = workload(
        containers=[
            {
                "name": "app",
                "envFrom": [
                    {"prefix": "APP_", "configMapRef": {"name": "settings"}},
                    {"configMapRef": {"name": "elsewhere"}},
                ],
                "env": [
                    {
                        "name": "LEVEL",
                        "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "level"}},
                    }
                ],
                "volumeMounts": [
                    {"name": "whole", "mountPath": "/etc/app/"},
                    {"name": "picked", "mountPath": "/etc/picked"},
                    {"name": "whole", "mountPath": "/etc/one.conf", "subPath": "one.conf"},
                    {"name": "bundle", "mountPath": "/etc/bundle"},
                ],
            }
        ],
        volumes=[
            {"name": "whole", "configMap": {"name": "settings"}},
            {
                "name": "picked",
                "configMap": {"name": "files", "items": [{"key": "a", "path": "a"}]},
            },
            {"name": "bundle", "projected": {"sources": [{"configMap": {"name": "files"}}]}},
        ],
    )
    drawn = ("settings", "files")

    # act + assert: the new key is seen where a container takes a ConfigMap whole
    assert uses(web, "NEW", drawn) == [
        ConfigUse("web", "app", "settings", "env", "APP_NEW"),
        ConfigUse("web", "app", "settings", "file", "/etc/app/NEW"),
        ConfigUse("web", "app", "files", "file", "/etc/bundle/NEW"),
    ]
    assert chosen_keys(web, drawn) == [
        "app $LEVEL from key level of ConfigMap/settings",
        "app files of keys a of ConfigMap/files",
        "app /etc/one.conf (a subPath of ConfigMap/settings)",
    ]


def test_a_workload_that_takes_chosen_keys_only_has_no_use_for_a_new_key() -> None:
    web = workload(
        containers=[
            {
                "name": "app",
                "env": [
                    {
                        "name": "L",
                        "valueFrom": {"configMapKeyRef": {"name": "settings", "key": "l"}},
                    }
                ],
            }
        ]
    )
    assert uses(web, MARK, ("settings",)) == []
    assert chosen_keys(web, ("settings",)) == ["app $L from key l of ConfigMap/settings"]


def test_the_read_command_passes_the_variable_or_path_as_an_argument() -> None:
    variable = ConfigUse("web", "app", "settings", "env", "APP_NEW")
    file = ConfigUse("web", "app", "settings", "file", "/etc/app/NEW")
    assert read_command(variable)[:2] == ["sh", "-c"]
    assert "printenv" in read_command(variable)[2]
    assert read_command(variable)[3] == "APP_NEW"
    assert "cat" in read_command(file)[2]
    assert read_command(file)[3] == "/etc/app/NEW"


# -- what the pods see ---------------------------------------------------------------------------

USE = ConfigUse("web", "app", "settings", "env", MARK)


def test_a_reading_is_a_value_unset_or_not_read() -> None:
    assert parse_reading("web-1", USE, True, "set 1733.5") == Reading("web-1", USE, "1733.5")
    assert parse_reading("web-1", USE, True, "unset") == Reading("web-1", USE, None)
    not_read = parse_reading("web-1", USE, False, CANNOT_EXEC)
    assert not_read.failed is not None
    assert not_read.failed.startswith(f"cannot read {USE} in web-1")
    assert "executable file not found" in not_read.failed


def test_every_replica_on_the_new_value_holds() -> None:
    readings = [Reading(f"web-{i}", USE, "42") for i in range(3)]
    assert config_violations(readings, "42") == []
    assert config_violations([Reading("web-0", USE, None)], None) == []


def test_a_replica_still_on_the_old_value_is_named() -> None:
    """The control's breakage: a change applied without a rollout."""
    readings = [Reading("web-0", USE, "42"), Reading("web-1", USE, None)]
    [violation] = config_violations(readings, "42")
    assert violation == (
        f"pod web-1 sees web/app ${MARK} unset; ConfigMap/settings has {MARK} '42'"
    )


def test_a_replica_still_on_the_changed_value_after_the_restore_is_named() -> None:
    [violation] = config_violations([Reading("web-0", USE, "42")], None)
    assert violation.startswith(f"pod web-0 sees web/app ${MARK} '42'")
    assert violation.endswith("unset")


def test_a_reading_not_made_is_neither_a_violation_nor_a_pass() -> None:
    failed = Reading("web-1", USE, None, failed="cannot read it")
    assert config_violations([Reading("web-0", USE, "42"), failed], "42") == []
    assert unread([Reading("web-0", USE, "42"), failed]) == ["cannot read it"]


def test_no_replica_read_is_a_violation() -> None:
    assert config_violations([], "42") == ["no Ready replica was read"]


# -- memory limits -------------------------------------------------------------------------------

LIMIT = MemoryLimit("web", "app", "64Mi")


def test_every_container_of_the_shop_has_its_limit_listed(shop_objects: list[Obj]) -> None:
    drawing = load_drawing(SHOP / "drawing.yaml")
    found = memory_limits(drawing, "plain", shop_objects)
    assert {(str(limit), limit.limit) for limit in found} == {
        ("storefront/storefront", "64Mi"),
        ("checkout/checkout", "64Mi"),
        ("checkout-db/checkout-db", "256Mi"),
        ("cart-cache/cart-cache", "128Mi"),
    }


def test_a_limit_is_read_from_either_cgroup_version() -> None:
    v1 = "cat: /sys/fs/cgroup/memory.max: No such file or directory\n67108864"
    assert parse_limit("web-0", LIMIT, "67108864") == LimitReading("web-0", LIMIT, 67108864)
    assert parse_limit("web-0", LIMIT, v1) == LimitReading("web-0", LIMIT, 67108864)


def test_a_limit_is_read_when_the_complaint_is_glued_to_it() -> None:
    """The exec API joins stdout and stderr as they come: seen on the testbed (5 Dec 2026)."""
    glued = "cat: /sys/fs/cgroup/memory.max: No such file or directory67108864"
    assert parse_limit("web-0", LIMIT, glued) == LimitReading("web-0", LIMIT, 67108864)
    before = "67108864cat: /sys/fs/cgroup/memory.max: No such file or directory"
    assert parse_limit("web-0", LIMIT, before) == LimitReading("web-0", LIMIT, 67108864)


def test_another_complaint_is_not_read() -> None:
    denied = "cat: /sys/fs/cgroup/memory.max: Permission denied67108864"
    assert parse_limit("web-0", LIMIT, denied).failed is not None


def test_no_limit_reads_as_unlimited_in_either_version() -> None:
    assert parse_limit("web-0", LIMIT, "max").bytes is None
    assert parse_limit("web-0", LIMIT, "9223372036854771712").bytes is None
    assert parse_limit("web-0", LIMIT, "max").failed is None


def test_a_container_without_cat_is_not_read() -> None:
    reading = parse_limit("web-0", LIMIT, CANNOT_EXEC)
    assert reading.failed is not None
    assert reading.failed.startswith("cannot read web/app's memory cgroup in web-0")


def test_the_manifests_limit_held_to_the_page_holds() -> None:
    """100M is no whole number of pages: the kernel holds 99999744 bytes (24414 pages)."""
    not_whole = MemoryLimit("web", "app", "100M")
    readings = [
        LimitReading("web-0", LIMIT, 64 * 2**20),
        LimitReading("web-1", not_whole, 99999744),
    ]
    assert memory_limit_violations(readings) == []


def test_another_limit_is_named() -> None:
    """The control's breakage: the manifests give one limit, the container runs with another."""
    [violation] = memory_limit_violations([LimitReading("web-0", LIMIT, 128 * 2**20)])
    assert violation == (
        "pod web-0's web/app runs limited to 134217728 bytes (128Mi); the manifests give 64Mi "
        "(67108864 bytes)"
    )


def test_a_limit_a_page_or_more_below_is_named() -> None:
    [violation] = memory_limit_violations([LimitReading("web-0", LIMIT, 64 * 2**20 - 2**16)])
    assert "runs limited to 67043328 bytes" in violation


def test_a_container_without_a_limit_is_named() -> None:
    [violation] = memory_limit_violations([LimitReading("web-0", LIMIT, None)])
    assert violation == "pod web-0's web/app runs without a memory limit; the manifests give 64Mi"


def test_a_limit_not_read_is_neither_a_violation_nor_a_pass() -> None:
    readings = [
        LimitReading("web-0", LIMIT, 64 * 2**20),
        LimitReading("web-1", LIMIT, None, failed="cannot read"),
    ]
    assert memory_limit_violations(readings) == []
    assert limits_unread(readings) == ["cannot read"]
    assert memory_limit_violations([]) == ["no container with a memory limit was read"]


def test_the_control_doubles_a_limit_and_the_real_reading_fails_it() -> None:
    """The live control's move on a reading: the manifests' limit doubled, the check names it."""
    reading = LimitReading("web-0", LIMIT, 64 * 2**20)
    doubled = dataclasses.replace(LIMIT, limit=str(LIMIT.bytes * 2))
    [violation] = memory_limit_violations([dataclasses.replace(reading, limit=doubled)])
    assert violation.startswith("pod web-0's web/app runs limited to 67108864 bytes")


# -- going over the limit ------------------------------------------------------------------------

V2_STAT = "anon 12582912\nfile 4194304\nkernel 1048576\nanon_thp 0\n"
V1_STAT = (
    "cat: /sys/fs/cgroup/memory.stat: No such file or directory\n"
    "cache 4194304\nrss 12582912\nhierarchical_memory_limit 67108864\ntotal_rss 12582912\n"
)


def test_the_memory_a_container_holds_is_read_from_either_cgroup_version() -> None:
    assert held_bytes(V2_STAT) == 12 * 2**20
    assert held_bytes(V1_STAT) == 12 * 2**20
    assert held_bytes(V1_STAT.replace("directory\n", "directory")) == 12 * 2**20  # glued
    assert held_bytes(CANNOT_EXEC) is None


def test_the_starving_limit_is_half_in_whole_mebibytes_and_never_too_small() -> None:
    assert starving_limit(25 * 2**20 + 12345) == 12 * 2**20
    assert starving_limit(10 * 2**20) == 5 * 2**20
    # half is 4 MiB, where the runtime's start-up failed on the testbed: 5 MiB instead
    assert starving_limit(9 * 2**20 + 2**19) == 5 * 2**20


def test_no_starving_limit_when_the_runtime_needs_most_of_what_the_process_holds() -> None:
    assert starving_limit(int(7.5 * 2**20)) == 5 * 2**20
    assert starving_limit(7 * 2**20) is None  # 5 MiB is more than two thirds of it


def status(name: str, restarts: int, reason: str | None) -> Obj:
    last = {"terminated": {"reason": reason, "exitCode": 137}} if reason else {}
    return {"name": name, "restartCount": restarts, "lastState": last}


def pod_with(*statuses: Obj) -> Obj:
    return {"metadata": {"name": "web-9"}, "status": {"containerStatuses": list(statuses)}}


def test_an_oom_killed_and_restarted_container_is_found() -> None:
    found = oom_kills([pod_with(status("app", 2, "OOMKilled"), status("side", 0, None))])
    assert found == ["pod web-9's app: OOMKilled, 2 restarts"]


def test_a_container_ended_otherwise_or_not_restarted_is_no_oom_kill() -> None:
    """The control's reading: a healthy pod, one ended by a crash, names no OOM kill."""
    assert oom_kills([pod_with(status("app", 0, None))]) == []
    assert oom_kills([pod_with(status("app", 1, "Error"))]) == []
    assert oom_kills([pod_with(status("app", 0, "OOMKilled"))]) == []
    assert oom_kills([{"metadata": {"name": "web-0"}, "status": {}}]) == []


class InterleavedExec:
    """The exec API's answer as the testbed sent it on 6 Dec 2026: `cat`'s complaint about the
    other cgroup version's file in two stderr frames, the limit on stdout between them."""

    frames = (
        (2, "cat: /sys/fs/cgroup/memory.max"),
        (1, "268435456\n"),
        (2, ": No such file or directory\n"),
    )

    def run_forever(self, timeout: float) -> None:
        pass

    def read_channel(self, channel: int) -> str:
        if channel == 3:
            return '{"status":"Failure","message":"command terminated with exit code 1"}'
        return "".join(text for c, text in self.frames if c == channel)

    def read_all(self) -> str:
        return "".join(text for _, text in self.frames)

    def close(self) -> None:
        pass


def test_a_limit_printed_between_two_frames_of_a_complaint_is_read(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kubernetes import client

    from kubepromises import live

    monkeypatch.setattr("kubernetes.stream.stream", lambda *args, **kwargs: InterleavedExec())
    api = client.ApiClient(client.Configuration())

    # act: stdout and stderr read apart, stdout first
    _, printed = live.run_in_pod(api, "shop", "web-0", ["cat", "x"])

    # assert
    assert parse_limit("web-0", LIMIT, printed) == LimitReading("web-0", LIMIT, 268435456)


def test_negative_control_the_frames_joined_as_they_came_are_not_read() -> None:
    # The reading before 6 Dec 2026: every frame in arrival order, the number inside the complaint
    joined = InterleavedExec().read_all()
    assert parse_limit("web-0", LIMIT, joined).failed is not None
