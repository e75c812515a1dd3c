"""The observability suite's fixture: the log store (`store.py`) of the overlay deployed."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from testbed.cluster import Testbed
from testbed.kube import Kube

from .store import LogStore, opened, ships_logs


@pytest.fixture(scope="session")
def log_store(testbed: Testbed, kube: Kube, overlay: str) -> Iterator[LogStore]:
    """The store, once it and the shipper are ready."""
    if not ships_logs(overlay):
        pytest.skip(f"not verified: the {overlay} overlay deploys no log shipper")
    with opened(testbed, kube, overlay) as store:
        yield store
