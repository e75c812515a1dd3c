#!/bin/sh
# Starts OpenSearch in the foreground with the interface the Elasticsearch image has:
# - environment variables whose names look like settings (discovery.type, node.store.allow_mmap,
#   ...) become -E options;
# - ES_JAVA_OPTS is honoured as OPENSEARCH_JAVA_OPTS when the latter is not set.
# Arguments given to the container are passed on to bin/opensearch.
set -eu
if [ -z "${OPENSEARCH_JAVA_OPTS:-}" ] && [ -n "${ES_JAVA_OPTS:-}" ]; then
  OPENSEARCH_JAVA_OPTS=$ES_JAVA_OPTS
fi
export OPENSEARCH_JAVA_OPTS="${OPENSEARCH_JAVA_OPTS:-}"
# Read from the process's own environment: shells drop names with dots from what they export.
settings=$(tr '\0' '\n' </proc/$$/environ | grep -E '^[a-z0-9_]+(\.[a-z0-9_-]+)+=' || true)
if [ -n "$settings" ]; then
  # One setting per line; values may contain spaces but not newlines.
  while IFS= read -r line; do
    set -- "$@" "-E$line"
  done <<EOF
$settings
EOF
fi
exec /usr/share/opensearch/bin/opensearch "$@"
