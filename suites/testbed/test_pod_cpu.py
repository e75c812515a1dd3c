"""`Kube.pod_cpu` (testbed/kube.py): each pod's CPU use as the metrics API reports it, and when
the window it was read over began; the autoscaling test keeps only readings taken within its
load. The window is a Go duration (`go_duration`); anything else is a clear error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from testbed.kube import Kube, go_duration


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
        pod_metrics("api-gateway-a", ["30m", "5000000n"], "2026-12-06T07:30:15Z", "15.5s"),
        pod_metrics("api-gateway-b", ["1"], "2026-12-06T07:30:20Z", "1m0s"),
    )

    cpu = kube.pod_cpu()

    assert cpu == {
        "api-gateway-a": (
            pytest.approx(0.035),
            datetime(2026, 12, 6, 7, 29, 59, 500000, tzinfo=UTC),
        ),
        "api-gateway-b": (1.0, datetime(2026, 12, 6, 7, 29, 20, tzinfo=UTC)),
    }


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("15s", 15), ("15.25s", 15.25), ("1m0.5s", 60.5), ("2h3m4s", 7384), ("3m", 180)],
)
def test_go_durations_are_read(text: str, seconds: float) -> None:
    assert go_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "15", "150ms", "s15", "1.5.2s"])
def test_anything_else_is_a_clear_error(text: str) -> None:
    with pytest.raises(ValueError, match="not a Go duration"):
        go_duration(text)
