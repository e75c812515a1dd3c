"""Promise: a client of the gateway cannot choose who it is. Through the NodePort (the suites'
address and every worker's) and from a pod that is not the ingress controller, a new
X-Forwarded-For on every request is ignored: the requests are one client's, and it meets its
429 within its budget. Behind the Ingress the controller's X-Forwarded-For is believed: two
clients it sees at different addresses get separate limits.

The budget is RATE_LIMIT_PER_MINUTE (api-gateway-config, thousands a minute): rather than send
that many requests, a test finds whom the gateway counted its first few requests as (the
limiter's Redis counters of this window, before and after) and spends the rest of that
client's budget with one INCRBY; its next request must be refused. The counters it added are
taken back at the end, so other clients of the same address lose nothing but these seconds.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager

import httpx
import pytest

from kubepromises.live import run_in_pod
from kubepromises.waiting import NotYet, eventually
from suites import promises
from suites.conformance.test_external_access import https_client
from suites.resilience.live import deployed_rate_limit, selector
from system.api_gateway.redis_gate import RATE_PREFIX, WINDOW_SECONDS
from testbed import ingress_namespaces, tls
from testbed.cluster import Testbed
from testbed.kube import Kube

pytestmark = pytest.mark.cluster

#: Requests a path sends before the limiter's counters are read: enough to tell its client from
#: the others counted meanwhile.
PROBES = 5
#: What a test needs of one rate-limit window (each took 0.8-2.9 s on 6 Dec 2026).
TEST_SECONDS = 5
#: How long the gateway may take to trust a new pod of the ingress controller: it resolves the
#: controller's name every TRUSTED_PROXY_REFRESH_SECONDS (5); 4-6 s after a pod's start, seen.
FOLLOWS_THE_CONTROLLER_SECONDS = 30
#: A path every request of which the limiter counts and nothing behind it sees: no SKU has this
#: form, so the gateway answers 422 itself, after counting.
PATH = "/api/inventory/products/_not-a-sku"
#: What a request to PATH gets while its client is within its budget.
INVALID = 422
#: Redis: "counts", then the window's counters as lines "key", "count", ... (the first line, as
#: an exec that prints nothing is told by its status alone); one counter raised by n (with the
#: limiter's expiry when it is new); and lowered by n again, if it has not expired meanwhile.
COUNTERS = (
    "local out = {'counts'} for _, k in ipairs(redis.call('KEYS', ARGV[1])) do "
    "out[#out + 1] = k; out[#out + 1] = redis.call('GET', k) end return out"
)
RAISE = (
    "local n = redis.call('INCRBY', KEYS[1], ARGV[1]) "
    "if n == tonumber(ARGV[1]) then redis.call('EXPIRE', KEYS[1], ARGV[2]) end return n"
)
LOWER = (
    "if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('DECRBY', KEYS[1], ARGV[1]) end "
    "return 0"
)
#: A request from inside a pod, as many as its arguments name (X-Forwarded-For values): the
#: status codes, one a line.
REQUEST_FROM_A_POD = (
    "import sys, urllib.error, urllib.request\n"
    "for value in sys.argv[2:]:\n"
    "    request = urllib.request.Request(sys.argv[1], headers={'X-Forwarded-For': value})\n"
    "    try:\n"
    "        print(urllib.request.urlopen(request, timeout=5).status)\n"
    "    except urllib.error.HTTPError as error:\n"
    "        print(error.code)\n"
)

Send = Callable[[Sequence[str]], list[int]]


# -- the check, pure: what the counters say about whom the gateway counted ------------------------


def spoof_violations(
    written: Sequence[str], before: Mapping[str, int], after: Mapping[str, int]
) -> list[str]:
    """The X-Forwarded-For values the gateway took for the client: each one counted."""
    return [
        f"a request writing X-Forwarded-For {value} was counted as client {value}"
        for value in written
        if after.get(value, 0) > before.get(value, 0)
    ]


def counted_client(requests: int, before: Mapping[str, int], after: Mapping[str, int]) -> str:
    """The one client whose count rose by at least `requests` meanwhile; NotYet when others'
    traffic makes that ambiguous, AssertionError when none did (each request was someone else)."""
    rose = {c: n - before.get(c, 0) for c, n in after.items() if n > before.get(c, 0)}
    clients = [c for c, n in rose.items() if n >= requests]
    if len(clients) > 1:
        raise NotYet(f"{len(clients)} clients counted {requests} or more meanwhile: {clients}")
    assert clients, (
        f"no client was counted for all {requests} requests; the counts that rose: {rose}"
    )
    return clients[0]


# -- the limiter's counters, in the cluster's Redis ------------------------------------------------


def redis(kube: Kube, *command: str) -> str:
    succeeded, said = run_in_pod(
        kube.core.api_client,
        kube.namespace,
        "redis-0",
        [
            "sh",
            "-c",
            'REDISCLI_AUTH="$REDIS_PASSWORD" exec redis-cli --raw "$@"',
            "redis",
            *command,
        ],
    )
    assert succeeded, f"redis-cli {command[0]} failed: {said}"
    return said


def window() -> int:
    return int(time.time() // WINDOW_SECONDS)


def counts(kube: Kube) -> dict[str, int]:
    """Every client's count in this window."""
    suffix = f":{window()}"
    heading, *lines = redis(kube, "EVAL", COUNTERS, "0", f"{RATE_PREFIX}*{suffix}").splitlines()
    assert heading == "counts", f"the counters script printed {heading!r} first"
    return {
        key.removeprefix(RATE_PREFIX).removesuffix(suffix): int(count)
        for key, count in zip(lines[::2], lines[1::2], strict=True)
    }


@contextmanager
def budget_spent(kube: Kube, client: str, limit: int) -> Iterator[None]:
    """The client's count in this window raised to `limit` for the block, then lowered again."""
    key = f"{RATE_PREFIX}{client}:{window()}"
    by = max(0, limit - counts(kube).get(client, 0))
    redis(kube, "EVAL", RAISE, "1", key, str(by), str(WINDOW_SECONDS + 1))
    try:
        yield
    finally:
        redis(kube, "EVAL", LOWER, "1", key, str(by))


@pytest.fixture
def limit(kube: Kube) -> int:
    """RATE_LIMIT_PER_MINUTE as deployed; the window is fresh enough for one test."""
    limit = deployed_rate_limit(kube)
    assert limit > 0, "the gateway's rate limit is off (RATE_LIMIT_PER_MINUTE=0): nothing to check"
    left = WINDOW_SECONDS - time.time() % WINDOW_SECONDS
    if left < TEST_SECONDS:
        time.sleep(left + 0.05)  # the limiter's next window: the test's counts stay in one
    return limit


# -- the ways in ----------------------------------------------------------------------------------


def new_addresses(n: int) -> list[str]:
    """Addresses a spoofing client might write, new each time (the benchmarking range)."""
    return [
        f"198.{random.randint(18, 19)}.{random.randint(0, 255)}.{random.randint(1, 254)}"
        for _ in range(n)
    ]


def over_http(client: httpx.Client, new_connection_each: bool = False) -> Send:
    """Each value on one request over the client's one connection (one route through
    kube-proxy), or each on a connection of its own (a route kube-proxy picks anew)."""
    closing = {"Connection": "close"} if new_connection_each else {}

    def send(values: Sequence[str]) -> list[int]:
        return [
            client.get(PATH, headers={"X-Forwarded-For": v, **closing}).status_code for v in values
        ]

    return send


def from_a_pod(kube: Kube, pod: str, url: str) -> Send:
    def send(values: Sequence[str]) -> list[int]:
        succeeded, said = run_in_pod(
            kube.core.api_client,
            kube.namespace,
            pod,
            ["python3", "-c", REQUEST_FROM_A_POD, url + PATH, *values],
        )
        assert succeeded, f"requests from {pod} failed: {said}"
        return [int(line) for line in said.split()]

    return send


CONTROL_PLANE = "node-role.kubernetes.io/control-plane"


def node_addresses(kube: Kube, workers_only: bool = False) -> list[str]:
    """The nodes' addresses (the host reaches them on kind's network)."""
    return [
        a.address
        for node in kube.core.list_node().items
        if not (workers_only and CONTROL_PLANE in (node.metadata.labels or {}))
        for a in node.status.addresses
        if a.type == "InternalIP"
    ]


# -- the assertion every way in shares ------------------------------------------------------------


def counted_around(kube: Kube, send: Send, written: Sequence[str]) -> tuple[dict[str, int], ...]:
    """The counts before and after `send` sends `written`, each value counted by the gateway."""
    before = counts(kube)
    statuses = send(written)
    after = counts(kube)
    assert set(statuses) == {INVALID}, f"{PATH} answered {statuses}, not all {INVALID}"
    return before, after


def assert_no_written_address_counted(kube: Kube, send: Send) -> None:
    """PROBES requests, each writing a new X-Forwarded-For: none counted as what it wrote."""
    written = new_addresses(PROBES)
    violations = spoof_violations(written, *counted_around(kube, send, written))
    assert not violations, violations


def client_of(kube: Kube, send: Send) -> str:
    """Whom the gateway counts the requests of `send` as, after checking that no X-Forwarded-For
    value was: PROBES requests, each writing a new one."""

    def measure() -> str:
        written = new_addresses(PROBES)
        before, after = counted_around(kube, send, written)
        violations = spoof_violations(written, before, after)
        assert not violations, violations
        return counted_client(PROBES, before, after)

    return eventually(measure, timeout=10, interval=0.5, what="whom the gateway counted")


def assert_one_client_that_meets_its_429(kube: Kube, send: Send, limit: int) -> None:
    # act: a new X-Forwarded-For each request; then, with that client's budget spent, one more
    client = client_of(kube, send)
    with budget_spent(kube, client, limit):
        (status,) = send(new_addresses(1))

    # assert: a new address in the header did not make it a new client
    assert status == 429, (
        f"with {client}'s budget of {limit} spent, a new X-Forwarded-For got {status}"
    )


# -- the tests ------------------------------------------------------------------------------------


def test_a_new_forwarded_for_through_the_suites_nodeport_still_meets_its_429(
    kube: Kube, gateway_url: str, limit: int
) -> None:
    with httpx.Client(base_url=gateway_url, timeout=10) as client:
        assert_no_written_address_counted(kube, over_http(client, new_connection_each=True))
        assert_one_client_that_meets_its_429(kube, over_http(client), limit)


def test_a_new_forwarded_for_through_every_workers_nodeport_still_meets_its_429(
    kube: Kube, limit: int
) -> None:
    # A worker's NodePort answered by the gateway pod on that worker arrives from the worker's
    # bridge address (10.244.x.1 on kind), in the pod network; the control plane runs no
    # gateway pod, and its NodePort is the suites' address, the test above. Each request on a
    # connection of its own meets both routes (the local pod and the other), all but surely.
    port = promises.API_NODE_PORT.node_port
    for address in node_addresses(kube, workers_only=True):
        with httpx.Client(base_url=f"http://{address}:{port}", timeout=10) as client:
            assert_no_written_address_counted(kube, over_http(client, new_connection_each=True))
            assert_one_client_that_meets_its_429(kube, over_http(client), limit)


def test_a_new_forwarded_for_from_a_pod_that_is_not_the_ingress_controller_still_meets_its_429(
    kube: Kube, limit: int
) -> None:
    # arrange: a gateway pod calls a gateway pod (itself, by its pod address: no policy is
    # crossed); the peer is a pod address, as from any pod of the cluster
    pod = kube.ready_pods(selector("api-gateway"))[0]
    url = f"http://{pod.status.pod_ip}:{promises.API_NODE_PORT.port}"

    assert_one_client_that_meets_its_429(kube, from_a_pod(kube, pod.metadata.name, url), limit)


def over_https(client: httpx.Client) -> Send:
    """over_http, to the Ingress: TLS with the drawing's host as SNI."""

    def send(values: Sequence[str]) -> list[int]:
        return [
            client.get(
                PATH,
                headers={"X-Forwarded-For": v},
                extensions={"sni_hostname": promises.INGRESS.host},
            ).status_code
            for v in values
        ]

    return send


def controller_addresses(kube: Kube) -> set[str]:
    """The ingress controller's pods' addresses."""
    namespace = ingress_namespaces.NAMESPACE
    deployment = kube.apps.read_namespaced_deployment(ingress_namespaces.DEPLOYMENT, namespace)
    labels = deployment.spec.selector.match_labels
    selector = ",".join(f"{key}={value}" for key, value in labels.items())
    pods = kube.core.list_namespaced_pod(namespace, label_selector=selector).items
    return {pod.status.pod_ip for pod in pods if pod.status.pod_ip}


def test_behind_the_ingress_two_clients_get_separate_limits(
    testbed: Testbed, kube: Kube, limit: int
) -> None:
    # arrange: two clients the ingress controller sees at different addresses, as it meets them
    # through different nodes: the control plane's (no controller runs there, so that node's
    # own address) and a worker's
    ca = tls.directory(testbed.settings.cache).ca
    control_plane = next(a for a in node_addresses(kube) if a not in node_addresses(kube, True))
    worker = node_addresses(kube, workers_only=True)[0]
    with (
        https_client(control_plane, ca) as first_connection,
        https_client(worker, ca) as second_connection,
    ):
        first, second = over_https(first_connection), over_https(second_connection)

        def clients_behind_the_controller() -> tuple[str, str]:
            clients = client_of(kube, first), client_of(kube, second)
            if set(clients) & controller_addresses(kube):
                raise NotYet(f"counted as {clients}: the gateway does not trust that pod yet")
            return clients

        first_client, second_client = eventually(
            clients_behind_the_controller,
            timeout=FOLLOWS_THE_CONTROLLER_SECONDS,
            interval=1,
            what="the gateway to count the clients the ingress controller reports",
            hint="its log says 'trusted proxies now: ...' each time the controller's pods change",
        )

        # act: the first one's budget spent, each asks once more
        with budget_spent(kube, first_client, limit):
            (first_status,), (second_status,) = first(new_addresses(1)), second(new_addresses(1))

    # assert: two clients; the first refused, the second not
    assert first_client != second_client, f"both counted as {first_client}"
    assert (first_status, second_status) == (429, INVALID)


# -- the check's negative control: the spoof as it was on 6 Dec 2026 ---------------------------


def test_negative_control_the_check_catches_the_spoof_of_a_trusted_pod_network() -> None:
    # arrange: the counters before and after five requests to a worker's NodePort, each writing
    # a new X-Forwarded-For, with the whole pod network trusted (TRUSTED_PROXY_CIDRS
    # 10.244.0.0/16): the gateway pod on that worker saw the worker's bridge address (trusted)
    # and counted each request as the address it wrote
    written = ["198.18.0.1", "198.18.0.2", "198.18.0.3", "198.18.0.4", "198.18.0.5"]
    before = {"172.18.0.3": 6}
    after = {"172.18.0.3": 6, **dict.fromkeys(written, 1)}

    # act / assert: every value is caught, and no one client was counted five times
    assert len(spoof_violations(written, before, after)) == 5
    with pytest.raises(AssertionError, match="no client was counted for all 5 requests"):
        counted_client(5, before, after)
