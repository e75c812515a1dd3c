"""Promises of an architecture drawing, checked against a Kubernetes deployment.

`kubepromises.drawing` reads a drawing file (YAML, validated against the published
`drawing.schema.json`) into typed, frozen values; `kubepromises.plugin` is its pytest plugin
(`--drawing`, the `drawing` fixture); `kubepromises.static_suite` the generic static suite
(`pytest --pyargs kubepromises.static_suite --drawing PATH`), its checks in
`kubepromises.static`; `kubepromises.report` the promise matrix its plugin writes into the
report when the drawing names a promises file. The package names no system of its own: the
drawing file is where a system's names live.
"""

from kubepromises.drawing import Drawing, DrawingError, Problem, load_drawing

__all__ = ["Drawing", "DrawingError", "Problem", "load_drawing"]
