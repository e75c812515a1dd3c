# Shared by the image build scripts: `. "$(dirname "$0")/lib.sh" <tag>` sets $here, $airgap and
# $cache, loads versions.env, and defines step (a timestamped log line), present (the image
# exists and REBUILD is unset: each image is built once per version) and build.
here=$(cd "$(dirname "$0")" && pwd)
airgap=$(cd "$here/.." && pwd)
# shellcheck source=../versions.env
. "$airgap/versions.env"
cache=${DEMO_MICRO_CACHE:-/var/cache/demo-micro}
step_tag=$1

step() { printf '[%s %s] %s\n' "$step_tag" "$(date +%H:%M:%S)" "$*"; }

present() { docker image inspect "$1" >/dev/null 2>&1 && [ -z "${REBUILD:-}" ]; }

build() { # image context-dir [docker build args...]: quiet, timed
  local image=$1 context=$2
  shift 2
  step "building $image"
  local start=$SECONDS
  docker build -q -t "$image" "$@" "$context" >/dev/null
  step "$image built in $((SECONDS - start)) s"
}
