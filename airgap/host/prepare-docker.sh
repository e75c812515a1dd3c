#!/usr/bin/env bash
# Prepares a Debian host without a running Docker engine: installs docker.io and the tools the
# air-gapped build needs, registers the capability-dropping runtime when this host lacks
# CAP_SYS_RESOURCE, and starts dockerd (in the background when there is no systemd). Every
# change is recorded, and `prepare-docker.sh --undo` (or `python -m testbed host-undo`) takes
# it back.
#
#   prepare-docker.sh          prepare; a second run changes nothing
#   prepare-docker.sh --undo   restore what earlier runs changed, and say what it did
#
# What it changes, and what --undo does:
#   - Debian packages it installs (whichever of docker.io, debootstrap, jq, iptables are
#     missing): recorded; --undo prints them and the `apt-get remove` command but does not run
#     it: docker.io is the engine still running, and other software may rely on jq or iptables
#     by then; removing packages is the administrator's decision.
#   - fs.inotify.max_user_instances and max_user_watches, raised (never lowered): the old values
#     recorded; --undo puts them back unless something else has changed them since.
#   - the runtime wrapper /usr/local/sbin/runc-drop-sys-resource (only on hosts that lack
#     CAP_SYS_RESOURCE): --undo removes it (or restores the file it replaced), but not while the
#     running engine still has it registered: dockerd calls it for every container it created.
#   - /etc/docker/daemon.json: the wrapper's two keys merged into it (other keys kept); the
#     original kept byte for byte beside it as daemon.json.demo-micro-backup the first time, or
#     a daemon.json.demo-micro-absent marker when there was none; --undo restores it from the
#     backup or removes it.
#   - dockerd, started with nohup when no engine answers: --undo does not stop or restart it (that
#     would stop every container it runs, a kind cluster and whatever else uses the engine); it
#     prints the restart command, which makes the engine read the restored daemon.json.
# The record is $DEMO_MICRO_CACHE/prepare-docker.changes (default /var/cache/demo-micro).
#
# Why the wrapper is the engine's default runtime, for every container, rather than a runtime
# named by the testbed's containers alone: kind creates its node containers itself (`docker run
# --privileged`, then `docker exec --privileged` into them) and has no setting for a runtime
# (kind v0.30.0, pkg/cluster/internal/providers/docker), and Docker chooses a runtime either for
# the whole daemon (`default-runtime`) or per `docker run --runtime`, nothing in between (no
# default per label or image). Narrower ways exist but are not built: a `docker` shim on kind's
# PATH adding `--runtime` to its `run` calls (and the same flag on the testbed's own privileged
# build containers), or a second dockerd of the testbed's own; either needs the engine restarted
# to be tried, and a shim would have to follow kind's command lines from release to release. The
# wrapper only removes a capability this host cannot grant anyway: containers that do not ask for
# CAP_SYS_RESOURCE run as they would without it, and those that do would fail without it.
#
# For tests, the paths can be moved: DEMO_MICRO_HOST_ROOT (a prefix for /etc/docker and
# /usr/local/sbin), DOCKER_DAEMON_JSON, DEMO_MICRO_PROC_STATUS (whose CapBnd line is read),
# DEMO_MICRO_CACHE, and DEMO_MICRO_DOCKERD_WAIT (seconds to wait for dockerd, default 60).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=${DEMO_MICRO_HOST_ROOT:-}
cache=${DEMO_MICRO_CACHE:-/var/cache/demo-micro}
daemon_json=${DOCKER_DAEMON_JSON:-$root/etc/docker/daemon.json}
backup=$daemon_json.demo-micro-backup
absent=$daemon_json.demo-micro-absent
runtime=runc-drop-sys-resource
wrapper=$root/usr/local/sbin/$runtime
wrapper_backup=$cache/$runtime.demo-micro-backup
proc_status=${DEMO_MICRO_PROC_STATUS:-/proc/self/status}
record=$cache/prepare-docker.changes
log=$cache/dockerd.log
usage="usage: prepare-docker.sh [--undo] (no argument: prepare; --undo: restore what it changed)"

say() { echo "prepare-docker: $*"; }

mode=prepare
if (($# > 1)); then
  echo "prepare-docker: one argument at most, got $#: $*; $usage" >&2
  exit 2
elif (($# == 1)); then
  case $1 in
    --undo) mode=undo ;;
    -h | --help) echo "$usage"; exit 0 ;;
    *) echo "prepare-docker: unknown argument '$1'; $usage" >&2; exit 2 ;;
  esac
fi

# The record: one change a line, "KIND WHAT DETAILS...", written once per change.
recorded() { [ -f "$record" ] && awk -v kind="$1" -v what="$2" '$1 == kind && $2 == what {found = 1} END {exit !found}' "$record"; }
note() {
  [ -f "$record" ] || echo "# changes made by airgap/host/prepare-docker.sh; its --undo takes them back" > "$record"
  echo "$*" >> "$record"
}

# kind's known issue "pod errors due to too many open files": every node's containerd, kubelet
# and systemd take inotify instances from one per-user budget (128 by default), so a 3-node
# cluster with ~30 pods runs close to it. Raise, never lower; warn where /proc/sys is read-only.
raise_sysctl() {
  local key=$1 want=$2 have
  have=$(sysctl -n "$key" 2>/dev/null) || have=""
  if [[ ! $have =~ ^[0-9]+$ ]]; then
    echo "prepare-docker: warning: could not read $key; left as it is" >&2
  elif ((have < want)); then
    if sysctl -q -w "$key=$want" 2>/dev/null; then
      recorded sysctl "$key" || note "sysctl $key $have $want"
    else
      echo "prepare-docker: warning: could not raise $key from $have to $want" >&2
    fi
  fi
}

install_wrapper() {
  if [ -f "$wrapper" ] && cmp -s "$here/$runtime" "$wrapper"; then
    return 0
  fi
  if recorded wrapper "$wrapper"; then
    :
  elif [ -e "$wrapper" ]; then
    cp -p "$wrapper" "$wrapper_backup"
    note "wrapper $wrapper replaced $wrapper_backup"
  else
    note "wrapper $wrapper created"
  fi
  install -m 0755 "$here/$runtime" "$wrapper"
}

# Stops before the wrapper and daemon.json are touched when daemon.json cannot be merged into.
check_daemon_json() {
  [ -f "$daemon_json" ] || return 0
  if ! jq -se 'length <= 1 and ((.[0] // {}) | type == "object")' "$daemon_json" > /dev/null 2>&1; then
    echo "prepare-docker: $daemon_json is not one JSON object; fix or move it, then run again" >&2
    exit 1
  fi
}

# Merges the wrapper's keys into daemon.json; an empty file counts as {}.
configure_daemon_json() {
  # shellcheck disable=SC2016 # $name and $path are jq's variables, not the shell's
  local ours='{runtimes: {($name): {path: $path}}, "default-runtime": $name}' tmp previous
  if [ ! -f "$daemon_json" ]; then
    mkdir -p "$(dirname "$daemon_json")"
    if [ ! -e "$backup" ] && [ ! -e "$absent" ]; then
      : > "$absent"
      note "daemon-json $daemon_json absent $absent"
    fi
    jq -n --arg name "$runtime" --arg path "$wrapper" "$ours" > "$daemon_json"
    return 0
  fi
  if jq -se --arg name "$runtime" --arg path "$wrapper" \
    '(.[0] // {}) | .["default-runtime"] == $name and .runtimes[$name].path == $path' \
    "$daemon_json" > /dev/null; then
    return 0 # already configured: not a byte changed
  fi
  if [ ! -e "$backup" ] && [ ! -e "$absent" ]; then
    cp -p "$daemon_json" "$backup"
    note "daemon-json $daemon_json existed $backup"
  fi
  previous=$(jq -sr '(.[0] // {})["default-runtime"] // empty' "$daemon_json")
  if [ -n "$previous" ] && [ "$previous" != "$runtime" ]; then
    say "replacing default-runtime $previous in $daemon_json (the original is in $backup)"
  fi
  tmp=$daemon_json.demo-micro-tmp
  jq -s --arg name "$runtime" --arg path "$wrapper" "(.[0] // {}) * $ours" "$daemon_json" > "$tmp"
  chmod --reference="$daemon_json" "$tmp"
  chown --reference="$daemon_json" "$tmp"
  mv "$tmp" "$daemon_json"
}

prepare() {
  mkdir -p "$cache"
  local need_pkgs=() tool capbnd
  for tool in dockerd:docker.io debootstrap:debootstrap jq:jq iptables:iptables; do
    command -v "${tool%%:*}" > /dev/null || need_pkgs+=("${tool#*:}")
  done
  if ((${#need_pkgs[@]})); then
    say "installing ${need_pkgs[*]}"
    [ "$(id -u)" = 0 ] || { echo "prepare-docker: need root to install ${need_pkgs[*]}" >&2; exit 1; }
    apt-get update -q > /dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need_pkgs[@]}" > /dev/null
    note "packages ${need_pkgs[*]}"
  fi

  raise_sysctl fs.inotify.max_user_instances 512
  raise_sysctl fs.inotify.max_user_watches 524288

  if docker info > /dev/null 2>&1; then
    say "a Docker engine is already running"
    exit 0
  fi

  # CAP_SYS_RESOURCE is capability 24; without it in our bounding set, privileged containers fail.
  capbnd=$(awk '/^CapBnd/ {print $2}' "$proc_status")
  if (((16#$capbnd >> 24 & 1) == 0)); then
    check_daemon_json
    install_wrapper
    configure_daemon_json
    say "host lacks CAP_SYS_RESOURCE; registered runtime wrapper"
  fi

  say "starting dockerd (log: $log)"
  local config=()
  [ "$daemon_json" = /etc/docker/daemon.json ] || config=(--config-file "$daemon_json")
  # In a session of its own: started from `tox -e e2e`'s set-up, it must outlive tox's processes.
  setsid nohup dockerd ${config[@]+"${config[@]}"} > "$log" 2>&1 < /dev/null &
  recorded dockerd started || note "dockerd started $log"
  for _ in $(seq 1 "${DEMO_MICRO_DOCKERD_WAIT:-60}"); do
    docker info > /dev/null 2>&1 && { say "dockerd is up"; exit 0; }
    sleep 1
  done
  echo "prepare-docker: dockerd did not answer within ${DEMO_MICRO_DOCKERD_WAIT:-60} s; last log lines:" >&2
  tail -n 20 "$log" >&2
  exit 1
}

undo() {
  if [ ! -f "$record" ] && [ ! -e "$backup" ] && [ ! -e "$absent" ]; then
    say "nothing to undo: no record in $record and no backup beside $daemon_json"
    return 0
  fi
  local engine="" engine_up=0 uses_wrapper=0 config_restored=0 started=0 failed=0
  local keep=() packages=() listed=() kind what rest old new now
  if engine=$(docker info --format '{{.DefaultRuntime}} {{json .Runtimes}}' 2> /dev/null); then
    engine_up=1
    case $engine in *"$runtime"*) uses_wrapper=1 ;; esac
  fi

  if [ -e "$backup" ]; then
    mv "$backup" "$daemon_json"
    rm -f "$absent"
    say "restored $daemon_json from $backup (byte-identical to before the first prepare)"
    config_restored=1
  elif [ -e "$absent" ]; then
    rm -f "$daemon_json" "$absent"
    say "removed $daemon_json (there was none before the first prepare)"
    config_restored=1
  fi

  if [ -f "$record" ]; then
    while read -r kind what rest; do
      case $kind in
        sysctl)
          read -r old new <<< "$rest"
          now=$(sysctl -n "$what" 2> /dev/null) || now=""
          if [ "$now" != "$new" ]; then
            say "left $what at ${now:-?}: prepare raised it from $old to $new, something changed it since"
          elif sysctl -q -w "$what=$old" 2> /dev/null; then
            say "put $what back from $new to $old"
          else
            echo "prepare-docker: could not put $what back from $new to $old" >&2
            keep+=("$kind $what $rest")
            failed=1
          fi
          ;;
        wrapper)
          if ((uses_wrapper)); then
            say "kept $what: the running engine has it registered and calls it for its"
            say "  containers; restart dockerd (below), then run --undo again to remove it"
            keep+=("$kind $what $rest")
          elif [ "$rest" = created ]; then
            rm -f "$what"
            say "removed $what"
          elif mv "${rest#replaced }" "$what"; then
            say "restored $what from ${rest#replaced }"
          else
            echo "prepare-docker: could not restore $what from ${rest#replaced }" >&2
            keep+=("$kind $what $rest")
            failed=1
          fi
          ;;
        dockerd) started=1 ;;
        packages)
          read -r -a listed <<< "$what $rest"
          packages+=("${listed[@]}")
          ;;
        *) ;; # comments, and daemon-json (its backup or marker, handled above)
      esac
    done < "$record"
    if ((${#keep[@]})); then
      printf '%s\n' "# what airgap/host/prepare-docker.sh --undo could not take back yet" "${keep[@]}" > "$record"
    else
      rm -f "$record"
    fi
  fi

  if ((engine_up && (config_restored || uses_wrapper))); then
    say "the running Docker engine keeps the configuration it started with until it restarts;"
    say "  not restarted here: that stops every container it runs (a kind cluster, anyone's tests)."
    say "  When that is fine: 'systemctl restart docker' with systemd; otherwise"
    say "  'kill \$(cat /var/run/docker.pid)', wait until it has exited, then"
    say "  'setsid nohup dockerd > $log 2>&1 < /dev/null &'."
    if ((uses_wrapper)); then
      say "  Containers created while $runtime was the default (kind's nodes) name it and will not"
      say "  start without it: delete them first ('python -m testbed down')."
    fi
  elif ((started && engine_up)); then
    say "dockerd, which prepare started, still runs; to stop it: 'kill \$(cat /var/run/docker.pid)'"
  fi
  if ((${#packages[@]})); then
    say "left installed: ${packages[*]} (prepare installed them; other software may use them now);"
    say "  to remove them: 'apt-get remove ${packages[*]}'"
  fi
  return "$failed"
}

"$mode"
