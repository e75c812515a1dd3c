"""The databases' administrator is the databases' own: no service logs in as it."""

from __future__ import annotations

from dataclasses import dataclass

from suites import promises
from suites.static.manifest import Obj, Rendered, container_refs, containers, pod_spec, ref


@dataclass(frozen=True)
class Engine:
    """How a database image makes its administrator and its service's own user."""

    #: The variables the image makes its administrator (superuser, root user) of.
    administrator: frozenset[str]
    #: The ConfigMap of init scripts mounted at INIT_DIRECTORY, and the script of it that a
    #: postStart hook runs again after each start.
    init_configmap: str
    after_each_start: str


ENGINES = (
    # The postgres image and its offline stand-in: app-role.sh runs app-role.psql.
    Engine(frozenset({"POSTGRES_USER", "POSTGRES_PASSWORD"}), "postgres-init", "app-role.sh"),
    # The mongo image (online; offline FerretDB makes the service's user as its only one).
    Engine(
        frozenset({"MONGO_INITDB_ROOT_USERNAME", "MONGO_INITDB_ROOT_PASSWORD"}),
        "mongodb-init",
        "app-user.js",
    ),
)
ADMINISTRATOR_VARIABLES = frozenset().union(*(engine.administrator for engine in ENGINES))


def _secrets_of_env(container: Obj, names: frozenset[str] | None = None) -> set[str]:
    """Secrets a container's env takes variables from (only `names`, if given; envFrom always)."""
    secrets = {
        source["secretRef"]["name"]
        for source in container.get("envFrom", [])
        if "secretRef" in source
    }
    for variable in container.get("env", []):
        key_ref = variable.get("valueFrom", {}).get("secretKeyRef")
        if key_ref and (names is None or variable["name"] in names):
            secrets.add(key_ref["name"])
    return secrets


def administrator_secrets(rendered: Rendered) -> set[str]:
    """The Secrets the data stores take their administrator (POSTGRES_USER/PASSWORD,
    MONGO_INITDB_ROOT_USERNAME/PASSWORD) from."""
    stores = {w.name for w in promises.WORKLOADS if w.data_store}
    return {
        secret
        for workload in rendered.pod_workloads()
        if workload["metadata"]["name"] in stores
        for container in containers(workload, init=True)
        for secret in _secrets_of_env(container, ADMINISTRATOR_VARIABLES)
    }


def administrator_credentials_violations(rendered: Rendered) -> list[str]:
    """No container of a workload other than a data store takes the administrator's Secret, by
    its env, its envFrom or a volume."""
    admin = administrator_secrets(rendered)
    if not admin:
        return [f"no data store takes {' or '.join(sorted(ADMINISTRATOR_VARIABLES))} from a Secret"]
    stores = {w.name for w in promises.WORKLOADS if w.data_store}
    violations = []
    for workload, container, where in container_refs(rendered, init=True):
        if workload["metadata"]["name"] in stores:
            continue
        for secret in sorted(_secrets_of_env(container) & admin):
            violations.append(
                f"{where} takes the database administrator's credentials (Secret/{secret})"
            )
    for workload in rendered.pod_workloads():
        if workload["metadata"]["name"] in stores:
            continue
        for volume in pod_spec(workload).get("volumes", []):
            if volume.get("secret", {}).get("secretName") in admin:
                violations.append(
                    f"{ref(workload)} mounts the database administrator's credentials "
                    f"(Secret/{volume['secret']['secretName']})"
                )
    return violations


#: Where the postgres and mongo images find their init scripts, and what the role scripts read.
INIT_DIRECTORY = "/docker-entrypoint-initdb.d"
ROLE_VARIABLES = frozenset({"APP_DB_USER", "APP_DB_PASSWORD"})


def role_creation_violations(rendered: Rendered) -> list[str]:
    """Each data store with an administrator runs its engine's role script at its init and
    after each start, with the role's name and password from a Secret that is not the
    administrator's and that its callers take."""
    admin = administrator_secrets(rendered)
    stores = {w.name for w in promises.WORKLOADS if w.data_store}
    violations = []
    for workload in rendered.pod_workloads():
        name = workload["metadata"]["name"]
        if name not in stores:
            continue
        for container in containers(workload):
            engines = [e for e in ENGINES if _secrets_of_env(container, e.administrator)]
            if not engines:
                continue
            (engine,) = engines
            where = f"{ref(workload)} container {container['name']}"
            role_secrets = _secrets_of_env(container, ROLE_VARIABLES)
            given = {
                v["name"]
                for v in container.get("env", [])
                if "secretKeyRef" in v.get("valueFrom", {})
            }
            if not given >= ROLE_VARIABLES:
                violations.append(
                    f"{where} is not given {', '.join(sorted(ROLE_VARIABLES))} by a Secret"
                )
            elif role_secrets & admin:
                violations.append(
                    f"{where} takes its service's role from the administrator's Secret"
                )
            else:
                callers = {call.source for call in promises.CALLS if call.target == name}
                taken_by_callers = {
                    secret
                    for caller in rendered.pod_workloads()
                    if caller["metadata"]["name"] in callers
                    for c in containers(caller)
                    for secret in _secrets_of_env(c)
                }
                if not role_secrets <= taken_by_callers:
                    violations.append(
                        f"{where} creates a role from Secret/{', '.join(sorted(role_secrets))}, "
                        f"which none of its callers ({', '.join(sorted(callers))}) logs in with"
                    )
            volumes = {
                v["name"]: v.get("configMap", {}).get("name")
                for v in pod_spec(workload).get("volumes", [])
            }
            mounted = {
                volumes.get(m["name"])
                for m in container.get("volumeMounts", [])
                if m["mountPath"] == INIT_DIRECTORY
            }
            hook = container.get("lifecycle", {}).get("postStart", {}).get("exec", {})
            if engine.after_each_start not in " ".join(hook.get("command", [])):
                violations.append(
                    f"{where} does not run {engine.after_each_start} after each start "
                    "(postStart): a data directory made before the role would never get it"
                )
            if engine.init_configmap not in mounted:
                violations.append(
                    f"{where} does not mount ConfigMap/{engine.init_configmap} at {INIT_DIRECTORY}"
                )
    return violations
