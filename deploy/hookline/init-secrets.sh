#!/bin/sh
# Generates the compose stack's secrets into a volume on its first start, never into an
# image or the compose file: the master key ring sealing webhook secrets at rest, the
# bootstrap admin API key, PostgreSQL's password (and a libpq passfile naming it), and the
# demo receiver's webhook secret. Existing files are kept, so restarts change nothing.
#   hookline-init-secrets [DIR]      (default /var/lib/hookline/secrets)
set -eu
dir=${1:-/var/lib/hookline/secrets}
umask 077
cd "$dir"

# rand N: N random bytes, URL-safe base64 without padding.
rand() { head -c "$1" /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '='; }

# put FILE: writes stdin to FILE atomically, unless FILE already has content.
put() {
    if [ -s "$1" ]; then
        cat >/dev/null
        return 0
    fi
    cat >"$1.tmp"
    mv "$1.tmp" "$1"
    echo "hookline-init-secrets: generated $dir/$1"
}

[ -s master.key ] || hookline-gateway gen-master-key | put master.key
printf 'hl_admin_%s\n' "$(rand 24)" | put admin.key
rand 24 | put pg-password
printf '*:*:*:*:%s\n' "$(cat pg-password)" | put pgpass
printf 'whsec_%s\n' "$(head -c 24 /dev/urandom | base64 -w0)" | put demo-secret
