"""notification-service's own MongoDB user, live: the service logs in as the user of Secret
`notification-db-app`, not as mongodb-secret's root user, and that user may read and write its
own database and nothing else (no other database, no user administration).

Asked from a Ready pod of the service, with its own settings and its own client
(`system.notification_service.main.mongo_client`), so the answer is what the running service
is given. The manifests' side is checked statically (suites/static/test_database_roles.py).

Offline, MongoDB's stand-in is FerretDB 1.24, which makes one user and implements no roles
(its createUser refuses `roles`): there the service's user may do anything, and what it may not
do is not verified (the promise is verified online: promises.yaml). The negative control runs
the same probe as a user allowed both — the root user, or offline the service's own — and sees
it allowed: a refusal the probe reports is the database's, not the probe's failing.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from suites import promises
from suites.resilience.live import selector
from testbed.cluster import Testbed
from testbed.kube import Kube

pytestmark = pytest.mark.cluster

SERVICE = "notification-service"
DATABASE = "notification-db"
SERVICE_SECRET = "notification-db-app"
ROOT_SECRET = "mongodb-secret"

#: Run in the service's container: log in as the service does (or as PROBE_USER), say who the
#: session is, then try what the service's user must not do, undoing whatever was allowed.
PROBE = """
import asyncio, json, os
from pymongo.errors import OperationFailure
from system.notification_service.config import Settings
from system.notification_service.main import mongo_client

as_user = {"mongodb_username": os.environ["PROBE_USER"], "mongodb_password": os.environ[
    "PROBE_PASSWORD"]} if os.environ.get("PROBE_USER") else {}
settings = Settings(**as_user)
OTHER = "demo_micro_privilege_probe"

async def attempt(action, undo):
    try:
        await action()
    except OperationFailure as refused:
        return f"refused ({refused.code})"
    await undo()
    return "allowed"

async def main():
    client = mongo_client(settings)
    status = await client.admin.command("connectionStatus")
    users = [u["user"] for u in status["authInfo"]["authenticatedUsers"]]
    other = await attempt(
        lambda: client[OTHER].probe.insert_one({"probe": 1}),
        lambda: client.drop_database(OTHER),
    )
    admin = await attempt(
        lambda: client.admin.command("createUser", OTHER, pwd=OTHER, roles=[]),
        lambda: client.admin.command("dropUser", OTHER),
    )
    print(json.dumps({"users": users, "other_database": other, "create_user": admin}))

asyncio.run(main())
"""


def secret_value(kube: Kube, secret: str, key: str) -> str:
    data = kube.core.read_namespaced_secret(secret, kube.namespace).data
    return base64.b64decode(data[key]).decode()


def probe(testbed: Testbed, kube: Kube, secret: str = SERVICE_SECRET) -> dict[str, Any]:
    """The probe's answer from a Ready pod of the service, logged in as the user of `secret`."""
    pods = kube.ready_pods(selector(SERVICE))
    assert pods, f"no Ready pod of {SERVICE} to ask"
    login = []
    if secret != SERVICE_SECRET:
        login = [
            f"PROBE_USER={secret_value(kube, secret, 'MONGODB_USERNAME')}",
            f"PROBE_PASSWORD={secret_value(kube, secret, 'MONGODB_PASSWORD')}",
        ]
    out = testbed.kubectl(
        "exec", "-n", kube.namespace, pods[0].metadata.name, "-c", SERVICE, "--",
        "env", *login, "python", "-c", PROBE, timeout=60,
    )  # fmt: skip
    answer: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return answer


@pytest.fixture(scope="module")
def as_the_service(testbed: Testbed, kube: Kube) -> dict[str, Any]:
    """The probe's answer logged in as the service is (asked once for the module)."""
    return probe(testbed, kube)


def runs_the_stand_in(kube: Kube) -> bool:
    """Whether notification-db runs the drawing's offline stand-in (FerretDB), not mongo."""
    image = promises.workload(DATABASE).image
    assert image is not None, f"the drawing gives {DATABASE} no image"
    (pod,) = kube.pods(selector(DATABASE))
    running = {c.image for c in pod.spec.containers}
    return image.offline in running


def test_notification_service_logs_in_to_mongodb_as_its_own_user(
    kube: Kube, as_the_service: dict[str, Any]
) -> None:
    # act: the probe (the fixture)
    answer = as_the_service

    # assert: the service's own user, not the root user
    own = secret_value(kube, SERVICE_SECRET, "MONGODB_USERNAME")
    root = secret_value(kube, ROOT_SECRET, "MONGODB_USERNAME")
    assert own != root, f"{SERVICE_SECRET} and {ROOT_SECRET} name the same user {own!r}"
    assert answer["users"] == [own], f"{SERVICE} is logged in as {answer['users']}, not {own!r}"


def test_notification_services_user_reaches_no_other_database_and_no_users(
    kube: Kube, as_the_service: dict[str, Any]
) -> None:
    # arrange: what the database can refuse
    if runs_the_stand_in(kube):
        pytest.skip(
            "not verified offline: FerretDB 1.24, MongoDB's stand-in, implements no roles "
            "(its createUser refuses `roles`), so every user may do everything"
        )
    # act: the probe (the fixture)
    answer = as_the_service

    # assert: both refused (13: Unauthorized)
    assert answer["other_database"].startswith("refused"), answer
    assert answer["create_user"].startswith("refused"), answer


def test_negative_control_a_user_allowed_both_is_seen_allowed(
    testbed: Testbed, kube: Kube, as_the_service: dict[str, Any]
) -> None:
    # arrange: the root user; offline the stand-in's only user, the service's (allowed all)
    secret = SERVICE_SECRET if runs_the_stand_in(kube) else ROOT_SECRET

    # act: the same probe, logged in as that user
    answer = as_the_service if secret == SERVICE_SECRET else probe(testbed, kube, secret)

    # assert: the probe sees both allowed
    assert answer["users"] == [secret_value(kube, secret, "MONGODB_USERNAME")], answer
    assert answer["other_database"] == "allowed", answer
    assert answer["create_user"] == "allowed", answer
