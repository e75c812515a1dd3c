#!/bin/sh
# Honours the official postgres image's interface (POSTGRES_USER, POSTGRES_PASSWORD, POSTGRES_DB,
# PGDATA) on Debian's PostgreSQL, so manifests work unchanged with either image.
set -eu
: "${PGDATA:=/var/lib/postgresql/data}"
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
if [ -z "${POSTGRES_PASSWORD:-}" ]; then
  echo "postgres: POSTGRES_PASSWORD is required" >&2
  exit 1
fi
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
  initdb -D "$PGDATA" -U "$POSTGRES_USER" --pwfile="$pwfile" --auth-host=scram-sha-256 \
    --auth-local=trust --encoding=UTF8 >/dev/null
  rm -f "$pwfile"
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  if [ "$POSTGRES_DB" != postgres ]; then
    echo "CREATE DATABASE \"$POSTGRES_DB\"" | postgres --single -D "$PGDATA" postgres >/dev/null
  fi
  # As the official image: the scripts in /docker-entrypoint-initdb.d (*.sh run, *.sql through
  # psql, in name order), against a first server on the unix socket only, so nobody connects
  # before they are done. A failing script fails the start, and the next start initialises again.
  if [ -n "$(ls /docker-entrypoint-initdb.d 2>/dev/null)" ]; then
    pg_ctl -D "$PGDATA" -o "-c listen_addresses=''" -w start >/dev/null
    init_failed() {
      echo "postgres: $1 failed; the next start initialises $PGDATA again" >&2
      pg_ctl -D "$PGDATA" -m immediate -w stop >/dev/null || true
      rm -rf "${PGDATA:?}"/*
      exit 1
    }
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh) echo "postgres: running $f"; sh "$f" || init_failed "$f" ;;
        *.sql) echo "postgres: running $f"
          psql -v ON_ERROR_STOP=1 --no-psqlrc -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f "$f" \
            || init_failed "$f" ;;
        *) echo "postgres: ignoring $f" ;;
      esac
    done
    pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  fi
  echo "postgres: initialised $PGDATA with database $POSTGRES_DB"
fi
exec postgres -D "$PGDATA" "$@"
