"""The Ingress host over HTTPS: the Ingress lists the drawing's host in `spec.tls` with its
certificate's Secret, and the ingress controller the testbed installs serves TLS and answers
plain HTTP with a permanent redirect to its HTTPS node port."""

from __future__ import annotations

import pytest
import yaml

from suites.static.checks.external_access import (
    REDIRECTION,
    http_redirect_violations,
    ingress_tls_violations,
)
from suites.static.controls import assert_caught, assert_holds
from suites.static.manifest import Obj, Rendered
from testbed import images
from testbed.settings import Settings


def traefik_addon(*, offline: bool) -> list[Obj]:
    """The ingress controller's objects as the testbed renders and applies them."""
    text = images.render_addon("traefik.yaml", offline=offline, settings=Settings.from_env())
    return [document for document in yaml.safe_load_all(text) if document]


def traefik_args(addon: list[Obj]) -> list[str]:
    deployment = next(o for o in addon if o["kind"] == "Deployment")
    args: list[str] = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    return args


def test_the_ingress_lists_the_drawings_host_with_a_tls_secret(rendered: Rendered) -> None:
    assert_holds(ingress_tls_violations(rendered))


def test_an_ingress_without_tls_is_caught(broken: Rendered) -> None:
    del broken.one("Ingress", "api-gateway")["spec"]["tls"]
    assert_caught(ingress_tls_violations(broken), "has no TLS for api.demo-micro.local")


def test_tls_for_another_host_is_caught(broken: Rendered) -> None:
    broken.one("Ingress", "api-gateway")["spec"]["tls"][0]["hosts"] = ["demo-micro.local"]
    assert_caught(ingress_tls_violations(broken), "has no TLS for api.demo-micro.local")


def test_tls_without_a_secret_is_caught(broken: Rendered) -> None:
    del broken.one("Ingress", "api-gateway")["spec"]["tls"][0]["secretName"]
    assert_caught(ingress_tls_violations(broken), "names no Secret")


@pytest.mark.parametrize("offline", [True, False], ids=["offline", "online"])
def test_the_controller_redirects_plain_http_to_its_https_node_port(offline: bool) -> None:
    assert_holds(http_redirect_violations(traefik_addon(offline=offline)))


def test_a_controller_without_the_redirect_is_caught() -> None:
    addon = traefik_addon(offline=False)
    args = traefik_args(addon)
    args[:] = [arg for arg in args if not arg.startswith(REDIRECTION)]
    assert_caught(http_redirect_violations(addon), "does not redirect to https")


def test_a_redirect_to_a_port_nothing_maps_is_caught() -> None:
    # the entry point's own port: reachable inside the pod only
    addon = traefik_addon(offline=False)
    args = traefik_args(addon)
    args[:] = [
        REDIRECTION + "to=:8443" if arg.startswith(REDIRECTION + "to=") else arg for arg in args
    ]
    assert_caught(
        http_redirect_violations(addon), "redirects HTTP to :8443, not to the HTTPS node port"
    )


def test_a_controller_without_tls_on_its_https_port_is_caught() -> None:
    addon = traefik_addon(offline=False)
    args = traefik_args(addon)
    args.remove("--entryPoints.websecure.http.tls=true")
    assert_caught(http_redirect_violations(addon), "does not terminate TLS")
