#!/usr/bin/env bash
# Builds one component's Go binaries from the Go module proxy into the cache, once per version.
#   airgap/go/build.sh NAME      prints the directory holding the binaries
# NAME is `kubernetes` or a row of components.tsv. Each build happens in a small wrapper module
# so that the component's own go.mod is honoured as a dependency (no source checkout needed).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../versions.env
. "$here/../versions.env"
# shellcheck source=../kubernetes-version.sh
. "$here/../kubernetes-version.sh"
name=${1:?usage: build.sh NAME (kubernetes or a name from components.tsv)}
cache=${DEMO_MICRO_CACHE:-/var/cache/demo-micro}
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=mod

if [ "$name" = kubernetes ]; then
  version=$KUBERNETES_VERSION
  minor=${version#v1.}; minor=${minor%%.*}
  packages=""
  binaries="kubeadm kubelet kubectl kube-apiserver kube-controller-manager kube-scheduler kube-proxy"
  for b in $binaries; do packages+=" k8s.io/kubernetes/cmd/$b"; done
  ldflags="-s -w"
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $p.gitVersion=$version -X $p.gitMajor=1 -X $p.gitMinor=$minor"
    ldflags+=" -X $p.gitTreeState=clean -X $p.buildDate=1970-01-01T00:00:00Z"
  done
else
  row=$(awk -F'\t' -v n="$name" '$1 == n' "$here/components.tsv")
  [ -n "$row" ] || { echo "build.sh: unknown component '$name' (see $here/components.tsv)" >&2; exit 2; }
  IFS=$'\t' read -r _ version_var module packages binaries prepare variant <<<"$row"
  version=${!version_var}
  ldflags="-s -w"
fi

work="$cache/go/$name-$version${variant:+-$variant}"
stamp="$work/bin/.complete"
mkdir -p "$work/bin"
exec 9>"$work/.lock"
flock 9  # one build per component at a time; a second caller waits and reuses it
if [ -f "$stamp" ]; then echo "$work/bin"; exit 0; fi
cd "$work"
if [ "$name" = kubernetes ]; then
  "$here/kubernetes/gen-go-mod.sh" "$version" > go.mod
elif [ -n "${prepare:-}" ]; then
  # Some programs only build as their own main module (e.g. they embed generated files):
  # build in a copy of the module's source from the module cache, after the prepare step.
  src=$(go mod download -json "$module@$version" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  rm -rf "$work/src" && cp -r "$src" "$work/src" && chmod -R u+w "$work/src"
  (cd "$work/src" && eval "$prepare")
  cd "$work/src"
else
  printf 'module demomicro.local/airgap/%s\n\ngo 1.24.0\n\nrequire %s %s\n' "$name" "$module" "$version" > go.mod
fi
echo "build.sh: building $name $version (log: $work/build.log)" >&2
start=$(date +%s)
read -r -a pkgs <<<"$packages"
read -r -a bins <<<"$binaries"
{
  if [ "$name" = kubernetes ]; then
    # One `go build` for the seven: their links run beside the compiling instead of after it,
    # and the ~2,000 packages they share are checked once. Each lands as bin/<last element>.
    go build -trimpath -ldflags "$ldflags" -o "$work/bin/" "${pkgs[@]}"
  else
    for i in "${!pkgs[@]}"; do
      go build -trimpath -ldflags "$ldflags" -o "$work/bin/${bins[$i]}" "${pkgs[$i]}"
    done
  fi
  for b in "${bins[@]}"; do [ -x "$work/bin/$b" ] || { echo "no binary $b after the build"; exit 1; }; done
} >"$work/build.log" 2>&1 || { echo "build.sh: $name failed; last lines of $work/build.log:" >&2; tail -n 20 "$work/build.log" >&2; exit 1; }
touch "$stamp"
echo "build.sh: $name $version built in $(( $(date +%s) - start )) s" >&2
echo "$work/bin"
