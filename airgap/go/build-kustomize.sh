#!/usr/bin/env bash
# Builds kustomize from the Go module proxy into the cache, for machines without kubectl.
#   airgap/go/build-kustomize.sh        prints the path of the kustomize binary
# The static suite (suites/static/render.py) looks for it at $cache/bin/kustomize.
set -euo pipefail
version=${KUSTOMIZE_VERSION:-v5.7.1}
cache=${DEMO_MICRO_CACHE:-/var/cache/demo-micro}
binary="$cache/bin/kustomize"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

if [ -x "$binary" ] && "$binary" version 2>/dev/null | grep -q "$version"; then
  echo "$binary"; exit 0
fi
command -v go >/dev/null || { echo "build-kustomize.sh: needs Go (https://go.dev/dl/ or apt-get install golang)" >&2; exit 2; }
work="$cache/go/kustomize-$version"
mkdir -p "$work" "$cache/bin"
cd "$work"
# A wrapper module, so kustomize's own go.mod (and its replace-free dependency set) is honoured.
printf 'module demomicro.local/airgap/kustomize\n\ngo 1.24.0\n\nrequire sigs.k8s.io/kustomize/kustomize/v5 %s\n' "$version" > go.mod
echo "build-kustomize.sh: building kustomize $version (log: $work/build.log)" >&2
if ! go build -trimpath -ldflags "-s -w -X sigs.k8s.io/kustomize/api/provenance.version=$version" \
    -o "$binary" sigs.k8s.io/kustomize/kustomize/v5 >"$work/build.log" 2>&1; then
  echo "build-kustomize.sh: build failed; last lines of $work/build.log:" >&2
  tail -n 20 "$work/build.log" >&2
  exit 1
fi
echo "$binary"
