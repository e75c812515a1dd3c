"""Configuration in ConfigMaps, credentials in Secrets only, and every service gets its contract."""

from __future__ import annotations

import re

from suites import promises
from suites.static.manifest import Obj, Rendered, container_refs, main_container, ref

SECRET_NAME = re.compile(r"PASSWORD|SECRET|TOKEN|PRIVATE_KEY|ACCESS_KEY|CREDENTIAL|API_KEY", re.I)
#: Shorter values ("test", "demo") are too common to say anything when they recur.
MIN_SECRET_VALUE_LENGTH = 8


def _secret_values(rendered: Rendered) -> set[str]:
    values: set[str] = set()
    for secret in rendered.of_kind("Secret"):
        values |= {
            v for v in secret.get("stringData", {}).values() if len(v) >= MIN_SECRET_VALUE_LENGTH
        }
    return values


def _looks_secret(name: str) -> bool:
    return name in promises.SECRET_VARIABLES or bool(SECRET_NAME.search(name))


def secret_in_configmap_violations(rendered: Rendered) -> list[str]:
    """No ConfigMap key names a credential, and no ConfigMap value repeats a Secret's value."""
    violations = []
    secret_values = _secret_values(rendered) - {
        # Not secret, just kept together with the credentials that go with it.
        v
        for s in rendered.of_kind("Secret")
        for k, v in s.get("stringData", {}).items()
        if k.endswith("_URL")
    }
    for configmap in rendered.of_kind("ConfigMap"):
        for key, value in configmap.get("data", {}).items():
            if _looks_secret(key):
                violations.append(f"{ref(configmap)} carries {key}, which belongs in a Secret")
            elif any(secret in str(value) for secret in secret_values):
                violations.append(f"{ref(configmap)} key {key} contains a Secret's value")
    return violations


def literal_secret_env_violations(rendered: Rendered) -> list[str]:
    """No container spells out a credential in its env; it comes from a Secret."""
    violations = []
    secret_values = _secret_values(rendered)
    for _, container, where in container_refs(rendered, init=True):
        for variable in container.get("env", []):
            if "value" not in variable:
                continue
            if _looks_secret(variable["name"]) or variable["value"] in secret_values:
                violations.append(f"{where} sets {variable['name']} literally, not from a Secret")
    return violations


def _environment(rendered: Rendered, container: Obj) -> set[str]:
    names = {variable["name"] for variable in container.get("env", [])}
    for source in container.get("envFrom", []):
        for kind, key in (("ConfigMap", "configMapRef"), ("Secret", "secretRef")):
            if key in source and (obj := rendered.get(kind, source[key]["name"])) is not None:
                prefix = source.get("prefix", "")
                names |= {
                    prefix + name for name in {**obj.get("data", {}), **obj.get("stringData", {})}
                }
    return names


def contract_environment_violations(rendered: Rendered) -> list[str]:
    """Each service receives every variable CONTRACT.md says it reads."""
    violations = []
    for service, needed in promises.SERVICE_ENVIRONMENT.items():
        deployment = rendered.get("Deployment", service)
        if deployment is None:
            violations.append(f"Deployment/{service} is missing")
            continue
        missing = needed - _environment(rendered, main_container(deployment))
        if missing:
            violations.append(f"Deployment/{service} does not receive {', '.join(sorted(missing))}")
    return violations
