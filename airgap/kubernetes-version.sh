# Sourced after versions.env: sets $KUBERNETES_VERSION from the drawing file, where the version is
# written once (drawing.yaml, versions.kubernetes; docs/drawing.md). A plain sed over the file's
# two-space-indented `kubernetes:` line, so the builds need no YAML parser;
# suites/testbed/test_versions.py checks it reads what kubepromises reads.
# shellcheck shell=bash
drawing_file=${DRAWING_FILE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/drawing.yaml}
KUBERNETES_VERSION=$(sed -n 's/^  kubernetes: *\(v[0-9][0-9.]*\) *$/\1/p' "$drawing_file")
if [ -z "$KUBERNETES_VERSION" ]; then
  echo "no '  kubernetes: vX.Y.Z' line under versions: in $drawing_file" >&2
  exit 1
fi
export KUBERNETES_VERSION
