"""Least privilege, live: order-service and inventory-service are connected to PostgreSQL as
their own roles, which are no superusers and not the databases' administrator.

Asked from a Ready pod of each service, with its own settings and database client (the
service's `Settings` and `conninfo`), so the answer is what the running service is given. The
manifests' side (no service takes the administrator's Secret) is checked statically, with
negative controls (suites/static/test_database_roles.py); the roles' limits against a real
PostgreSQL in suites/system/test_services_connect_as_their_own_roles.py.
"""

from __future__ import annotations

import base64
import json

import pytest

from suites.resilience.live import selector
from testbed.cluster import Testbed
from testbed.kube import Kube

pytestmark = pytest.mark.cluster

#: The Secret whose user the postgres image makes its superuser.
ADMINISTRATOR_SECRET = "postgres-secret"

#: service → its settings' package and the prefix of its database settings.
SERVICES = {
    "order-service": ("order_service", "order_db"),
    "inventory-service": ("inventory_service", "inventory_db"),
}

#: Run in the service's container: connect as the service does, say who the session is. An
#: image from before the services' roles has `postgres_user` / `postgres_password` instead: the
#: check then says who that is (the superuser), rather than failing on a missing setting.
WHO_AM_I = """
import json, sys
import psycopg
from importlib import import_module
from system.common.postgres import conninfo
package, prefix = sys.argv[1:3]
s = import_module(f"system.{package}.config").Settings()
old = not hasattr(s, f"{prefix}_user")
user = s.postgres_user if old else getattr(s, f"{prefix}_user")
password = s.postgres_password if old else getattr(s, f"{prefix}_password")
dsn = conninfo(
    getattr(s, f"{prefix}_host"), getattr(s, f"{prefix}_port"), getattr(s, f"{prefix}_name"),
    user, password.get_secret_value(),
)
with psycopg.connect(dsn) as conn:
    user, superuser = conn.execute(
        "SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user"
    ).fetchone()
print(json.dumps({"current_user": user, "rolsuper": superuser}))
"""


def administrator(kube: Kube) -> str:
    data = kube.core.read_namespaced_secret(ADMINISTRATOR_SECRET, kube.namespace).data
    return base64.b64decode(data["POSTGRES_USER"]).decode()


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_each_service_is_connected_to_its_database_as_a_role_that_is_no_superuser(
    testbed: Testbed, kube: Kube, service: str
) -> None:
    # arrange: a Ready pod of the service
    pods = kube.ready_pods(selector(service))
    assert pods, f"no Ready pod of {service} to ask"
    package, prefix = SERVICES[service]

    # act: ask its database who the service's connection is
    out = testbed.kubectl(
        "exec", "-n", kube.namespace, pods[0].metadata.name, "-c", service, "--",
        "python", "-c", WHO_AM_I, package, prefix, timeout=30,
    )  # fmt: skip
    answer = json.loads(out.strip().splitlines()[-1])

    # assert: its own role, no superuser, not the administrator
    assert answer["rolsuper"] is False, f"{service} is connected as superuser {answer}"
    assert answer["current_user"] != administrator(kube), (
        f"{service} is connected as the databases' administrator {answer['current_user']}"
    )
