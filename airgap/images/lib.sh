# Shared by the image build scripts: `. "$(dirname "$0")/lib.sh" <tag>` sets $here, $airgap and
# $cache, loads versions.env, and defines step (a timestamped log line), present (the image
# exists and REBUILD is unset: each image is built once per version), present_recipe (and was
# built from the same files) and build.
here=$(cd "$(dirname "$0")" && pwd)
airgap=$(cd "$here/.." && pwd)
# shellcheck source=../versions.env
. "$airgap/versions.env"
cache=${DEMO_MICRO_CACHE:-/var/cache/demo-micro}
step_tag=$1

step() { printf '[%s %s] %s\n' "$step_tag" "$(date +%H:%M:%S)" "$*"; }

present() { docker image inspect "$1" >/dev/null 2>&1 && [ -z "${REBUILD:-}" ]; }

# recipe_digest context-dir [word...]: a digest of the folder's files and the words (versions,
# checksums), which an image built from them carries as its dev.demo-micro.recipe label.
recipe_digest() {
  local context=$1
  shift
  { (cd "$context" && find . -type f | LC_ALL=C sort | xargs sha256sum); [ $# -eq 0 ] || echo "$@"; } \
    | sha256sum | cut -c1-16
}

# present_recipe image digest: the image is present and was built from that recipe.
present_recipe() {
  present "$1" && [ "$(docker image inspect -f \
    '{{index .Config.Labels "dev.demo-micro.recipe"}}' "$1")" = "$2" ]
}

build() { # image context-dir [docker build args...]: quiet, timed
  local image=$1 context=$2
  shift 2
  step "building $image"
  local start=$SECONDS
  docker build -q -t "$image" "$@" "$context" >/dev/null
  step "$image built in $((SECONDS - start)) s"
}
