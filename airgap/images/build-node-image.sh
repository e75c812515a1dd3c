#!/usr/bin/env bash
# Assembles a kind node image for Kubernetes $KUBERNETES_VERSION without pulling any image:
# Debian packages for the OS, containerd and runc; Go binaries built from the module proxy for
# Kubernetes, etcd, CoreDNS, flannel and local-path-provisioner; a pause binary compiled here.
# The control-plane and add-on images are imported into the node's containerd, as kind's own
# `kind build node-image` does, so `kind create cluster --image` needs no registry.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
airgap=$(cd "$here/.." && pwd)
# shellcheck source=../versions.env
. "$airgap/versions.env"
# shellcheck source=../kubernetes-version.sh
. "$airgap/kubernetes-version.sh"
node_image=demo-micro-airgap/kind-node:$KUBERNETES_VERSION
if docker image inspect "$node_image" >/dev/null 2>&1 && [ -z "${REBUILD:-}" ]; then
  echo "$node_image present"; exit 0
fi
step() { printf '[node-image %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

step "base image"
"$here/build-debian-base.sh"
step "Go binaries (cached per version)"
k8s_bin=$("$airgap/go/build.sh" kubernetes)
# The six small builds come after Kubernetes (beside it they share its two cores and lose its
# compiled packages: c79bcc3, docs/cluster.md), in two lanes of about equal length (cold: 250,
# 123, 15 s against 252, 138, 54 s), since one build alone left a core mostly idle.
lane() { for c in "$@"; do "$airgap/go/build.sh" "$c" >/dev/null || return 1; done; }
lane coredns flannel kind & first=$!
lane metrics-server local-path-provisioner etcd & second=$!
failed=""
wait "$first" || failed=1
wait "$second" || failed=1
[ -z "$failed" ] || { echo "a Go build of the node image failed, see above" >&2; exit 1; }
declare -A bin  # each build is cached now: build.sh only prints where
for c in kind etcd coredns flannel local-path-provisioner metrics-server; do bin[$c]=$("$airgap/go/build.sh" "$c"); done

ctx=$(mktemp -d /var/tmp/node-image.XXXXXX)
trap 'rm -rf "$ctx"; docker rm -f demo-micro-node-build >/dev/null 2>&1 || true' EXIT

# One small image per component, named as kubeadm and our node manifests expect.
component_image() { # name entrypoint base file...
  local name=$1 entrypoint=$2 base=$3; shift 3
  local dir="$ctx/img-${name//[\/:]/_}"
  mkdir -p "$dir/bin"
  cp "$@" "$dir/bin/"
  {
    echo "FROM $base"
    echo "COPY bin/ /usr/local/bin/"
    echo 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin'
    echo "ENTRYPOINT [\"$entrypoint\"]"
  } > "$dir/Dockerfile"
  docker build -q -t "$name" "$dir" >/dev/null
  images+=("$name")
}
images=()
step "component images"
docker build -q -t demo-micro-airgap/iptables:bookworm - >/dev/null <<'DOCKERFILE'
FROM demo-micro-airgap/debian:bookworm
RUN apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
      iptables nftables conntrack iproute2 ipset kmod && rm -rf /var/lib/apt/lists/*
DOCKERFILE
gcc -static -O2 -o "$ctx/pause" "$here/pause/pause.c"
component_image "registry.k8s.io/pause:$PAUSE_VERSION" /usr/local/bin/pause scratch "$ctx/pause"
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  component_image "registry.k8s.io/$c:$KUBERNETES_VERSION" "/usr/local/bin/$c" scratch "$k8s_bin/$c"
done
component_image "registry.k8s.io/kube-proxy:$KUBERNETES_VERSION" /usr/local/bin/kube-proxy \
  demo-micro-airgap/iptables:bookworm "$k8s_bin/kube-proxy"
component_image "registry.k8s.io/etcd:${ETCD_VERSION#v}-0" /usr/local/bin/etcd scratch "${bin[etcd]}/etcd"
component_image "registry.k8s.io/coredns/coredns:$COREDNS_VERSION" /usr/local/bin/coredns scratch \
  "${bin[coredns]}/coredns"
component_image "demo-micro-airgap/flannel:$FLANNEL_VERSION" /usr/local/bin/flanneld \
  demo-micro-airgap/iptables:bookworm "${bin[flannel]}/flanneld"
component_image "demo-micro-airgap/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION" \
  /usr/local/bin/local-path-provisioner scratch "${bin[local-path-provisioner]}/local-path-provisioner"
component_image "demo-micro-airgap/metrics-server:$METRICS_SERVER_VERSION" /usr/local/bin/metrics-server \
  scratch "${bin[metrics-server]}/metrics-server"
images+=(demo-micro-airgap/debian:bookworm)

step "node root: kind's base files from the sigs.k8s.io/kind module"
kind_src=$(cd "${bin[kind]}/.." && GOTOOLCHAIN=local go list -m -f '{{.Dir}}' sigs.k8s.io/kind)
mkdir -p "$ctx/node/kind-base" "$ctx/node/kubernetes" "$ctx/node/kind/manifests"
cp -r "$kind_src/images/base/files/." "$ctx/node/kind-base/"
chmod -R u+w "$ctx/node/kind-base"
rm -rf "$ctx/node/kind-base/etc/containerd" "$ctx/node/kind-base/LICENSES"
sed "s/PAUSE_VERSION/$PAUSE_VERSION/" "$here/node/containerd-config.toml" > "$ctx/node/containerd-config.toml"
cp "$here/node/Dockerfile" "$ctx/node/"
cp "$k8s_bin/kubeadm" "$k8s_bin/kubelet" "$k8s_bin/kubectl" "$ctx/node/kubernetes/"
echo "$KUBERNETES_VERSION" > "$ctx/node/kind/version"
for m in default-cni default-storage; do
  sed -e "s|FLANNEL_IMAGE|demo-micro-airgap/flannel:$FLANNEL_VERSION|" \
      -e "s|LOCAL_PATH_PROVISIONER_IMAGE|demo-micro-airgap/local-path-provisioner:$LOCAL_PATH_PROVISIONER_VERSION|" \
      -e "s|HELPER_IMAGE|demo-micro-airgap/debian:bookworm|" \
      "$here/node/$m.yaml" > "$ctx/node/kind/manifests/$m.yaml"
done
step "node image without preloaded images"
docker build -q -t "$node_image-unloaded" "$ctx/node" >/dev/null

step "preloading ${#images[@]} images into the node's containerd"
docker save "${images[@]}" -o "$ctx/images.tar"
docker run -d --init --name demo-micro-node-build --privileged --entrypoint /bin/sleep \
  "$node_image-unloaded" infinity >/dev/null
docker exec demo-micro-node-build bash -c \
  'containerd >/tmp/containerd.log 2>&1 & for i in $(seq 1 50); do ctr version >/dev/null 2>&1 && exit 0; sleep 0.2; done; cat /tmp/containerd.log; exit 1'
docker exec -i demo-micro-node-build ctr --namespace=k8s.io images import --all-platforms \
  --no-unpack --digests - < "$ctx/images.tar" >/dev/null
for image in "${images[@]}"; do
  ref=$image; [[ $ref == */*/* || $ref == *.*/* ]] || ref=docker.io/$ref
  docker exec demo-micro-node-build ctr --namespace=k8s.io images label "$ref" \
    io.cri-containerd.pinned=pinned >/dev/null
done
docker exec demo-micro-node-build bash -c 'pkill containerd; while pgrep -x containerd >/dev/null; do sleep 0.2; done; rm -f /tmp/containerd.log'
# STOPSIGNAL is kept from the image's config (docker 20.10 cannot set it with --change).
docker commit \
  --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' --change 'CMD []' \
  --change 'ENV container=docker' \
  demo-micro-node-build "$node_image" >/dev/null
docker rm -f demo-micro-node-build >/dev/null
docker rmi "$node_image-unloaded" >/dev/null
step "$node_image built"
