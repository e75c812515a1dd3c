"""The log path's wiring: what each shipper reads, where it sends it, which indices it fills."""

from __future__ import annotations

import re
from typing import Any

import yaml

from suites import promises
from suites.static.checks.network_policies import allowed, pod_peer
from suites.static.manifest import Obj, Rendered, container_port, main_container, pod_spec

SHIPPER = "log-shipper"
FILEBEAT_CONFIG = ("log-shipper-config", "filebeat.yml")
#: `index => "demo-micro-logs-%{+YYYY-MM-dd}"` in Logstash's pipeline: the part before `%{`.
LOGSTASH_INDEX = re.compile(r'index\s*=>\s*"([^"%]*)')


def beats_setting(tree: Any, dotted: str) -> Any:
    """A setting of a Beats YAML file, spelled dotted (`output.logstash`) or nested, or None."""
    if not isinstance(tree, dict):
        return None
    if dotted in tree:
        return tree[dotted]
    parts = dotted.split(".")
    for split in range(len(parts) - 1, 0, -1):
        head, rest = ".".join(parts[:split]), ".".join(parts[split:])
        found = beats_setting(tree.get(head), rest)
        if found is not None:
            return found
    return None


def filebeat_config(rendered: Rendered) -> dict[str, Any]:
    """filebeat.yml as the online shipper reads it."""
    name, key = FILEBEAT_CONFIG
    config: dict[str, Any] = yaml.safe_load(rendered.one("ConfigMap", name)["data"][key])
    return config


def _outputs(config: dict[str, Any]) -> list[str]:
    nested = config.get("output") or {}
    flat = [key for key in config if key.startswith("output.")]
    return sorted(flat + [f"output.{key}" for key in nested])


def _host_path_mounts(workload: Obj) -> list[tuple[str, str, bool]]:
    """(host path, mount path, read-only) of every hostPath the main container mounts."""
    host_paths = {
        v["name"]: v["hostPath"]["path"] for v in pod_spec(workload)["volumes"] if "hostPath" in v
    }
    return [
        (host_paths[m["name"]], m["mountPath"], m.get("readOnly") is True)
        for m in main_container(workload).get("volumeMounts", [])
        if m["name"] in host_paths
    ]


def online_shipper_violations(rendered: Rendered) -> list[str]:
    """Filebeat reads demo-micro's pod logs only, read-only, and sends them to Logstash alone."""
    violations = []
    shipper = rendered.one("DaemonSet", SHIPPER)
    config = filebeat_config(rendered)
    target, port = promises.SHIPPER_TARGETS["filebeat"]

    # reads: our namespace's files only, through a read-only mount of the kubelet's directory
    for number, stream in enumerate(beats_setting(config, "filebeat.inputs") or []):
        for path in stream.get("paths", []):
            if not path.startswith(promises.SHIPPED_LOG_GLOB_PREFIX):
                violations.append(f"input {number} reads {path}, beyond namespace demo-micro")
    for host, mount, read_only in _host_path_mounts(shipper):
        if host.startswith("/var/log") and not read_only:
            violations.append(f"{SHIPPER} mounts {host} at {mount} writable")

    # sends: to Logstash's beats input and nowhere else, and may reach it
    outputs = _outputs(config)
    if outputs != ["output.logstash"]:
        violations.append(f"{SHIPPER} outputs {outputs}, not output.logstash alone")
    hosts = beats_setting(config, "output.logstash.hosts") or []
    if hosts != [f"{target}:{port}"]:
        violations.append(f"{SHIPPER} ships to {hosts}, not {target}:{port}")
    service_ports = [p["port"] for p in rendered.one("Service", target)["spec"]["ports"]]
    if port not in service_ports:
        violations.append(f"Service/{target} does not expose {port}")
    if container_port(main_container(rendered.workload(target)), port) is None:
        violations.append(f"{target} does not listen on {port}")
    shipper_peer = pod_peer(rendered, SHIPPER)
    if not allowed(rendered, shipper_peer, pod_peer(rendered, target), port):
        violations.append(f"{SHIPPER} may not connect to {target}:{port}")
    store = promises.workload("elasticsearch")
    if allowed(rendered, shipper_peer, pod_peer(rendered, store.name), store.port):
        violations.append(
            f"{SHIPPER} may connect to {store.name}:{store.port}, which it never calls"
        )
    return violations


def index_violations(rendered: Rendered) -> list[str]:
    """Whatever writes to the store writes daily indices under the one promised prefix."""
    prefix = promises.LOG_INDEX_PREFIX
    violations = []
    if rendered.deploys("elk"):
        pipeline = " ".join(main_container(rendered.one("Deployment", "logstash"))["args"])
        indices = LOGSTASH_INDEX.findall(pipeline)
        if not indices:
            violations.append("Logstash's pipeline names no index")
        violations += [
            f"Logstash writes to {index}*, not {prefix}*" for index in indices if index != prefix
        ]
    if rendered.deploys("log-shipper"):
        env = {
            e["name"]: e.get("value")
            for e in main_container(rendered.one("DaemonSet", SHIPPER))["env"]
        }
        if env.get("INDEX_PREFIX") != prefix:
            violations.append(f"rsyslog writes to {env.get('INDEX_PREFIX')}*, not {prefix}*")
    return violations


#: The Secret that holds the log store's users, and the key prefixes of its administrator and of
#: the log shipper's user (`<PREFIX>_USERNAME`, `<PREFIX>_PASSWORD`).
STORE_SECRET = "elasticsearch-secret"
ADMINISTRATOR, WRITER = "ELASTIC", "LOG_WRITER"


def _secret_refs(container: Obj) -> dict[str, tuple[str, str]]:
    """Variable → (Secret, key) for each variable taken from a Secret."""
    refs = {}
    for variable in container.get("env", []):
        ref = (variable.get("valueFrom") or {}).get("secretKeyRef")
        if ref:
            refs[variable["name"]] = (ref["name"], ref["key"])
    return refs


def store_user_violations(rendered: Rendered) -> list[str]:
    """The offline store admits users only, from its Secret, and the rsyslog shipper logs in as
    the writer, who may write the promised indices alone (the image's entrypoint makes the users
    from these variables: airgap/images/opensearch/docker-entrypoint.sh)."""
    if not rendered.deploys("log-shipper"):
        return []
    violations = []
    store = main_container(rendered.one("StatefulSet", "elasticsearch"))
    values = {e["name"]: e.get("value") for e in store.get("env", [])}
    if str(values.get("plugins.security.disabled", "")).lower() == "true":
        violations.append("the log store runs with its security plugin disabled")
    wanted = {
        "ELASTIC_PASSWORD": (STORE_SECRET, f"{ADMINISTRATOR}_PASSWORD"),
        "LOG_WRITER_USERNAME": (STORE_SECRET, f"{WRITER}_USERNAME"),
        "LOG_WRITER_PASSWORD": (STORE_SECRET, f"{WRITER}_PASSWORD"),
    }
    refs = _secret_refs(store)
    violations += [
        f"the log store takes {name} from {refs.get(name, 'no Secret')}, not {source}"
        for name, source in wanted.items()
        if refs.get(name) != source
    ]
    indices = f"{promises.LOG_INDEX_PREFIX}*"
    if values.get("LOG_WRITER_INDICES") != indices:
        violations.append(
            f"the log writer may write to {values.get('LOG_WRITER_INDICES')}, not {indices}"
        )
    shipper = _secret_refs(main_container(rendered.one("DaemonSet", SHIPPER)))
    for part in ("USERNAME", "PASSWORD"):
        source = (STORE_SECRET, f"{WRITER}_{part}")
        if shipper.get(f"OPENSEARCH_{part}") != source:
            violations.append(
                f"{SHIPPER} takes OPENSEARCH_{part} from "
                f"{shipper.get(f'OPENSEARCH_{part}', 'no Secret')}, not {source}"
            )
    return violations


def logstash_writer_violations(rendered: Rendered) -> list[str]:
    """Online, Logstash writes as the log writer, whose role (made by its init container before
    it starts) may create and add to the promised indices alone."""
    if not rendered.deploys("elk"):
        return []
    violations = []
    logstash = rendered.one("Deployment", "logstash")
    pipeline = " ".join(main_container(logstash)["args"])
    users = set(re.findall(r'user\s*=>\s*"([^"]*)"', pipeline))
    passwords = set(re.findall(r'password\s*=>\s*"([^"]*)"', pipeline))
    if users != {f"${{{WRITER}_USERNAME}}"} or passwords != {f"${{{WRITER}_PASSWORD}}"}:
        violations.append(f"Logstash writes as {sorted(users)}, not the log writer")
    scripts = " ".join(
        " ".join(c.get("command", []) + c.get("args", []))
        for c in pod_spec(logstash).get("initContainers", [])
    )
    role = re.search(r"role='(\{.*?\})'", scripts)
    if role is None:
        violations.append("no init container of Logstash makes the log writer's role")
        return violations
    granted = yaml.safe_load(role.group(1))
    indices = [pattern for grant in granted["indices"] for pattern in grant["names"]]
    if indices != [f"{promises.LOG_INDEX_PREFIX}*"]:
        violations.append(f"the log writer's role covers {indices}")
    privileges = {p for grant in granted["indices"] for p in grant["privileges"]}
    if not privileges <= {"create_index", "index", "create_doc", "create"}:
        violations.append(f"the log writer may {sorted(privileges)} on the log indices")
    return violations
