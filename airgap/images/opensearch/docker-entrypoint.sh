#!/bin/sh
# Starts OpenSearch in the foreground with the interface the Elasticsearch image has:
# - environment variables whose names look like settings (discovery.type, node.store.allow_mmap,
#   ...) become -E options;
# - ES_JAVA_OPTS is honoured as OPENSEARCH_JAVA_OPTS when the latter is not set;
# - ELASTIC_PASSWORD (required) is the password of `elastic`, the administrator (all_access).
# Besides, LOG_WRITER_USERNAME and LOG_WRITER_PASSWORD (optional) make a user who may only create
# and write to the indices LOG_WRITER_INDICES (a pattern): the log shipper's.
# The configuration is copied to a writable folder (OPENSEARCH_WRITABLE_CONF, /tmp/... by default)
# so the root filesystem stays read-only: the users (bcrypt hashes, by the security plugin's own
# tool), the role and this start's transport certificate are written there.
# Arguments given to the container are passed on to bin/opensearch.
set -eu
fail() { echo "docker-entrypoint.sh: $*" >&2; exit 2; }
[ -n "${ELASTIC_PASSWORD:-}" ] || fail "ELASTIC_PASSWORD is not set: the store admits no request without a user"
if [ -n "${LOG_WRITER_PASSWORD:-}" ]; then
  [ -n "${LOG_WRITER_USERNAME:-}" ] && [ -n "${LOG_WRITER_INDICES:-}" ] \
    || fail "LOG_WRITER_PASSWORD is set, but LOG_WRITER_USERNAME or LOG_WRITER_INDICES is not"
fi

conf=${OPENSEARCH_WRITABLE_CONF:-/tmp/opensearch-config}
rm -rf "$conf"
cp -r "$OPENSEARCH_PATH_CONF" "$conf"
export OPENSEARCH_PATH_CONF="$conf"
security="$conf/opensearch-security"

# This start's transport certificate, signed by a CA that exists only for it (its key is gone
# once the certificate is made).
mkdir -p "$conf/transport"
(
  cd "$conf/transport"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/O=demo-micro/CN=log-store-ca" \
    -keyout ca-key.pem -out ca.pem 2>/dev/null
  openssl req -newkey rsa:2048 -nodes -subj "/O=demo-micro/CN=log-store" \
    -keyout node-key.pem -out node.csr 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >ext.cnf
  openssl x509 -req -in node.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 3650 \
    -extfile ext.cnf -out node.pem 2>/dev/null
  rm ca-key.pem node.csr ext.cnf ca.srl
)

hash_of() { # name of the variable holding a password: the password's bcrypt hash
  JAVA_OPTS="-Xms16m -Xmx64m -XX:TieredStopAtLevel=1" \
    "$OPENSEARCH_HOME/plugins/opensearch-security/tools/hash.sh" -env "$1" 2>/dev/null | tail -n 1
}
{
  printf '_meta:\n  type: internalusers\n  config_version: 2\n'
  printf 'elastic:\n  hash: "%s"\n  opendistro_security_roles: [all_access]\n' \
    "$(hash_of ELASTIC_PASSWORD)"
  if [ -n "${LOG_WRITER_PASSWORD:-}" ]; then
    printf '%s:\n  hash: "%s"\n  opendistro_security_roles: [log_writer]\n' \
      "$LOG_WRITER_USERNAME" "$(hash_of LOG_WRITER_PASSWORD)"
  fi
} >"$security/internal_users.yml"
# The writer may create its indices and add documents to them (one by one or in bulk), nothing
# else: no reading, no deleting, no other index.
cat >"$security/roles.yml" <<ROLES
_meta:
  type: roles
  config_version: 2
log_writer:
  cluster_permissions: ["indices:data/write/bulk"]
  index_permissions:
    - index_patterns: ["${LOG_WRITER_INDICES:-none}"]
      allowed_actions:
        - "indices:admin/create"
        - "indices:admin/mapping/put"
        - "indices:admin/mapping/auto_put"
        - "indices:data/write/index"
        - "indices:data/write/bulk[s]"
ROLES
printf '_meta:\n  type: rolesmapping\n  config_version: 2\n' >"$security/roles_mapping.yml"
# Readable by this user only, as the security plugin asks.
chmod -R go= "$conf"

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
