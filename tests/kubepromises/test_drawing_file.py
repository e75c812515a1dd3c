"""The drawing file is read into typed values, and a mistake in it is named by field and line.

Each broken copy is the real drawing with one edit; the unedited copy loads (the control), so
the error is the edit's.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from kubepromises import DrawingError, load_drawing

REPO = Path(__file__).resolve().parents[2]
DRAWING = REPO / "drawing.yaml"
#: The second drawing, whose services say how their images are built.
SHOP = REPO / "examples" / "shop"


def broken_copy(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    """The drawing with `old` (which occurs once) replaced by `new`, and the edited line; the
    promises file it names is copied beside it."""
    text = DRAWING.read_text()
    assert text.count(old) == 1, f"{old!r} is not unique in {DRAWING.name}"
    line = text[: text.index(old)].count("\n") + 1
    copy = tmp_path / "drawing.yaml"
    copy.write_text(text.replace(old, new))
    (tmp_path / "promises.yaml").write_bytes((REPO / "promises.yaml").read_bytes())
    return copy, line


def assert_caught(copy: Path, field: str, line: int, words: str) -> None:
    """Loading `copy` fails, and one problem names the field, the line and the mistake."""
    before = copy.read_bytes()
    with pytest.raises(DrawingError) as caught:
        load_drawing(copy)
    assert copy.read_bytes() == before, "loading a drawing changed the file"
    found = [p for p in caught.value.problems if p.field == field]
    assert found, f"no problem names {field}:\n{caught.value}"
    assert found[0].line == line, f"{field} reported at line {found[0].line}, not {line}"
    assert words in found[0].message, found[0].message
    assert f"drawing.yaml:{line}: {field}: " in str(caught.value)


def test_the_drawing_loads_into_typed_values() -> None:
    drawing = load_drawing(DRAWING)
    assert drawing.namespace == DRAWING.read_text().split("namespace: ")[1].split()[0]
    assert len(drawing.services) == 4
    assert all(w.image is not None for w in drawing.dependencies)
    assert {c.target for c in drawing.calls} <= {w.name for w in drawing.workloads}
    assert drawing.slo("ready").at_most > 0


def test_an_overlays_calls_are_those_between_the_workloads_it_deploys() -> None:
    drawing = load_drawing(DRAWING)
    every = {(c.source, c.target) for c in drawing.calls}
    offline = {(c.source, c.target) for c in drawing.calls_in("offline")}
    # the log shipper is a node agent; Logstash and Kibana are not deployed offline
    assert ("log-shipper", "elasticsearch") in every - offline
    assert ("kibana", "elasticsearch") in every - offline
    assert ("order-service", "order-db") in offline
    assert {source for source, _ in offline} <= {w.name for w in drawing.workloads_in("offline")}


def test_the_unedited_copy_loads(tmp_path: Path) -> None:
    """The control for every broken copy below: an edit that changes nothing loads."""
    copy, _ = broken_copy(tmp_path, "\nnamespace: ", "\nnamespace: ")
    assert replace(load_drawing(copy), path=DRAWING) == load_drawing(DRAWING)


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        pytest.param(
            "{name: order-service, kind: Deployment, replicas: 2,",
            "{name: order-service, kind: Deployment, replicas: two,",
            "services[1].replicas",
            "is not of type 'integer'",
            id="wrong-type",
        ),
        pytest.param(
            "{name: order-service, kind: Deployment,",
            "{name: order-service, kind: Deployment, replica: 3,",
            "services[1].replica",
            "unknown field",
            id="unknown-field",
        ),
        pytest.param(
            "{name: order-service, kind: Deployment, replicas: 2, port: 9001,",
            "{name: order-service, kind: Deployment, replicas: 2,",
            "services[1].port",
            "missing",
            id="missing-field",
        ),
        pytest.param(
            "{from: order-service, to: order-db}",
            "{from: order-service, to: orders-db}",
            "calls[6].to",
            "no workload is named 'orders-db'",
            id="call-to-unknown-workload",
        ),
        pytest.param(
            "{from: inventory-service, to: inventory-db}",
            "{from: inventory-svc, to: inventory-db}",
            "calls[8].from",
            "no workload or node agent is named 'inventory-svc'",
            id="call-from-unknown-workload",
        ),
        pytest.param(
            "{name: inventory-service, kind",
            "{name: order-service, kind",
            "services[2].name",
            "named twice",
            id="duplicate-workload",
        ),
        pytest.param(
            "{name: localstack-pvc, workload: localstack, size: 2Gi, template: null}",
            "{name: localstack-pvc, workload: localstack, size: 2Gi, template: data}",
            "volumes[4].template",
            "is a Deployment",
            id="template-on-a-deployment",
        ),
        pytest.param(
            "{host: api.demo-micro.local, workload: api-gateway, piece: ingress}",
            "{host: api.demo-micro.local, workload: api-gateway, piece: ingres}",
            "ingress.piece",
            "is in no overlay",
            id="piece-in-no-overlay",
        ),
        pytest.param(
            "  probes: [startup, readiness, liveness]",
            "  probes: [startup, ready, liveness]",
            "containers.probes[1]",
            "'ready' is not one of ['startup', 'readiness', 'liveness']",
            id="unknown-probe",
        ),
        pytest.param(
            "autoscaling: {max: 4, cpu_percent: 70, piece: autoscaling}}\n  - {name: inventory",
            "autoscaling: {max: 1, cpu_percent: 70, piece: autoscaling}}\n  - {name: inventory",
            "services[1].autoscaling.max",
            "max 1 is below the workload's replicas 2",
            id="autoscaling-max-below-replicas",
        ),
        pytest.param(
            "autoscaling: {max: 4, cpu_percent: 70, piece: autoscaling}}\n  - {name: inventory",
            "autoscaling: {max: 4, cpu: 70, piece: autoscaling}}\n  - {name: inventory",
            "services[1].autoscaling.cpu",
            "unknown field (the fields here: cpu_percent, max, piece)",
            id="autoscaling-unknown-key",
        ),
        pytest.param(
            "autoscaling: {max: 4, cpu_percent: 70, piece: autoscaling}}\n  - {name: inventory",
            "autoscaling: {max: 4, cpu_percent: 70, piece: autoscale}}\n  - {name: inventory",
            "services[1].autoscaling.piece",
            "'autoscale' is in no overlay",
            id="autoscaling-piece-in-no-overlay",
        ),
        pytest.param(
            '    image: {online: "postgres:16.4", offline: "demo-micro-airgap/postgres:15"}\n'
            "  - name: inventory-db",
            "    autoscaling: {max: 2, cpu_percent: 70, piece: base}\n"
            '    image: {online: "postgres:16.4", offline: "demo-micro-airgap/postgres:15"}\n'
            "  - name: inventory-db",
            "dependencies[0].autoscaling",
            "order-db is a StatefulSet: only a Deployment is autoscaled",
            id="autoscaling-a-statefulset",
        ),
        pytest.param(
            "\nnamespace: ",
            "\nnamespace: x\nnamespace: ",
            "namespace",
            "given twice",
            id="key-given-twice",
        ),
    ],
)
def test_a_mistake_is_named_by_field_and_line(
    tmp_path: Path, old: str, new: str, field: str, words: str
) -> None:
    copy, line = broken_copy(tmp_path, old, new)
    if old.startswith("\n"):  # the edit begins on the line after the newline
        line += 1 + new.count("\n") - old.count("\n")
    assert_caught(copy, field, line, words)


def test_text_that_is_not_yaml_is_named_by_line(tmp_path: Path) -> None:
    copy, line = broken_copy(tmp_path, "  total_pods: {min: 15, max: 20}", "  total_pods: {min: 15")
    with pytest.raises(DrawingError) as caught:
        load_drawing(copy)
    (problem,) = caught.value.problems
    assert problem.message.startswith("not YAML")
    assert line <= problem.line <= line + 1


def test_a_build_context_that_is_not_a_folder_is_named_by_field_and_line(tmp_path: Path) -> None:
    # arrange: the shop copied; unedited, it loads with its services' builds (the control)
    shutil.copytree(SHOP, tmp_path / "shop")
    copy = tmp_path / "shop" / "drawing.yaml"
    builds = [w.build for w in load_drawing(copy).services]
    assert all(b is not None and load_drawing(copy).build_context(b).is_dir() for b in builds)
    # act: one context misspelled
    text = copy.read_text()
    old = "context: images/checkout,"
    assert text.count(old) == 1
    copy.write_text(text.replace(old, "context: images/checkot,"))
    # assert
    line = text[: text.index(old)].count("\n") + 1
    words = "no folder images/checkot beside drawing.yaml"
    assert_caught(copy, "services[1].build.context", line, words)


def test_a_build_context_without_a_dockerfile_is_named(tmp_path: Path) -> None:
    # arrange
    shutil.copytree(SHOP, tmp_path / "shop")
    copy = tmp_path / "shop" / "drawing.yaml"
    load_drawing(copy)  # the control
    (tmp_path / "shop" / "images" / "storefront" / "Dockerfile").unlink()
    # act and assert
    line = (
        copy.read_text()
        .split("\n")
        .index('    build: {context: images/storefront, image: "shop/storefront:0.1.0"}')
    )
    assert_caught(copy, "services[0].build.context", line + 1, "no Dockerfile in images/storefront")
