"""An architecture drawing read from its YAML file into typed, frozen values.

`load_drawing(path)` validates the file against `drawing.schema.json` (shipped beside this
module), and the file of promises it names against `promises.schema.json`, then checks what a
schema cannot say (a call to a workload that does not exist, a name given twice, a piece no
overlay deploys, a figure bound to an SLO the drawing does not have). Every mistake is reported
at once, each with its file, field path and line: ``drawing.yaml:31: services[1].replicas: 'two'
is not of type 'integer'``. Loading only reads the files.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Literal, cast

import jsonschema
import yaml

SCHEMA_RESOURCE = "drawing.schema.json"
PROMISES_SCHEMA_RESOURCE = "promises.schema.json"

FieldPath = tuple[str | int, ...]


@dataclass(frozen=True)
class Problem:
    """One mistake in a drawing file: where it is and what is wrong."""

    file: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return f"{self.file}:{self.line}: {where}{self.message}"


class DrawingError(ValueError):
    """A drawing file that is not valid; `problems` holds every mistake found, sorted by line."""

    def __init__(self, file: str, problems: Sequence[Problem]) -> None:
        self.file = file
        self.problems = tuple(sorted(problems, key=lambda p: (p.line, p.field, p.message)))
        count = len(self.problems)
        heading = f"{file}: {count} mistake{'s' if count != 1 else ''} in the drawing"
        super().__init__("\n".join([heading, *(f"  {p}" for p in self.problems)]))


@dataclass(frozen=True)
class Image:
    """A dependency's image: upstream online, its stand-in air-gapped (None: not deployed)."""

    online: str
    offline: str | None


@dataclass(frozen=True)
class Build:
    """How a workload's image is built: `context`, a folder with a Dockerfile (as written:
    relative to the drawing file), and `image`, the name its manifests run it by."""

    context: str
    image: str


@dataclass(frozen=True)
class Autoscaling:
    """A HorizontalPodAutoscaler that sizes a Deployment where an overlay deploys `piece`: from
    the workload's `replicas` (its minReplicas) up to `max`, on the pods' average CPU use as a
    percentage of their request (`cpu_percent`)."""

    max: int
    cpu_percent: int
    piece: str


@dataclass(frozen=True)
class Workload:
    """One box of the drawing that runs pods behind a Service of the same name."""

    name: str
    kind: Literal["Deployment", "StatefulSet"]
    replicas: int
    port: int
    piece: str
    #: None for a workload built from the project's source.
    image: Image | None = None
    open_to_anyone: bool = False
    data_store: bool = False
    #: None for a workload whose image is built elsewhere, or published.
    build: Build | None = None
    #: None for a workload no autoscaler sizes.
    autoscaling: Autoscaling | None = None


@dataclass(frozen=True)
class NodeAgent:
    """A DaemonSet: one pod on each node that runs the workloads, no Service."""

    name: str
    piece: str
    image: str
    configmaps: tuple[str, ...] = ()


@dataclass(frozen=True)
class Volume:
    """A PVC, by the drawing's name and by the name it has in the cluster."""

    drawing_name: str
    workload: str
    size: str
    #: volumeClaimTemplate name for a StatefulSet; None for a Deployment's plain PVC.
    template: str | None
    #: The piece of the workload that mounts it.
    piece: str

    @property
    def pvc_name(self) -> str:
        """The PersistentVolumeClaim's name in the cluster (ordinal 0 for a StatefulSet)."""
        if self.template is None:
            return self.drawing_name
        return f"{self.template}-{self.workload}-0"


@dataclass(frozen=True)
class Call:
    """A connection the system needs, on the target's port; `piece`: only where it is deployed."""

    source: str
    target: str
    port: int
    piece: str | None = None


@dataclass(frozen=True)
class NodePort:
    """A NodePort Service in front of a workload's port."""

    service: str
    workload: str
    port: int
    node_port: int
    piece: str


@dataclass(frozen=True)
class IngressRoute:
    host: str
    service: str
    port: int
    piece: str


@dataclass(frozen=True)
class Containers:
    """What every container of every workload has: probes by kind (`readiness`, ...) and the
    resources (`cpu`, `memory`) it requests and is limited to."""

    probes: tuple[str, ...] = ()
    requests: tuple[str, ...] = ()
    limits: tuple[str, ...] = ()


@dataclass(frozen=True)
class Overlay:
    """An overlay of the manifests: the pieces it deploys, whether it runs air-gapped, and the
    folder it renders from (as written: relative to the drawing file)."""

    name: str
    pieces: frozenset[str]
    air_gapped: bool
    manifests: str


@dataclass(frozen=True)
class Slo:
    """A threshold a measured figure must keep."""

    name: str
    at_most: float
    unit: str
    what: str


@dataclass(frozen=True)
class FigureEntry:
    """A measured figure a promise shows: a label, a key pattern of the run's measurements, its
    unit, and the SLO it must keep (None: shown only)."""

    label: str
    pattern: str
    unit: str
    slo: Slo | None


#: The chance a positive fault test must have of catching what its negative control catches.
POWER_GOAL = 0.95


@dataclass(frozen=True)
class Power:
    """How many times a positive fault test repeats its fault: its negative control, run on the
    unsafe configuration, caught it (failed requests) in `caught` of `of` single trials
    (`measured`: when and where). One trial misses such a configuration with an estimated
    chance `missed`, so n trials in a row all miss it with missed^n; `repeats` is the fewest
    that keep that under 1 - POWER_GOAL."""

    trial: str
    control: str
    caught: int
    of: int
    measured: str

    @property
    def missed(self) -> float:
        """The chance one trial misses the unsafe configuration, estimated from the trials by
        Laplace's rule of succession, (misses + 1) / (trials + 2): a few trials that all caught
        it do not prove a trial never misses (10 of 10 gives 1/12, not 0; 20 of 20, 1/22)."""
        return (self.of - self.caught + 1) / (self.of + 2)

    @property
    def repeats(self) -> int:
        n = 1
        while self.missed**n > 1 - POWER_GOAL:
            n += 1
        return n

    @property
    def chance(self) -> float:
        """The chance that `repeats` trials catch the unsafe configuration."""
        return 1 - self.missed**self.repeats

    def __str__(self) -> str:
        times = "once" if self.repeats == 1 else f"{self.repeats} times"
        return (
            f"{self.trial}, {times}: {self.chance:.0%} to catch the unsafe "
            f"configuration its control catches in {self.caught} of {self.of} single trials "
            f"({self.measured})"
        )


@dataclass(frozen=True)
class PromiseEntry:
    """One promise of the promises file: what the drawing says (its `{words}` filled in from the
    drawing's values) and which tests check it."""

    key: str
    source: str
    title: str
    drawing: str
    tests: tuple[str, ...]
    pending: tuple[str, ...]
    figures: tuple[FigureEntry, ...]
    #: The modes CI must see it passed in, as written (None: not written, every mode).
    verify_in: tuple[str, ...] | None
    why_not: str
    #: How often its positive fault test repeats the fault (None: it has none to state).
    power: Power | None = None


@dataclass(frozen=True)
class Drawing:
    """Everything a drawing file promises."""

    path: Path
    namespace: str
    kubernetes_version: str
    overlays: tuple[Overlay, ...]
    services: tuple[Workload, ...]
    dependencies: tuple[Workload, ...]
    node_agents: tuple[NodeAgent, ...]
    volumes: tuple[Volume, ...]
    configmaps: tuple[str, ...]
    secrets: tuple[str, ...]
    calls: tuple[Call, ...]
    node_ports: tuple[NodePort, ...]
    ingress: IngressRoute
    total_pods: tuple[int, int]
    min_services: int
    log_index_prefix: str
    slos: tuple[Slo, ...]
    #: What every workload's containers have (nothing expected without the field).
    containers: Containers = Containers()
    #: The promises of the file `promises` names (none without it).
    promises: tuple[PromiseEntry, ...] = ()
    #: That file's `verified_against`: what the tests under a name talk to, by that name.
    verified_against: tuple[tuple[str, str], ...] = ()
    #: The line each field is written on (`services[1].replicas` -> 33), for messages.
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    @property
    def workloads(self) -> tuple[Workload, ...]:
        return self.services + self.dependencies

    def where(self, *path: str | int) -> str:
        """`drawing.yaml:33: services[1].replicas`: where a value is written, for a message."""
        name = _field(path)
        line = self.lines.get(name)
        return f"{self.path.name}:{line}: {name}" if line else f"{self.path.name}: {name}"

    def field_of(self, workload: Workload) -> tuple[str, int]:
        """The field path of a workload's entry: ("services", 1)."""
        for group, listed in (("services", self.services), ("dependencies", self.dependencies)):
            if workload in listed:
                return group, listed.index(workload)
        raise KeyError(f"{workload.name} is not one of {self.path.name}'s workloads")

    def manifests_dir(self, overlay: str) -> Path:
        """The folder an overlay renders from."""
        return self.path.parent / self.overlay(overlay).manifests

    def build_context(self, build: Build) -> Path:
        """The folder a workload's image is built from."""
        return self.path.parent / build.context

    def deploys(self, overlay: str, piece: str) -> bool:
        return piece in self.overlay(overlay).pieces

    def workloads_in(self, overlay: str) -> tuple[Workload, ...]:
        """The workloads an overlay deploys."""
        return tuple(w for w in self.workloads if self.deploys(overlay, w.piece))

    def autoscaled(self, overlay: str, workload: Workload) -> Autoscaling | None:
        """The workload's autoscaling where the overlay deploys it and its autoscaler's piece;
        None otherwise (the overlay's manifests size it themselves)."""
        scaling = workload.autoscaling
        if scaling is None or not self.deploys(overlay, workload.piece):
            return None
        return scaling if self.deploys(overlay, scaling.piece) else None

    def node_agents_in(self, overlay: str) -> tuple[NodeAgent, ...]:
        """The DaemonSets an overlay deploys."""
        return tuple(a for a in self.node_agents if self.deploys(overlay, a.piece))

    def volumes_in(self, overlay: str) -> tuple[Volume, ...]:
        """The PVCs an overlay creates."""
        return tuple(v for v in self.volumes if self.deploys(overlay, v.piece))

    def configmaps_in(self, overlay: str) -> tuple[str, ...]:
        """The drawing's ConfigMaps plus those of the node agents an overlay deploys."""
        agents = self.node_agents_in(overlay)
        return self.configmaps + tuple(name for agent in agents for name in agent.configmaps)

    def calls_in(self, overlay: str) -> tuple[Call, ...]:
        """The calls between two workloads an overlay deploys, where it deploys the call's piece
        (a node agent's calls leave its node's network, not a workload's pod)."""
        deployed = {w.name for w in self.workloads_in(overlay)}
        return tuple(
            call
            for call in self.calls
            if {call.source, call.target} <= deployed
            and (call.piece is None or self.deploys(overlay, call.piece))
        )

    def node_ports_in(self, overlay: str) -> tuple[NodePort, ...]:
        """The NodePort Services an overlay creates."""
        return tuple(p for p in self.node_ports if self.deploys(overlay, p.piece))

    @property
    def all_pieces(self) -> frozenset[str]:
        """Every piece some overlay deploys."""
        return frozenset(piece for overlay in self.overlays for piece in overlay.pieces)

    def workload(self, name: str) -> Workload:
        """A workload by name; KeyError naming the drawing's workloads otherwise."""
        for candidate in self.workloads:
            if candidate.name == name:
                return candidate
        known = ", ".join(w.name for w in self.workloads)
        raise KeyError(f"{self.path.name} has no workload {name!r} (it has {known})")

    def slo(self, name: str) -> Slo:
        """An SLO by name; KeyError naming the drawing's SLOs otherwise."""
        for candidate in self.slos:
            if candidate.name == name:
                return candidate
        known = ", ".join(s.name for s in self.slos)
        raise KeyError(f"{self.path.name} has no SLO {name!r} (it has {known})")

    def overlay(self, name: str) -> Overlay:
        """An overlay by name; KeyError naming the drawing's overlays otherwise."""
        for candidate in self.overlays:
            if candidate.name == name:
                return candidate
        known = ", ".join(o.name for o in self.overlays)
        raise KeyError(f"{self.path.name} has no overlay {name!r} (it has {known})")


def schema(resource: str = SCHEMA_RESOURCE) -> dict[str, Any]:
    """A published JSON Schema: of a drawing file, or of its promises file."""
    text = resources.files("kubepromises").joinpath(resource).read_text(encoding="utf-8")
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def load_drawing(path: Path | str) -> Drawing:
    """Read and check a drawing file and the promises file it names; DrawingError lists every
    mistake with file, field and line."""
    path = Path(path)
    drawing = _read(path, path.name, heading=path.name)
    problems = drawing.schema_problems(SCHEMA_RESOURCE)
    promises = None
    written = drawing.data.get("promises") if isinstance(drawing.data, dict) else None
    if isinstance(written, str):
        if (path.parent / written).is_file():
            promises = _read(path.parent / written, written, heading=path.name)
            problems += promises.schema_problems(PROMISES_SCHEMA_RESOURCE)
        else:
            message = f"no file {written} beside {path.name}"
            problems.append(drawing.locate.problem(("promises",), message))
    if problems:  # the cross-field checks assume the schemas hold
        raise DrawingError(path.name, problems)
    problems = _cross_field_problems(drawing.data, drawing.locate)
    problems += _build_problems(path.parent, drawing.data, drawing.locate)
    if promises is not None:
        words, slos = _words(drawing.data), drawing.data["slos"]
        problems += _promise_problems(promises.data, words, slos, promises.locate)
    if problems:
        raise DrawingError(path.name, problems)
    promise_data = promises.data if promises is not None else {"promises": {}}
    return _build(path, drawing.data, promise_data, _field_lines(drawing.locate.root))


@dataclass(frozen=True)
class _File:
    """A YAML file read: its data, and where each node of it is."""

    data: Any
    locate: _Locator

    def schema_problems(self, resource: str) -> list[Problem]:
        """A key given twice, and every way the data breaks the schema."""
        problems = list(_duplicate_keys(self.locate.file, self.locate.root))
        return problems + _schema_problems(self.data, self.locate, schema(resource))


def _read(path: Path, file: str, *, heading: str) -> _File:
    """Parse a file (named `file` in messages); DrawingError (under `heading`) when it is not
    YAML or is empty."""
    text = path.read_text(encoding="utf-8")
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else 1
        problem = Problem(file, line, "", f"not YAML: {error.problem}")
        raise DrawingError(heading, [problem]) from None
    if root is None:
        raise DrawingError(heading, [Problem(file, 1, "", "the file is empty")])
    return _File(data, _Locator(file, root))


def _field(path: FieldPath) -> str:
    """`services[1].replicas` for ("services", 1, "replicas")."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


class _Locator:
    """Maps a field path to the line of its YAML node (the deepest node that exists)."""

    def __init__(self, file: str, root: yaml.Node) -> None:
        self.file = file
        self.root = root

    def node(self, path: FieldPath, *, key: bool = False) -> yaml.Node:
        """The node at `path`; with `key`, the last step's key node rather than its value."""
        node = self.root
        for position, part in enumerate(path):
            last = position == len(path) - 1
            if isinstance(node, yaml.MappingNode):
                pair = next((p for p in node.value if p[0].value == part), None)
                if pair is None:
                    break
                node = pair[0] if key and last else pair[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int):
                if not 0 <= part < len(node.value):
                    break
                node = node.value[part]
            else:
                break
        return node

    def problem(self, path: FieldPath, message: str, *, key: bool = False) -> Problem:
        line = self.node(path, key=key).start_mark.line + 1
        return Problem(self.file, line, _field(path), message)


def _field_lines(node: yaml.Node, path: FieldPath = ()) -> dict[str, int]:
    """The line of every field's value: {"services[1].replicas": 33, ...}."""
    lines = {_field(path): node.start_mark.line + 1} if path else {}
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            lines.update(_field_lines(value, (*path, str(key.value))))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            lines.update(_field_lines(item, (*path, index)))
    return lines


def _duplicate_keys(file: str, node: yaml.Node, path: FieldPath = ()) -> Iterator[Problem]:
    """A key given twice in one mapping (YAML loaders keep the last one silently)."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                line = key.start_mark.line + 1
                yield Problem(file, line, _field((*path, name)), "given twice in one mapping")
            seen.add(name)
            yield from _duplicate_keys(file, value, (*path, name))
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            yield from _duplicate_keys(file, item, (*path, index))


def _schema_problems(data: object, locate: _Locator, published: Mapping[str, Any]) -> list[Problem]:
    validator = jsonschema.Draft202012Validator(published)
    problems = []
    for error in validator.iter_errors(data):
        path: FieldPath = tuple(error.absolute_path)
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(error.schema.get("properties", {}))
            for extra in sorted(set(error.instance) - allowed):
                known = ", ".join(sorted(allowed)) or "none"
                message = f"unknown field (the fields here: {known})"
                problems.append(locate.problem((*path, extra), message, key=True))
        elif error.validator == "required" and isinstance(error.instance, dict):
            # Reported at the mapping that lacks it (the field has no line of its own).
            line = locate.node(path).start_mark.line + 1
            for name in (str(r) for r in error.validator_value if r not in error.instance):
                field = _field((*path, name))
                problems.append(Problem(locate.file, line, field, "missing (a required field)"))
        elif error.validator == "pattern" and "errorMessage" in error.schema:
            # The schema's own words for a form, rather than its regular expression.
            message = f"{error.instance!r}: {error.schema['errorMessage']}"
            problems.append(locate.problem(path, message))
        else:
            problems.append(locate.problem(path, error.message))
    # One "required" error per missing field names them all: keep each problem once.
    return list(dict.fromkeys(problems))


def _cross_field_problems(data: Mapping[str, Any], locate: _Locator) -> list[Problem]:
    """What the schema cannot say: names that must exist, names given twice, pieces deployed."""
    problems: list[Problem] = []
    pieces = {piece for overlay in data["overlays"].values() for piece in overlay["pieces"]}
    air_gapped_pieces = {
        piece
        for overlay in data["overlays"].values()
        if overlay["air_gapped"]
        for piece in overlay["pieces"]
    }

    def piece_known(path: FieldPath, piece: str) -> None:
        if piece not in pieces:
            known = ", ".join(sorted(pieces))
            problems.append(locate.problem(path, f"{piece!r} is in no overlay (pieces: {known})"))

    workloads: dict[str, Mapping[str, Any]] = {}
    for group in ("services", "dependencies"):
        for index, item in enumerate(data[group]):
            name = item["name"]
            if name in workloads:
                message = f"workload {name!r} is named twice"
                problems.append(locate.problem((group, index, "name"), message))
            workloads.setdefault(name, item)
            piece_known((group, index, "piece"), item["piece"])
            image = item.get("image")
            if image and image["offline"] is None and item["piece"] in air_gapped_pieces:
                message = (
                    f"no offline image, but an air-gapped overlay deploys piece {item['piece']!r}"
                )
                problems.append(locate.problem((group, index, "image", "offline"), message))

    agents = {agent["name"] for agent in data["node_agents"]}
    agent_pieces: set[tuple[str, str]] = set()
    for index, agent in enumerate(data["node_agents"]):
        piece_known(("node_agents", index, "piece"), agent["piece"])
        if agent["name"] in workloads:
            message = f"{agent['name']!r} is a workload's name too"
            problems.append(locate.problem(("node_agents", index, "name"), message))
        if (agent["name"], agent["piece"]) in agent_pieces:
            message = f"node agent {agent['name']!r} is given twice in piece {agent['piece']!r}"
            problems.append(locate.problem(("node_agents", index, "name"), message))
        agent_pieces.add((agent["name"], agent["piece"]))

    def workload_known(path: FieldPath, name: str, what: str = "workload") -> bool:
        if name in workloads:
            return True
        known = ", ".join(workloads)
        problems.append(locate.problem(path, f"no {what} is named {name!r} (workloads: {known})"))
        return False

    volume_names: set[str] = set()
    for index, volume in enumerate(data["volumes"]):
        if volume["name"] in volume_names:
            message = f"volume {volume['name']!r} is named twice"
            problems.append(locate.problem(("volumes", index, "name"), message))
        volume_names.add(volume["name"])
        if not workload_known(("volumes", index, "workload"), volume["workload"]):
            continue
        kind = workloads[volume["workload"]]["kind"]
        if kind == "StatefulSet" and volume["template"] is None:
            message = f"{volume['workload']} is a StatefulSet: name its volumeClaimTemplate"
            problems.append(locate.problem(("volumes", index, "template"), message))
        if kind == "Deployment" and volume["template"] is not None:
            message = f"{volume['workload']} is a Deployment: its PVC has no template (null)"
            problems.append(locate.problem(("volumes", index, "template"), message))

    configmaps = list(data["configmaps"])
    for index, agent in enumerate(data["node_agents"]):
        for position, name in enumerate(agent.get("configmaps", [])):
            if name in configmaps:
                path: FieldPath = ("node_agents", index, "configmaps", position)
                problems.append(locate.problem(path, f"ConfigMap {name!r} is named twice"))
            configmaps.append(name)

    for index, call in enumerate(data["calls"]):
        source = call["from"]
        if source not in workloads and source not in agents:
            known = ", ".join([*workloads, *sorted(agents)])
            message = f"no workload or node agent is named {source!r} (known: {known})"
            problems.append(locate.problem(("calls", index, "from"), message))
        workload_known(("calls", index, "to"), call["to"])
        if "piece" in call:
            piece_known(("calls", index, "piece"), call["piece"])

    workload_known(("ingress", "workload"), data["ingress"]["workload"])
    piece_known(("ingress", "piece"), data["ingress"]["piece"])

    for group in ("services", "dependencies"):
        for index, item in enumerate(data[group]):
            scaling = item.get("autoscaling")
            if scaling is None:
                continue
            path = (group, index, "autoscaling")
            piece_known((*path, "piece"), scaling["piece"])
            if item["kind"] != "Deployment":
                message = f"{item['name']} is a {item['kind']}: only a Deployment is autoscaled"
                problems.append(locate.problem(path, message, key=True))
            if scaling["max"] < item["replicas"]:
                message = (
                    f"max {scaling['max']} is below the workload's replicas {item['replicas']} "
                    "(its autoscaler's minimum)"
                )
                problems.append(locate.problem((*path, "max"), message))

    node_ports: dict[int, str] = {}
    for group in ("services", "dependencies"):
        for index, item in enumerate(data[group]):
            if "node_port" not in item:
                continue
            port = item["node_port"]["port"]
            if port in node_ports:
                message = f"node port {port} is {node_ports[port]}'s too"
                problems.append(locate.problem((group, index, "node_port", "port"), message))
            node_ports.setdefault(port, item["name"])

    total = data["summary"]["total_pods"]
    if total["min"] > total["max"]:
        message = f"min {total['min']} is above max {total['max']}"
        problems.append(locate.problem(("summary", "total_pods"), message))
    return problems


def _build_problems(folder: Path, data: Mapping[str, Any], locate: _Locator) -> list[Problem]:
    """A build context that is not a folder beside the drawing file, or holds no Dockerfile."""
    problems: list[Problem] = []
    for group in ("services", "dependencies"):
        for index, item in enumerate(data[group]):
            if "build" not in item:
                continue
            context = item["build"]["context"]
            path: FieldPath = (group, index, "build", "context")
            if not (folder / context).is_dir():
                message = f"no folder {context} beside {locate.file}"
                problems.append(locate.problem(path, message))
            elif not (folder / context / "Dockerfile").is_file():
                problems.append(locate.problem(path, f"no Dockerfile in {context}"))
    return problems


def _words(data: Mapping[str, Any]) -> dict[str, str]:
    """The drawing's values a promise's words may name in braces."""
    return {"kubernetes_minor": data["versions"]["kubernetes"].rsplit(".", 1)[0]}


def _promise_problems(
    data: Mapping[str, Any], words: Mapping[str, str], slos: Mapping[str, Any], locate: _Locator
) -> list[Problem]:
    """What the promises schema cannot say: its words name the drawing's values; a figure's SLO
    is the drawing's, and gives the unit; a stated power's control caught no more than it ran,
    and is one of the promise's tests; a promise that leaves a mode out says why, and only
    then."""
    problems: list[Problem] = []
    modes = schema(PROMISES_SCHEMA_RESOURCE)["$defs"]["mode"]["enum"]
    for key, promise in data["promises"].items():
        try:
            named = {name for _, name, _, _ in string.Formatter().parse(promise["drawing"]) if name}
        except ValueError as error:  # a lone brace
            named = set()
            message = f"not a value in braces, as {{name}}: {error}"
            problems.append(locate.problem(("promises", key, "drawing"), message))
        for name in sorted(named - set(words)):
            message = f"no value is named {{{name}}} (the values: {', '.join(words)})"
            problems.append(locate.problem(("promises", key, "drawing"), message))
        for index, figure in enumerate(promise.get("figures", [])):
            path: FieldPath = ("promises", key, "figures", index)
            if "slo" not in figure:
                continue
            slo = slos.get(figure["slo"])
            if slo is None:
                known = ", ".join(slos)
                message = f"the drawing has no SLO {figure['slo']!r} (its slos: {known})"
                problems.append(locate.problem((*path, "slo"), message))
            elif "unit" in figure:
                message = (
                    f"the SLO {figure['slo']!r} gives the unit ({slo['unit']!r}): leave it out"
                )
                problems.append(locate.problem((*path, "unit"), message, key=True))
        power = promise.get("power")
        if power is not None:
            if power["caught"] > power["of"]:
                message = f"caught {power['caught']} of {power['of']}: more than were run"
                problems.append(locate.problem(("promises", key, "power", "caught"), message))
            if not any(power["control"].startswith(test) for test in promise["tests"]):
                message = "the negative control is not among the promise's tests"
                problems.append(locate.problem(("promises", key, "power", "control"), message))
        verify_in = promise.get("verify_in")
        leaves_out = verify_in is not None and set(verify_in) != set(modes)
        if leaves_out and "why_not" not in promise:
            message = "a mode is left out: say why in why_not"
            problems.append(locate.problem(("promises", key, "verify_in"), message))
        if not leaves_out and "why_not" in promise:
            message = "verify_in leaves no mode out"
            problems.append(locate.problem(("promises", key, "why_not"), message, key=True))
    return problems


def _build(
    path: Path,
    data: Mapping[str, Any],
    promise_file: Mapping[str, Any],
    lines: Mapping[str, int],
) -> Drawing:
    promises: Mapping[str, Mapping[str, Any]] = promise_file["promises"]

    def workload(item: Mapping[str, Any]) -> Workload:
        image, build, scaling = item.get("image"), item.get("build"), item.get("autoscaling")
        return Workload(
            name=item["name"],
            kind=item["kind"],
            replicas=item["replicas"],
            port=item["port"],
            piece=item["piece"],
            image=Image(image["online"], image["offline"]) if image else None,
            open_to_anyone=item.get("open_to_anyone", False),
            data_store=item.get("data_store", False),
            build=Build(build["context"], build["image"]) if build else None,
            autoscaling=Autoscaling(**scaling) if scaling else None,
        )

    services = tuple(workload(item) for item in data["services"])
    dependencies = tuple(workload(item) for item in data["dependencies"])
    by_name = {w.name: w for w in services + dependencies}
    node_ports = tuple(
        NodePort(
            item["node_port"]["service"],
            item["name"],
            item["port"],
            item["node_port"]["port"],
            item["piece"],
        )
        for item in [*data["services"], *data["dependencies"]]
        if "node_port" in item
    )
    ingress = data["ingress"]
    total = data["summary"]["total_pods"]
    slos = tuple(
        Slo(name, float(s["at_most"]), s["unit"], s["what"])
        for name, s in cast(Mapping[str, Mapping[str, Any]], data["slos"]).items()
    )
    slo_named = {slo.name: slo for slo in slos}
    words = _words(data)

    def figure(item: Mapping[str, Any]) -> FigureEntry:
        slo = slo_named[item["slo"]] if "slo" in item else None
        return FigureEntry(
            item["label"], item["pattern"], slo.unit if slo else item.get("unit", ""), slo
        )

    return Drawing(
        path=path,
        namespace=data["namespace"],
        kubernetes_version=data["versions"]["kubernetes"],
        overlays=tuple(
            Overlay(name, frozenset(o["pieces"]), o["air_gapped"], o["manifests"])
            for name, o in data["overlays"].items()
        ),
        services=services,
        dependencies=dependencies,
        node_agents=tuple(
            NodeAgent(a["name"], a["piece"], a["image"], tuple(a.get("configmaps", ())))
            for a in data["node_agents"]
        ),
        volumes=tuple(
            Volume(v["name"], v["workload"], v["size"], v["template"], by_name[v["workload"]].piece)
            for v in data["volumes"]
        ),
        configmaps=tuple(data["configmaps"]),
        secrets=tuple(data["secrets"]),
        containers=Containers(
            **{key: tuple(names) for key, names in data.get("containers", {}).items()}
        ),
        calls=tuple(
            Call(c["from"], c["to"], by_name[c["to"]].port, c.get("piece")) for c in data["calls"]
        ),
        node_ports=node_ports,
        ingress=IngressRoute(
            ingress["host"],
            ingress["workload"],
            by_name[ingress["workload"]].port,
            ingress["piece"],
        ),
        total_pods=(total["min"], total["max"]),
        min_services=data["summary"]["min_services"],
        log_index_prefix=data["logs"]["index_prefix"],
        slos=slos,
        promises=tuple(
            PromiseEntry(
                key=key,
                source=p["source"],
                title=p["title"],
                drawing=p["drawing"].format_map(words),
                tests=tuple(p["tests"]),
                pending=tuple(p.get("pending", ())),
                figures=tuple(figure(f) for f in p.get("figures", ())),
                verify_in=tuple(p["verify_in"]) if "verify_in" in p else None,
                why_not=p.get("why_not", ""),
                power=Power(**p["power"]) if "power" in p else None,
            )
            for key, p in promises.items()
        ),
        verified_against=tuple(promise_file.get("verified_against", {}).items()),
        lines=lines,
    )
