"""Live tests here count replicas and scale by hand: the autoscalers sit out the session."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def _autoscalers_sit_out(autoscalers_suspended: object) -> None:
    """The root conftest's `autoscalers_suspended`, for every test here."""
