"""Validate objects against the OpenAPI v3 schema of the Kubernetes release we target.

The schema ships in the Go module k8s.io/kubernetes (api/openapi-spec/v3/), which the Go module
proxy serves: no cluster and no network beyond the proxy. Unknown fields are rejected, as
`kubectl apply --validate=strict` would.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped,unused-ignore]

from suites import promises

GO_TIMEOUT_SECONDS = 300
Schema = dict[str, Any]


class SchemaMissingError(RuntimeError):
    """The OpenAPI spec of the target Kubernetes release cannot be found."""


@functools.cache
def spec_directory() -> Path:
    """api/openapi-spec/v3 of k8s.io/kubernetes@KUBERNETES_VERSION, from the Go module cache."""
    if explicit := os.environ.get("DEMO_MICRO_OPENAPI_DIR"):
        return Path(explicit)
    go = shutil.which("go")
    if go is None:
        raise SchemaMissingError(
            "the OpenAPI schema comes from the Go module k8s.io/kubernetes@"
            f"{promises.KUBERNETES_VERSION}, and `go` is not on PATH. Install Go, or point "
            "DEMO_MICRO_OPENAPI_DIR at a copy of its api/openapi-spec/v3 directory."
        )
    module = f"k8s.io/kubernetes@{promises.KUBERNETES_VERSION}"
    # Outside any module, so a go.mod up the tree cannot interfere.
    with tempfile.TemporaryDirectory() as outside:
        result = subprocess.run(
            [go, "mod", "download", "-json", module],
            check=False,
            timeout=GO_TIMEOUT_SECONDS,
            capture_output=True,
            text=True,
            cwd=outside,
            env={**os.environ, "GOTOOLCHAIN": "local", "GOFLAGS": "-mod=mod"},
        )
    if result.returncode != 0:
        raise SchemaMissingError(
            f"go mod download {module} failed:\n{result.stdout}{result.stderr}"
        )
    directory = Path(json.loads(result.stdout)["Dir"]) / "api" / "openapi-spec" / "v3"
    if not directory.is_dir():
        raise SchemaMissingError(f"{module} has no {directory}")
    return directory


def _spec_file(api_version: str) -> Path:
    group, _, version = api_version.rpartition("/")
    name = f"api__{version}_openapi.json" if not group else f"apis__{group}__{version}_openapi.json"
    return spec_directory() / name


def _strict(node: Any) -> Any:
    """The schema with additionalProperties: false wherever it lists properties."""
    if isinstance(node, dict):
        strict = {key: _strict(value) for key, value in node.items()}
        if (
            "properties" in strict
            and "additionalProperties" not in strict
            and not strict.get("x-kubernetes-preserve-unknown-fields")
        ):
            strict["additionalProperties"] = False
        return strict
    if isinstance(node, list):
        return [_strict(item) for item in node]
    return node


@functools.cache
def _document(api_version: str) -> Schema:
    path = _spec_file(api_version)
    if not path.is_file():
        raise SchemaMissingError(f"no OpenAPI schema for apiVersion {api_version} ({path})")
    document: Schema = _strict(json.loads(path.read_text()))
    return document


@functools.cache
def _validator(api_version: str, kind: str) -> jsonschema.protocols.Validator:
    document = _document(api_version)
    group, _, version = api_version.rpartition("/")
    wanted = {"group": group, "version": version, "kind": kind}
    for name, schema in document["components"]["schemas"].items():
        if name.endswith(f".{kind}") and wanted in schema.get(
            "x-kubernetes-group-version-kind", []
        ):
            root = {"components": document["components"], "$ref": f"#/components/schemas/{name}"}
            validator: jsonschema.protocols.Validator = jsonschema.Draft7Validator(root)
            return validator
    raise SchemaMissingError(
        f"Kubernetes {promises.KUBERNETES_VERSION} has no {api_version} {kind}"
    )


def schema_errors(obj: dict[str, Any]) -> Iterator[str]:
    """Every way `obj` disagrees with its kind's schema, each as `at <path>: <message>`."""
    validator = _validator(obj["apiVersion"], obj["kind"])
    for error in sorted(validator.iter_errors(obj), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(part) for part in error.absolute_path) or "(root)"
        yield f"at {path}: {error.message}"
