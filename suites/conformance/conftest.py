"""Live tests here count replicas and scale by hand: the autoscalers sit out the session. The
generic live suite's tests imported here (test_drawing_live.py) check the testbed's cluster."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _autoscalers_sit_out(autoscalers_suspended: object) -> None:
    """The root conftest's `autoscalers_suspended`, for every test here."""


@pytest.fixture(scope="session")
def live_api(testbed: object) -> object:
    """The testbed's cluster, for kubepromises' generic live suite (its `live_api`)."""
    from kubernetes import config

    kubeconfig = str(testbed.settings.kubeconfig)  # type: ignore[attr-defined]
    return config.new_client_from_config(config_file=kubeconfig)


@pytest.fixture(scope="session")
def live_overlay(overlay: str) -> str:
    """The overlay the testbed deployed, for kubepromises' generic live suite."""
    return overlay
