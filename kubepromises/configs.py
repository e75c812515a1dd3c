"""Where a workload takes configuration from a ConfigMap, and what its running pods see of it.

The manifests say how each container takes a ConfigMap: all of its keys as environment
variables (`envFrom`), one key as one variable (`env[].valueFrom.configMapKeyRef`), or files of
a mounted volume (`configMap`, or a `projected` volume's `configMap` source). A change the
generic live suite can make without touching the workload's own settings is a key of its own,
MARK, added to the ConfigMap; a container sees such a new key only where it takes the whole
ConfigMap: through `envFrom`, or a volume mounted without `items` and without `subPath`
(`uses`). The ways that take chosen keys only are listed apart (`chosen_keys`): a new key never
reaches them, and changing one of their keys' values could break the workload.

What a pod sees is read inside its container, by the exec API: the variable as the container's
processes have it (`printenv`: set when the container was created, from the ConfigMap as it was
then), or the file as the kubelet has written it. A container without `sh` (and `printenv`,
`cat`) cannot be read: that reading says why, and verifies nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kubepromises.static import Obj

#: The key a live change adds to a ConfigMap: a valid environment variable's name, so `envFrom`
#: passes it on, and a valid ConfigMap key.
MARK = "KUBEPROMISES_CONFIG_MARK"

#: Run in the container with the variable's name or the file's path as $0: one line, `set
#: <value>` or `unset`.
READ_ENV = 'if value=$(printenv "$0"); then echo "set $value"; else echo unset; fi'
READ_FILE = 'if [ -e "$0" ]; then echo "set $(cat "$0")"; else echo unset; fi'


@dataclass(frozen=True)
class ConfigUse:
    """Where one container of a workload sees a key of a ConfigMap: as an environment variable
    (`where` is its name) or as a file (`where` is its path)."""

    workload: str
    container: str
    configmap: str
    kind: Literal["env", "file"]
    where: str

    def __str__(self) -> str:
        seen_as = f"${self.where}" if self.kind == "env" else self.where
        return f"{self.workload}/{self.container} {seen_as}"


def _containers(workload: Obj) -> list[Obj]:
    containers: list[Obj] = workload["spec"]["template"]["spec"].get("containers") or []
    return containers


def _volumes(workload: Obj) -> dict[str, list[tuple[str, Any]]]:
    """Each volume's ConfigMaps: volume name -> [(ConfigMap, its `items` or None)]."""
    found: dict[str, list[tuple[str, Any]]] = {}
    for volume in workload["spec"]["template"]["spec"].get("volumes") or []:
        sources = []
        if "configMap" in volume:
            sources.append(volume["configMap"])
        for source in (volume.get("projected") or {}).get("sources") or []:
            if "configMap" in source:
                sources.append(source["configMap"])
        if sources:
            found[volume["name"]] = [(s["name"], s.get("items")) for s in sources]
    return found


def uses(workload: Obj, key: str, configmaps: Collection[str]) -> list[ConfigUse]:
    """Where the workload's containers see a new `key` of each of those ConfigMaps: every
    container that takes one whole, through `envFrom` (the variable is the key after the
    ref's `prefix`) or a volume mounted without `items` and `subPath` (the file is the key in
    the mount's folder)."""
    name = workload["metadata"]["name"]
    volumes = _volumes(workload)
    found = []
    for container in _containers(workload):
        for source in container.get("envFrom") or []:
            ref = source.get("configMapRef")
            if ref and ref["name"] in configmaps:
                variable = f"{source.get('prefix', '')}{key}"
                found.append(ConfigUse(name, container["name"], ref["name"], "env", variable))
        for mount in container.get("volumeMounts") or []:
            if mount.get("subPath") or mount.get("subPathExpr"):
                continue
            for configmap, items in volumes.get(mount["name"], []):
                if configmap in configmaps and items is None:
                    path = f"{mount['mountPath'].rstrip('/')}/{key}"
                    found.append(ConfigUse(name, container["name"], configmap, "file", path))
    return found


def chosen_keys(workload: Obj, configmaps: Collection[str]) -> list[str]:
    """The ways the workload's containers take chosen keys only of those ConfigMaps (a
    `configMapKeyRef`, a volume's `items`, a `subPath` mount), one phrase each."""
    volumes = _volumes(workload)
    found = []
    for container in _containers(workload):
        for variable in container.get("env") or []:
            ref = (variable.get("valueFrom") or {}).get("configMapKeyRef")
            if ref and ref["name"] in configmaps:
                found.append(
                    f"{container['name']} ${variable['name']} from key {ref['key']} of "
                    f"ConfigMap/{ref['name']}"
                )
        for mount in container.get("volumeMounts") or []:
            for configmap, items in volumes.get(mount["name"], []):
                if configmap not in configmaps:
                    continue
                if items is not None:
                    keys = ", ".join(item["key"] for item in items)
                    found.append(
                        f"{container['name']} files of keys {keys} of ConfigMap/{configmap}"
                    )
                elif mount.get("subPath") or mount.get("subPathExpr"):
                    found.append(
                        f"{container['name']} {mount['mountPath']} (a subPath of "
                        f"ConfigMap/{configmap})"
                    )
    return found


def read_command(use: ConfigUse) -> list[str]:
    """The command that prints what the container sees at the use: `set <value>` or `unset`."""
    return ["sh", "-c", READ_ENV if use.kind == "env" else READ_FILE, use.where]


@dataclass(frozen=True)
class Reading:
    """What one pod's container saw at a use: `value` (None: unset), or why it could not be read
    (`failed`: not verified)."""

    pod: str
    use: ConfigUse
    value: str | None
    failed: str | None = None


def parse_reading(pod: str, use: ConfigUse, succeeded: bool, printed: str) -> Reading:
    """The reading of `read_command`'s output; one that printed neither line is not read."""
    lines = printed.splitlines()
    last = lines[-1] if lines else ""
    if succeeded and last == "unset":
        return Reading(pod, use, None)
    if succeeded and last.startswith("set "):
        return Reading(pod, use, last[len("set ") :])
    return Reading(pod, use, None, failed=f"cannot read {use} in {pod}: {printed[-300:]!r}")


def config_violations(readings: Sequence[Reading], wanted: str | None) -> list[str]:
    """Each pod's container saw the wanted value (None: unset) at its use. Readings that failed
    are not violations, nor passes (`unread`); no reading at all is a violation."""
    if not readings:
        return ["no Ready replica was read"]
    violations = []
    for reading in readings:
        if reading.failed is not None or reading.value == wanted:
            continue
        seen = "unset" if reading.value is None else repr(reading.value)
        want = "unset" if wanted is None else repr(wanted)
        violations.append(
            f"pod {reading.pod} sees {reading.use} {seen}; ConfigMap/{reading.use.configmap} "
            f"has {MARK} {want}"
        )
    return violations


def unread(readings: Sequence[Reading]) -> list[str]:
    """Why each reading that failed could not be made (what is not verified)."""
    return [reading.failed for reading in readings if reading.failed is not None]


def set_mark(api: Any, namespace: str, configmap: str, value: str | None) -> None:
    """Add MARK with this value to the ConfigMap, or (None) take it out again."""
    from kubernetes import client

    patch = {"data": {MARK: value}}  # a merge patch: null removes the key
    client.CoreV1Api(api).patch_namespaced_config_map(configmap, namespace, patch)
