#!/usr/bin/env bash
# Builds the offline stand-ins for the dependency images the manifests use (see
# system/CONTRACT.md): PostgreSQL, Redis, a MongoDB-wire server, an SQS emulator, and the Python
# base the service images build on, and the add-ons (Traefik; kube-router's NetworkPolicy
# enforcement). Only Debian packages, the Go module proxy and PyPI are used;
# Python wheels are fetched on the host and installed with --no-index. The log path (OpenSearch
# from Maven Central, rsyslog from Debian) is built by build-logging.sh.
set -euo pipefail
# shellcheck source=lib.sh
. "$(dirname "$0")/lib.sh" deps
build_missing() { # image context-dir
  if present "$1"; then step "$1 present"; else build "$1" "$2"; fi
}

"$here/build-debian-base.sh"
build_missing demo-micro-airgap/python:3.11-bookworm "$here/python"
# Built again when a file of its recipe changes (a label holds their digest): its entrypoint
# runs the init scripts that create the services' database roles, and an image built before
# that would start databases the services cannot log in to.
build_changed() { # image context-dir
  local image=$1 context=$2 digest
  digest=$(recipe_digest "$context")
  if present_recipe "$image" "$digest"; then step "$image present"; return; fi
  build "$image" "$context" --label "dev.demo-micro.recipe=$digest"
}
build_changed demo-micro-airgap/postgres:15 "$here/postgres"
build_missing demo-micro-airgap/redis:7 "$here/redis"

ctx=$(mktemp -d /var/tmp/deps.XXXXXX)
trap 'rm -rf "$ctx"' EXIT
# An image of a Go build is labelled with the build it holds (airgap/go/build.sh caches a
# patched build under a folder of its own), so a tag made from another build is made again.
go_image() { # image component context-dir (the binary is added to it)
  local image=$1 component=$2 context=$3 bin build
  bin=$("$airgap/go/build.sh" "$component")
  build=$(basename "$(dirname "$bin")")
  if present "$image" && [ "$(docker image inspect -f \
    '{{index .Config.Labels "dev.demo-micro.build"}}' "$image")" = "$build" ]; then
    step "$image present"; return
  fi
  cp "$bin"/* "$context/"
  build "$image" "$context" --label "dev.demo-micro.build=$build"
}
cp -r "$here/ferretdb" "$ctx/ferretdb"
go_image "demo-micro-airgap/ferretdb:${FERRETDB_VERSION#v}" ferretdb "$ctx/ferretdb"
# moto's wheels are fetched on the host at requirements.lock's versions (its pins, without hashes),
# and the image installs them with --require-hashes against the lock's entries of exactly those
# wheels. Built again when the lock changes (a label holds its digest).
repo=$(cd "$airgap/.." && pwd)
lock_digest=$(sha256sum "$repo/requirements.lock" | cut -c1-12)
moto_image="demo-micro-airgap/moto:$MOTO_VERSION"
if present "$moto_image" && [ "$(docker image inspect -f \
  '{{index .Config.Labels "dev.demo-micro.lock"}}' "$moto_image")" = "$lock_digest" ]; then
  step "$moto_image present"
else
  cp -r "$here/moto" "$ctx/moto"
  wheels="$cache/wheels/moto-$MOTO_VERSION-$lock_digest"
  if [ ! -f "$wheels/.complete" ]; then
    step "fetching moto[server]==$MOTO_VERSION wheels on the host, at requirements.lock's versions"
    mkdir -p "$wheels"
    PYTHONPATH="$repo" python3 -m testbed.lock pins > "$ctx/pins.txt"
    python3 -m pip download -q --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64 \
      --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 --implementation cp \
      -c "$ctx/pins.txt" -d "$wheels" "moto[server]==$MOTO_VERSION"
    touch "$wheels/.complete"
  fi
  mkdir "$ctx/moto/wheels"
  cp "$wheels"/*.whl "$ctx/moto/wheels/"
  PYTHONPATH="$repo" python3 -m testbed.lock for-wheels "$wheels" > "$ctx/moto/requirements.lock"
  build "$moto_image" "$ctx/moto" --label "dev.demo-micro.lock=$lock_digest"
fi
"$here/build-logging.sh"
# Last: Traefik and kube-router build beside the node image (testbed/images.py), and
# airgap/go/build.sh waits here for a build under way.
mkdir -p "$ctx/traefik"
printf 'FROM scratch\nCOPY traefik /usr/local/bin/traefik\nUSER 65532:65532\nENTRYPOINT ["/usr/local/bin/traefik"]\n' \
  > "$ctx/traefik/Dockerfile"
go_image "demo-micro-airgap/traefik:$TRAEFIK_VERSION" traefik "$ctx/traefik"
cp -r "$here/kube-router" "$ctx/kube-router"
go_image "demo-micro-airgap/kube-router:$KUBE_ROUTER_VERSION" kube-router "$ctx/kube-router"
step "dependency images ready"
