"""Sizes as `docker stats` prints them, read for the deployed system's memory figure
(Testbed.node_memory)."""

import pytest

from testbed.cluster import docker_bytes


@pytest.mark.parametrize(
    ("printed", "size"),
    [
        ("1.55GiB", round(1.55 * 2**30)),
        ("512KiB", 512 * 2**10),
        ("0B", 0),
        ("690.2MiB", round(690.2 * 2**20)),
    ],
)
def test_a_docker_size_is_read_in_bytes(printed: str, size: int) -> None:
    assert docker_bytes(printed) == size


@pytest.mark.parametrize("printed", ["1.55GB", "GiB", "", "1.5 GiB", "--"])
def test_negative_control_what_is_not_a_docker_size_is_refused(printed: str) -> None:
    with pytest.raises(ValueError, match="not a docker size"):
        docker_bytes(printed)
