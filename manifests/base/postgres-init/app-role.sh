#!/bin/sh
# Creates the service's role (app-role.psql): the postgres image runs this from
# /docker-entrypoint-initdb.d once, on an empty data directory, while its first server listens
# on the unix socket only; the database container's postStart hook runs it again on every start
# (a data directory made before the role existed, a changed password). The role's name and
# password come from the service's Secret (APP_DB_USER, APP_DB_PASSWORD), the administrator's
# from postgres-secret (POSTGRES_USER, POSTGRES_PASSWORD). The suites run this very file against
# their own server (PGHOST, PGPORT, APP_ROLE_SQL).
set -eu
PGPASSWORD=${PGPASSWORD:-${POSTGRES_PASSWORD:-}}
export PGPASSWORD
for variable in POSTGRES_USER POSTGRES_DB APP_DB_USER APP_DB_PASSWORD; do
  eval "value=\${$variable:-}"
  if [ -z "$value" ]; then
    echo "app-role.sh: $variable is not set; it names the database's role and its password" >&2
    exit 1
  fi
done
psql --no-psqlrc --quiet --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" \
  --set role="$APP_DB_USER" --set password="$APP_DB_PASSWORD" --set dbname="$POSTGRES_DB" \
  --file "${APP_ROLE_SQL:-/docker-entrypoint-initdb.d/app-role.psql}"
echo "app-role.sh: role $APP_DB_USER owns database $POSTGRES_DB's public schema"
