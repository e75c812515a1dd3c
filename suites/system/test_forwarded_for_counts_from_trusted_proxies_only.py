"""Promise: the rate limit is per client, and a client cannot choose who it is. The gateway
reads X-Forwarded-For only from a trusted proxy (a network of TRUSTED_PROXY_CIDRS, or an address
a name of TRUSTED_PROXY_HOSTS resolves to now), and then the right-most address that is not a
proxy's own: the entries left of it are whatever the client wrote.

Each test connects from a loopback address of its own (127.0.0.0/8 is all loopback on Linux),
so its peer address counts in no other test's rate-limit window."""

import asyncio
import random
import uuid
from ipaddress import ip_network

import httpx
import pytest
from pydantic import ValidationError

from suites.system.stack import Service, Stack, at_least_this_long_in_one_rate_window
from system.api_gateway.api import client_address
from system.api_gateway.config import Settings
from system.api_gateway.proxies import Resolve, TrustedProxies

LIMIT = 3
#: Every test's requests fit in one rate-limit window (a handful of local requests).
TEST_SECONDS = 10
#: Where the tests' proxies stand: the whole loopback range, so every test's own peer is in it.
LOOPBACK_PROXIES = "127.0.0.0/8"
#: A second proxy hop in front of the gateway's own, as a chain of proxies reports it.
INNER_PROXIES = "10.0.0.0/8"


#: A name for a proxy, as a headless Service names the ingress controller's pods: it resolves
#: to 127.0.0.1 alone (/etc/hosts).
PROXY_HOST = "localhost"
PROXY_ADDRESS = "127.0.0.1"


def _gateway(stack: Stack, trusted_proxy_cidrs: str = "", trusted_proxy_hosts: str = "") -> Service:
    return stack.start_extra(
        "api_gateway",
        stack.gateway,
        {
            "RATE_LIMIT_PER_MINUTE": str(LIMIT),
            "TRUSTED_PROXY_CIDRS": trusted_proxy_cidrs,
            "TRUSTED_PROXY_HOSTS": trusted_proxy_hosts,
        },
    )


def _peer_of_its_own() -> httpx.Client:
    """A client whose connections come from a loopback address no other test uses (never
    127.0.0.1, PROXY_ADDRESS)."""
    address = f"127.{random.randint(1, 254)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
    return _peer(address)


def _peer(address: str) -> httpx.Client:
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=10)


def _new_addresses() -> list[str]:
    """A new X-Forwarded-For for each request a spoofing client sends (LIMIT + 2 of them)."""
    return [f"198.51.100.{n}, {uuid.uuid4().hex[:8]}" for n in range(1, LIMIT + 3)]


def _client_address() -> str:
    """A documentation address (RFC 5737) unlikely to have been counted this minute."""
    return f"203.0.{random.randint(0, 255)}.{random.randint(1, 254)}"


def _statuses(client: httpx.Client, url: str, forwarded_for: list[str]) -> list[int]:
    """One catalogue read per X-Forwarded-For value; the status codes in order."""
    return [
        client.get(f"{url}/api/inventory/products", headers={"X-Forwarded-For": value}).status_code
        for value in forwarded_for
    ]


def test_a_spoofed_forwarded_for_from_an_untrusted_peer_still_gets_its_429(stack: Stack) -> None:
    # arrange: a gateway that trusts no proxy (the default); a client that writes a new address
    # into X-Forwarded-For on every request, as if it were a new client each time
    gateway = _gateway(stack)
    spoofed = _new_addresses()
    at_least_this_long_in_one_rate_window(TEST_SECONDS)

    # act
    with _peer_of_its_own() as client:
        statuses = _statuses(client, gateway.url, spoofed)

    # assert: one client (its address), one budget
    assert statuses == [200] * LIMIT + [429] * 2


def test_two_clients_behind_a_trusted_proxy_get_separate_limits(stack: Stack) -> None:
    # arrange: a gateway behind a trusted proxy, which reports two clients
    gateway = _gateway(stack, LOOPBACK_PROXIES)
    first, second = _client_address(), _client_address()
    at_least_this_long_in_one_rate_window(TEST_SECONDS)

    # act: the first client spends its budget and more, then the second one asks
    with _peer_of_its_own() as proxy:
        first_statuses = _statuses(proxy, gateway.url, [first] * (LIMIT + 1))
        second_statuses = _statuses(proxy, gateway.url, [second] * LIMIT)

    # assert
    assert first_statuses == [200] * LIMIT + [429]
    assert second_statuses == [200] * LIMIT


def test_the_right_most_address_no_proxy_owns_is_the_client_whatever_its_left_entries_say(
    stack: Stack,
) -> None:
    # arrange: two trusted proxy hops (the inner one reports the outer one's address); the
    # client writes a new address of its own choosing left of the ones the proxies append
    gateway = _gateway(stack, f"{LOOPBACK_PROXIES},{INNER_PROXIES}")
    client = _client_address()
    chains = [f"198.51.100.{n}, {client}, 10.1.2.3" for n in range(1, LIMIT + 3)]
    at_least_this_long_in_one_rate_window(TEST_SECONDS)

    # act
    with _peer_of_its_own() as proxy:
        statuses = _statuses(proxy, gateway.url, chains)

    # assert: every request counted as the one client the proxies saw
    assert statuses == [200] * LIMIT + [429] * 2


def test_behind_a_proxy_named_by_host_two_clients_get_separate_limits(stack: Stack) -> None:
    # arrange: a gateway that trusts the proxy by name (as the ingress controller's headless
    # Service); the proxy, at the address the name resolves to, reports two clients
    gateway = _gateway(stack, trusted_proxy_hosts=PROXY_HOST)
    first, second = _client_address(), _client_address()
    at_least_this_long_in_one_rate_window(TEST_SECONDS)

    # act: the first client spends its budget and more, then the second one asks
    with _peer(PROXY_ADDRESS) as proxy:
        first_statuses = _statuses(proxy, gateway.url, [first] * (LIMIT + 1))
        second_statuses = _statuses(proxy, gateway.url, [second] * LIMIT)

    # assert
    assert first_statuses == [200] * LIMIT + [429]
    assert second_statuses == [200] * LIMIT


def test_beside_a_proxy_named_by_host_a_spoofed_forwarded_for_still_gets_its_429(
    stack: Stack,
) -> None:
    # arrange: the same gateway; a client at another address of the same loopback network (as
    # another pod, or a node's bridge address, beside the ingress controller's pods) writes a
    # new address into X-Forwarded-For on every request
    gateway = _gateway(stack, trusted_proxy_hosts=PROXY_HOST)
    spoofed = _new_addresses()
    at_least_this_long_in_one_rate_window(TEST_SECONDS)

    # act
    with _peer_of_its_own() as client:
        statuses = _statuses(client, gateway.url, spoofed)

    # assert: its address, not the header, is the client
    assert statuses == [200] * LIMIT + [429] * 2


def test_negative_control_trusting_the_proxys_whole_network_lets_a_neighbour_spoof(
    stack: Stack,
) -> None:
    # arrange: the setting until 6 Dec 2026 in small: the network the proxy stands in (kind's
    # pod network then, the loopback network here) trusted instead of the proxy's own address
    gateway = _gateway(stack, trusted_proxy_cidrs=LOOPBACK_PROXIES)
    spoofed = _new_addresses()
    at_least_this_long_in_one_rate_window(TEST_SECONDS)

    # act: the neighbour's requests, each with a new X-Forwarded-For
    with _peer_of_its_own() as client:
        statuses = _statuses(client, gateway.url, spoofed)

    # assert: never refused: the test above would fail against this setting
    assert statuses == [200] * (LIMIT + 2)


def _resolver(answers: dict[str, list[str]]) -> Resolve:
    """A name service that answers from `answers` as it is at each call; a missing name is an
    error, as an unknown one is."""

    async def resolve(host: str) -> list[str]:
        if host not in answers:
            raise OSError(f"{host}: no such name")
        return answers[host]

    return resolve


def test_a_trusted_name_is_followed_where_its_proxies_move_and_trusts_none_when_it_fails() -> None:
    # arrange: the controller's pods at two addresses, a network trusted beside them
    answers = {"proxies": ["10.244.1.7", "10.244.2.9"]}
    proxies = TrustedProxies((ip_network("192.0.2.0/24"),), ("proxies",), _resolver(answers))

    async def trusted_after_refresh() -> set[str]:
        await proxies.refresh()
        return {str(network) for network in proxies.current}

    # act / assert: the name's addresses now, then where a pod moved, then none at all
    assert asyncio.run(trusted_after_refresh()) == {
        "192.0.2.0/24", "10.244.1.7/32", "10.244.2.9/32"
    }  # fmt: skip
    answers["proxies"] = ["10.244.1.7", "10.244.3.4"]
    assert asyncio.run(trusted_after_refresh()) == {
        "192.0.2.0/24", "10.244.1.7/32", "10.244.3.4/32"
    }  # fmt: skip
    del answers["proxies"]
    assert asyncio.run(trusted_after_refresh()) == {"192.0.2.0/24"}


def test_trusted_proxy_names_are_read_as_a_comma_separated_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRUSTED_PROXY_HOSTS", " traefik-proxies.ingress-traefik.svc, , other ")
    assert Settings().trusted_proxy_hosts == ("traefik-proxies.ingress-traefik.svc", "other")


def test_a_trusted_proxy_setting_that_is_no_network_is_refused_with_its_value(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # arrange: a host address with a prefix, where a network was meant
    monkeypatch.setenv("TRUSTED_PROXY_CIDRS", "10.244.0.0/16, 10.244.0.1/16")

    # act / assert: the gateway's settings do not load, and say which value is wrong
    with pytest.raises(ValidationError, match=r"10\.244\.0\.1/16"):
        Settings()


PROXIES = (ip_network("10.244.0.0/16"), ip_network("fd00::/8"))


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        pytest.param("172.18.0.2", ["1.2.3.4"], "172.18.0.2", id="untrusted-peer-header-ignored"),
        pytest.param("10.244.1.5", [], "10.244.1.5", id="trusted-peer-no-header-is-the-client"),
        pytest.param("10.244.1.5", ["1.2.3.4, 172.18.0.2"], "172.18.0.2", id="right-most"),
        pytest.param("10.244.1.5", ["1.2.3.4", "5.6.7.8"], "5.6.7.8", id="two-headers-one-list"),
        pytest.param("10.244.1.5", ["10.244.2.9, 10.244.3.1"], "10.244.2.9", id="all-proxies"),
        pytest.param("fd00::7", ["2001:db8::1, fd00::9"], "2001:db8::1", id="ipv6"),
        pytest.param("10.244.1.5", [" , "], "10.244.1.5", id="empty-entries"),
    ],
)
def test_the_client_is_the_right_most_address_no_trusted_proxy_owns(
    peer: str, forwarded_for: list[str], client: str
) -> None:
    assert client_address(peer, forwarded_for, PROXIES) == client
