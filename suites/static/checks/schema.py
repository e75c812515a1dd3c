"""Every object is valid, strictly, against the schema of the Kubernetes release we target."""

from __future__ import annotations

from suites.static.manifest import Rendered, ref
from suites.static.openapi import schema_errors


def schema_violations(rendered: Rendered) -> list[str]:
    return [f"{ref(obj)} {error}" for obj in rendered.objects for error in schema_errors(obj)]
