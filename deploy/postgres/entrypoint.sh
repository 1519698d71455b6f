#!/bin/bash
# Entrypoint of deploy/postgres/Dockerfile: creates the cluster on the first start, then
# execs the server (tini forwards SIGTERM: a "smart" shutdown).
set -euo pipefail
: "${PGDATA:=/var/lib/postgresql/data}"
user=${POSTGRES_USER:-hookline}
db=${POSTGRES_DB:-hookline}

if [[ ! -s $PGDATA/PG_VERSION ]]; then
    pwfile=${POSTGRES_PASSWORD_FILE:?POSTGRES_PASSWORD_FILE must name the password file}
    initdb -D "$PGDATA" -U "$user" --pwfile="$pwfile" --auth-local=trust \
        --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8
    cat >>"$PGDATA/postgresql.conf" <<CONF

# --- added by postgres-entrypoint ---
listen_addresses = '*'
unix_socket_directories = '/tmp'
max_connections = 300
CONF
    # Every address of the container network, with the password.
    printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' \
        >>"$PGDATA/pg_hba.conf"
    if [[ $db != postgres ]]; then
        echo "CREATE DATABASE \"$db\"" | postgres --single -D "$PGDATA" -j postgres >/dev/null
    fi
fi
exec postgres -D "$PGDATA"
