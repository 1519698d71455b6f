#!/bin/sh
# Entrypoint of the hookline image (run by tini): options that have no *_FILE variant of
# their own can be given as a file, so that secrets come from a mounted volume or a
# Kubernetes Secret rather than from the environment a compose file or manifest shows:
#   HOOKLINE_ADMIN_API_KEY_FILE  ->  HOOKLINE_ADMIN_API_KEY
#   HOOKLINE_PG_DSN_FILE         ->  HOOKLINE_PG_DSN
# (master_key_file is an option of the services themselves.) Then runs the command.
# An empty file is refused like a missing one: an empty pg_dsn would silently mean
# libpq's defaults (a local socket), so a secret volume read before it was filled would
# leave the service unable to connect for good instead of restarting. (Once in CI, a
# gateway under podman 4.3's kube play tried the local socket for two minutes while the
# other services, given the same Secret, connected.)
set -eu
for name in HOOKLINE_ADMIN_API_KEY HOOKLINE_PG_DSN; do
    eval "file=\${${name}_FILE:-}"
    if [ -n "$file" ]; then
        if [ ! -r "$file" ]; then
            echo "hookline-entrypoint: ${name}_FILE=$file is not readable" >&2
            exit 1
        fi
        value=$(cat "$file")
        if [ -z "$value" ]; then
            echo "hookline-entrypoint: ${name}_FILE=$file is empty" >&2
            exit 1
        fi
        export "$name=$value"
        unset "${name}_FILE"
    fi
done
exec "$@"
