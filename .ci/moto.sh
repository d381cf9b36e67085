#!/usr/bin/env bash
# Installs moto's S3-compatible server (tests/it/stage.rs starts it on 127.0.0.1) into a venv
# under the cache dir, only when missing or when the pin changed.
#
# Usage: bash .ci/moto.sh
set -euo pipefail

cache="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/media-migrate"
venv="$cache/venv-moto"
# Pinned so a new release can't change the tests under us; bump deliberately.
pin="moto[server]==5.2.5"

stamp="$venv/.pins"
if [[ ! -x "$venv/bin/moto_server" || "$(cat "$stamp" 2>/dev/null)" != "$pin" ]]; then
    echo "moto: creating $venv ($pin)" >&2
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "$pin" >&2
    echo "$pin" >"$stamp"
fi
