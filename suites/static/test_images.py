"""Pinned images, never `latest`, and the ones CONTRACT.md names for each overlay."""

import pytest

from suites.static.checks.images import contract_image_violations, pinning_violations, split_image
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Rendered, main_container


def test_every_image_is_pinned_and_never_pulled_needlessly(rendered: Rendered) -> None:
    assert_holds(pinning_violations(rendered))


def test_every_workload_runs_the_image_the_contract_names(rendered: Rendered) -> None:
    assert_holds(contract_image_violations(rendered))


@pytest.mark.parametrize(
    ("image", "expected"),
    [
        ("redis", ("redis", None, None)),
        ("redis:7.4", ("redis", "7.4", None)),
        ("localhost:5000/redis", ("localhost:5000/redis", None, None)),
        (
            "docker.elastic.co/kibana/kibana:8.15.3",
            ("docker.elastic.co/kibana/kibana", "8.15.3", None),
        ),
        ("redis@sha256:abc", ("redis", None, "sha256:abc")),
    ],
)
def test_image_references_split_into_repository_tag_and_digest(
    image: str, expected: tuple[str, str | None, str | None]
) -> None:
    assert split_image(image) == expected


def test_a_latest_tag_is_caught(broken: Rendered) -> None:
    # arrange
    main_container(broken.one("StatefulSet", "redis"))["image"] = "redis:latest"
    # act / assert
    assert_caught(pinning_violations(broken), "runs redis:latest, which is not pinned")


def test_an_untagged_image_is_caught(broken: Rendered) -> None:
    main_container(broken.one("StatefulSet", "order-db"))["image"] = "postgres"
    assert_caught(pinning_violations(broken), "runs postgres, which is not pinned")


def test_pulling_our_images_is_caught(broken: Rendered) -> None:
    main_container(broken.one("Deployment", "order-service"))["imagePullPolicy"] = "Always"
    assert_caught(pinning_violations(broken), "container order-service pulls Always")


def test_an_image_other_than_the_contracts_is_caught(broken: Rendered) -> None:
    main_container(broken.one("StatefulSet", "notification-db"))["image"] = "mongo:6.0"
    assert_caught(
        contract_image_violations(broken),
        "StatefulSet/notification-db runs mongo:6.0, the contract says mongo:7.0",
    )
