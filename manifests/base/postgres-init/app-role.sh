#!/bin/sh
# Creates the service's role in a new database (app-role.psql): the postgres image runs this
# from /docker-entrypoint-initdb.d once, on an empty data directory, while its first server
# listens on the unix socket only. The role's name and password come from the service's Secret
# (APP_DB_USER, APP_DB_PASSWORD), the administrator's from postgres-secret (POSTGRES_USER).
# For a data directory made before the role existed, run it once by hand in the database's pod:
#   kubectl exec order-db-0 -- sh /docker-entrypoint-initdb.d/app-role.sh
# The suites run this very file against their own server (PGHOST, PGPORT, APP_ROLE_SQL).
set -eu
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
