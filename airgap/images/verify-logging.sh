#!/usr/bin/env bash
# Checks the offline log path without a cluster: OpenSearch and the shipper in containers of
# their own, and a fake /var/log/pods tree of CRI lines written from here.
#   airgap/images/verify-logging.sh        (builds the images first if they are missing)
# Prints the latency from a line being written to it being searchable, and checks that 1,000
# marker lines all arrive: across a new pod directory appearing, a rotation of a log file, a
# restart of the shipper and an outage of the store. Every query runs inside the OpenSearch
# container on its loopback (docker exec), so nothing outside the containers is contacted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../versions.env
. "$here/../versions.env"
"$here/build-logging.sh"

run_id="verify-$$-$(date +%s)"
net="$run_id" store="$run_id-opensearch" shipper="$run_id-shipper"
work=$(mktemp -d /var/tmp/verify-logging.XXXXXX)
pods="$work/pods" state="$work/state"
mkdir -p "$pods" "$state"
cleanup() {
  docker rm -f "$shipper" "$store" >/dev/null 2>&1 || true
  docker network rm "$net" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { printf '[verify-logging %s] %s\n' "$(date +%H:%M:%S)" "$*"; }
fail() { say "FAILED: $*"; docker logs --tail 30 "$shipper" 2>&1 | sed 's/^/  shipper: /' || true; exit 1; }
# The store's users, as elasticsearch-secret holds them in the cluster (throwaway passwords here).
admin_password="verify-$RANDOM$RANDOM" writer_password="verify-$RANDOM$RANDOM"
os() { docker exec "$store" curl -sS --max-time 10 --user "elastic:$admin_password" "$@"; }
# count QUERY-STRING-JSON: documents in the log indices matching a query
count() {
  os -H 'Content-Type: application/json' "http://127.0.0.1:9200/demo-micro-logs-*/_count" \
    -d "{\"query\": $1}" | python3 -c 'import json,sys; print(json.load(sys.stdin).get("count", -1))'
}
now_ns() { date -u +%Y-%m-%dT%H:%M:%S.%NZ; }
# line FILE SERVICE REQUEST-ID MESSAGE [EXTRA-JSON]: one CRI line with a service's JSON log line
line() {
  local file=$1 service=$2 rid=$3 message=$4 extra=${5:-}
  mkdir -p "$(dirname "$file")"
  printf '%s stdout F {"time": "%s", "service": "%s", "version": "0.1.0", "request_id": "%s", "level": "info", "logger": "verify", "message": "%s"%s}\n' \
    "$(now_ns)" "$(date -u +%Y-%m-%dT%H:%M:%S.000Z)" "$service" "$rid" "$message" "$extra" >>"$file"
}
wait_count() { # QUERY EXPECTED SECONDS
  local deadline=$((SECONDS + $3)) got
  while :; do
    got=$(count "$1" 2>/dev/null || echo -1)
    [ "$got" -ge "$2" ] && { echo "$got"; return 0; }
    [ "$SECONDS" -ge "$deadline" ] && { echo "$got"; return 1; }
    sleep 0.2
  done
}
term() { printf '{"term": {"%s.keyword": "%s"}}' "$1" "$2"; }

docker network create "$net" >/dev/null
start_store() {
  docker start "$store" >/dev/null
  local deadline=$((SECONDS + 120))
  until os -f "http://127.0.0.1:9200/_cluster/health?wait_for_status=yellow&timeout=5s" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || fail "OpenSearch did not answer within 120 s"
    sleep 1
  done
}
docker create --name "$store" --network "$net" --network-alias elasticsearch --memory 1536m \
  -e discovery.type=single-node -e node.store.allow_mmap=false \
  -e cluster.routing.allocation.disk.threshold_enabled=false -e "ES_JAVA_OPTS=-Xms512m -Xmx512m" \
  -e "ELASTIC_PASSWORD=$admin_password" -e LOG_WRITER_USERNAME=log-writer \
  -e "LOG_WRITER_PASSWORD=$writer_password" -e "LOG_WRITER_INDICES=demo-micro-logs-*" \
  "demo-micro-airgap/opensearch:$OPENSEARCH_VERSION" >/dev/null
t0=$SECONDS
start_store
say "OpenSearch $OPENSEARCH_VERSION answers after $((SECONDS - t0)) s as uid $(docker exec "$store" id -u)"

# A line that exists before the shipper starts, one from another namespace (must not ship).
order_log="$pods/demo-micro_order-service-5d8f9-abcde_1111/order-service/0.log"
line "$order_log" order-service "$run_id-before" "written before the shipper started"
line "$pods/kube-system_etcd-node_2222/etcd/0.log" etcd "$run_id-foreign" "another namespace"
docker run -d --name "$shipper" --network "$net" --read-only --cap-drop ALL \
  -e OPENSEARCH_USERNAME=log-writer -e "OPENSEARCH_PASSWORD=$writer_password" \
  --security-opt no-new-privileges -v "$pods:/var/log/pods:ro" -v "$state:/var/lib/rsyslog" \
  "demo-micro-airgap/log-shipper:$RSYSLOG_VERSION" >/dev/null
wait_count "$(term request_id "$run_id-before")" 1 30 >/dev/null || fail "the line written before the start did not arrive"
say "a line written before the shipper started arrived, with its fields:"
os -H 'Content-Type: application/json' "http://127.0.0.1:9200/demo-micro-logs-*/_search" \
  -d "{\"query\": $(term request_id "$run_id-before")}" \
  | python3 -c 'import json,sys; hit=json.load(sys.stdin)["hits"]["hits"][0]; print("_id", hit["_id"]); print(json.dumps(hit["_source"], indent=1))'

# Latency: write one line, poll until it is found.
latencies=()
for i in 1 2 3 4 5 6 7 8 9 10; do
  rid="$run_id-latency-$i"
  start=$(date +%s%N)
  line "$order_log" order-service "$rid" "latency probe $i"
  wait_count "$(term request_id "$rid")" 1 30 >/dev/null || fail "latency probe $i not found within 30 s"
  latencies+=("$(( ($(date +%s%N) - start) / 1000000 ))")
done
say "written → searchable, ms: ${latencies[*]}"

# Completeness: 1,000 markers in a pod directory that appears only now, across a rotation,
# a shipper restart and a store outage.
marker_log="$pods/demo-micro_marker-7c6b5-fghij_3333/markers/0.log"
markers() { # FROM TO
  local n
  for n in $(seq "$1" "$2"); do line "$marker_log" markers "$run_id-marker-$n" "marker $n" ", \"marker\": $n, \"marker_run\": \"$run_id\""; done
}
markers 1 250
mv "$marker_log" "$marker_log.20261124-000000"  # what the kubelet does when it rotates
markers 251 400
docker stop -t 10 "$shipper" >/dev/null
markers 401 700
docker start "$shipper" >/dev/null
say "markers 1-700 written (rotation after 250, shipper stopped for 401-700)"
docker stop -t 30 "$store" >/dev/null
markers 701 1000
sleep 10
start_store
say "markers 701-1000 written while OpenSearch was stopped; OpenSearch is back"
if ! got=$(wait_count "$(term marker_run "$run_id")" 1000 120); then
  fail "only $got of 1000 markers found after 120 s"
fi
distinct=$(os -H 'Content-Type: application/json' "http://127.0.0.1:9200/demo-micro-logs-*/_search?size=0" \
  -d "{\"query\": $(term marker_run "$run_id"), \"aggs\": {\"n\": {\"cardinality\": {\"field\": \"marker\", \"precision_threshold\": 2000}}}}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["aggregations"]["n"]["value"])')
say "markers: $got documents, $distinct distinct of 1000"
[ "$distinct" -eq 1000 ] || fail "$distinct distinct markers, not 1000"
[ "$got" -eq 1000 ] || fail "$got documents for 1000 markers: the document ids did not prevent duplicates"
foreign=$(count "$(term request_id "$run_id-foreign")")
[ "$foreign" -eq 0 ] || fail "a line from another namespace was shipped"
never=$(count "$(term request_id "$run_id-never-sent")")
[ "$never" -eq 0 ] || fail "a request id never written was found"
say "other namespaces are not shipped; a request id never written is not found"
say "OK"
