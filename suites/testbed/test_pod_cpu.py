"""`Kube.pod_cpu` (testbed/kube.py): each pod's CPU use as the metrics API reports it, and the
window it was read over; the autoscaling test keeps only readings over enough of its load. The
window is a Go duration (`go_duration`); anything else is a clear error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from testbed.kube import CpuReading, Kube, go_duration


def kube_reporting(*items: dict[str, Any]) -> Kube:
    """A Kube whose metrics API answers with these PodMetrics."""
    kube = Kube.__new__(Kube)
    kube.namespace = "demo-micro"
    kube.custom = SimpleNamespace(
        list_namespaced_custom_object=lambda group, version, namespace, plural: {"items": items}
    )
    return kube


def pod_metrics(name: str, cpu: list[str], timestamp: str, window: str) -> dict[str, Any]:
    return {
        "metadata": {"name": name},
        "timestamp": timestamp,
        "window": window,
        "containers": [{"usage": {"cpu": c, "memory": "10Mi"}} for c in cpu],
    }


def test_each_pod_has_its_containers_cpu_summed_and_the_start_of_its_window() -> None:
    kube = kube_reporting(
        pod_metrics("api-gateway-a", ["500m", "250000000n"], "2026-12-06T07:30:15Z", "15.5s"),
        pod_metrics("api-gateway-b", ["1"], "2026-12-06T07:30:20Z", "1m0s"),
    )

    cpu = kube.pod_cpu()

    assert cpu == {
        "api-gateway-a": CpuReading(
            cores=0.75,
            began=datetime(2026, 12, 6, 7, 29, 59, 500000, tzinfo=UTC),
            seconds=15.5,
        ),
        "api-gateway-b": CpuReading(
            cores=1.0, began=datetime(2026, 12, 6, 7, 29, 20, tzinfo=UTC), seconds=60.0
        ),
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("15s", 15),
        ("15.25s", 15.25),
        ("418ms", 0.418),
        ("1m0.5s", 60.5),
        ("2h3m4s", 7384),
        ("3m", 180),
        ("1s500ms", 1.5),
        ("250us", 0.00025),
        ("0", 0),
    ],
)
def test_go_durations_are_read(text: str, seconds: float) -> None:
    """The window is what lies between two of metrics-server's readings of the kubelet: 15 s
    at its resolution, but 418 ms was seen (the cold CI run of 6 Dec 2026)."""
    assert go_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "15", "s15", "1.5.2s", "15 s", "-1s", "1d"])
def test_anything_else_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="not a Go duration"):
        go_duration(text)
