"""The databases' administrator is the databases' own: no service logs in as it."""

from __future__ import annotations

from suites import promises
from suites.static.manifest import Obj, Rendered, container_refs, containers, pod_spec, ref

#: What the postgres image (and its offline stand-in) makes its superuser of.
ADMINISTRATOR_VARIABLES = frozenset({"POSTGRES_USER", "POSTGRES_PASSWORD"})


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
    """The Secrets the data stores take their administrator (POSTGRES_USER/PASSWORD) from."""
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
        return ["no data store takes POSTGRES_USER or POSTGRES_PASSWORD from a Secret"]
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


#: Where the postgres image finds its init scripts, and what the role script reads.
INIT_DIRECTORY = "/docker-entrypoint-initdb.d"
ROLE_VARIABLES = frozenset({"APP_DB_USER", "APP_DB_PASSWORD"})
INIT_CONFIGMAP = "postgres-init"
ROLE_SCRIPT = "app-role.sh"


def role_creation_violations(rendered: Rendered) -> list[str]:
    """Each PostgreSQL data store runs the role script at its init and after each start, with
    the role's name and password from a Secret that is not the administrator's and that its
    callers take."""
    admin = administrator_secrets(rendered)
    stores = {w.name for w in promises.WORKLOADS if w.data_store}
    violations = []
    for workload in rendered.pod_workloads():
        name = workload["metadata"]["name"]
        if name not in stores:
            continue
        for container in containers(workload):
            if not _secrets_of_env(container, ADMINISTRATOR_VARIABLES):
                continue
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
            if ROLE_SCRIPT not in " ".join(hook.get("command", [])):
                violations.append(
                    f"{where} does not run {ROLE_SCRIPT} after each start (postStart): a data "
                    "directory made before the role would never get it"
                )
            if INIT_CONFIGMAP not in mounted:
                violations.append(
                    f"{where} does not mount ConfigMap/{INIT_CONFIGMAP} at {INIT_DIRECTORY}"
                )
    return violations
