#!/usr/bin/env bash
# Prepares a Debian host without a running Docker engine: installs docker.io and the tools the
# air-gapped build needs, registers the capability-dropping runtime when this host lacks
# CAP_SYS_RESOURCE, and starts dockerd (in the background when there is no systemd).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
log=${DEMO_MICRO_CACHE:-/var/cache/demo-micro}/dockerd.log
mkdir -p "$(dirname "$log")"

need_pkgs=()
for tool in dockerd:docker.io debootstrap:debootstrap jq:jq iptables:iptables; do
  command -v "${tool%%:*}" >/dev/null || need_pkgs+=("${tool#*:}")
done
if ((${#need_pkgs[@]})); then
  echo "prepare-docker: installing ${need_pkgs[*]}"
  [ "$(id -u)" = 0 ] || { echo "prepare-docker: need root to install ${need_pkgs[*]}" >&2; exit 1; }
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" >/dev/null
fi

# kind's known issue "pod errors due to too many open files": every node's containerd, kubelet
# and systemd take inotify instances from one per-user budget (128 by default), so a 3-node
# cluster with ~30 pods runs close to it. Raise, never lower; warn where /proc/sys is read-only.
raise_sysctl() {
  local key=$1 want=$2 have
  have=$(sysctl -n "$key" 2>/dev/null || echo 0)
  if (( have < want )); then
    sysctl -q -w "$key=$want" 2>/dev/null \
      || echo "prepare-docker: warning: could not raise $key from $have to $want" >&2
  fi
}
raise_sysctl fs.inotify.max_user_instances 512
raise_sysctl fs.inotify.max_user_watches 524288

if docker info >/dev/null 2>&1; then
  echo "prepare-docker: a Docker engine is already running"
  exit 0
fi

# CAP_SYS_RESOURCE is capability 24; without it in our bounding set, privileged containers fail.
capbnd=$(awk '/^CapBnd/ {print $2}' /proc/self/status)
if (( (16#$capbnd >> 24 & 1) == 0 )); then
  install -m 0755 "$here/runc-drop-sys-resource" /usr/local/sbin/runc-drop-sys-resource
  mkdir -p /etc/docker
  cat > /etc/docker/daemon.json <<JSON
{
  "runtimes": {"runc-drop-sys-resource": {"path": "/usr/local/sbin/runc-drop-sys-resource"}},
  "default-runtime": "runc-drop-sys-resource"
}
JSON
  echo "prepare-docker: host lacks CAP_SYS_RESOURCE; registered runtime wrapper"
fi

echo "prepare-docker: starting dockerd (log: $log)"
# In a session of its own: started from `tox -e e2e`'s set-up, it must outlive tox's processes.
setsid nohup dockerd >"$log" 2>&1 < /dev/null &
for _ in $(seq 1 60); do
  docker info >/dev/null 2>&1 && { echo "prepare-docker: dockerd is up"; exit 0; }
  sleep 1
done
echo "prepare-docker: dockerd did not answer within 60 s; last log lines:" >&2
tail -n 20 "$log" >&2
exit 1
