#!/usr/bin/env bash
# Builds the offline stand-ins for the dependency images the manifests use (see
# system/CONTRACT.md): PostgreSQL, Redis, a MongoDB-wire server, an SQS emulator, and the Python
# base the service images build on. Only Debian packages, the Go module proxy and PyPI are used;
# Python wheels are fetched on the host and installed with --no-index. The log path (OpenSearch
# from Maven Central, rsyslog from Debian) is built by build-logging.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
airgap=$(cd "$here/.." && pwd)
# shellcheck source=../versions.env
. "$airgap/versions.env"
cache=${DEMO_MICRO_CACHE:-/var/cache/demo-micro}
step() { printf '[deps %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

build() { # image context-dir
  if docker image inspect "$1" >/dev/null 2>&1 && [ -z "${REBUILD:-}" ]; then step "$1 present"; return; fi
  step "building $1"
  docker build -q -t "$1" "$2" >/dev/null
}

"$here/build-debian-base.sh"
build demo-micro-airgap/python:3.11-bookworm "$here/python"
build demo-micro-airgap/postgres:15 "$here/postgres"
build demo-micro-airgap/redis:7 "$here/redis"

ctx=$(mktemp -d /var/tmp/deps.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
if ! docker image inspect "demo-micro-airgap/ferretdb:${FERRETDB_VERSION#v}" >/dev/null 2>&1 || [ -n "${REBUILD:-}" ]; then
  cp -r "$here/ferretdb" "$ctx/ferretdb"
  cp "$("$airgap/go/build.sh" ferretdb)/ferretdb" "$ctx/ferretdb/"
  build "demo-micro-airgap/ferretdb:${FERRETDB_VERSION#v}" "$ctx/ferretdb"
fi
if ! docker image inspect "demo-micro-airgap/moto:$MOTO_VERSION" >/dev/null 2>&1 || [ -n "${REBUILD:-}" ]; then
  cp -r "$here/moto" "$ctx/moto"
  wheels="$cache/wheels/moto-$MOTO_VERSION"
  if [ ! -f "$wheels/.complete" ]; then
    step "fetching moto[server]==$MOTO_VERSION wheels on the host"
    mkdir -p "$wheels"
    python3 -m pip download -q --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --implementation cp \
      -d "$wheels" "moto[server]==$MOTO_VERSION"
    touch "$wheels/.complete"
  fi
  cp -r "$wheels" "$ctx/moto/wheels"
  build "demo-micro-airgap/moto:$MOTO_VERSION" "$ctx/moto"
fi
traefik_image="demo-micro-airgap/traefik:$TRAEFIK_VERSION"
if ! docker image inspect "$traefik_image" >/dev/null 2>&1 || [ -n "${REBUILD:-}" ]; then
  mkdir -p "$ctx/traefik"
  cp "$("$airgap/go/build.sh" traefik)/traefik" "$ctx/traefik/"
  printf 'FROM scratch\nCOPY traefik /usr/local/bin/traefik\nUSER 65532:65532\nENTRYPOINT ["/usr/local/bin/traefik"]\n' \
    > "$ctx/traefik/Dockerfile"
  build "$traefik_image" "$ctx/traefik"
fi
"$here/build-logging.sh"
step "dependency images ready"
