#!/usr/bin/env bash
# Interoperability check of the local Media Manager's resumable uploads with a third-party tus
# client (tuspy, from PyPI): starts `media-migrate serve` on a free loopback port with a
# throwaway data dir, installs tuspy into a throwaway venv, and runs .ci/tus_interop.py.
# Builds nothing: pass the path of a built media-migrate binary.
#
# Usage: bash .ci/tus-interop.sh target/debug/media-migrate
set -euo pipefail

bin="${1:?usage: tus-interop.sh PATH/TO/media-migrate}"
[[ -x "$bin" ]] || { echo "tus interop: FAIL: $bin is not an executable" >&2; exit 1; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
server_pid=""

cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "tus interop: FAIL: $*"
    if [[ -s "$work/server.log" ]]; then
        echo "--- server log (last 40 lines) ---"
        tail -n 40 "$work/server.log"
    fi
    exit 1
}

# A port the kernel says is free now; the server binds it right after.
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
"$bin" serve --listen "127.0.0.1:$port" --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!

# Poll until the port accepts connections, with a deadline.
deadline=$((SECONDS + 30))
until (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; do
    kill -0 "$server_pid" 2>/dev/null || fail "the server exited before listening"
    (( SECONDS < deadline )) || fail "the server did not listen on port $port within 30 s"
    sleep 0.1
done

python3 -m venv "$work/venv" || fail "could not create a Python venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check tuspy \
    || fail "could not install tuspy from PyPI"

if ! "$work/venv/bin/python" "$here/tus_interop.py" "http://127.0.0.1:$port"; then
    fail "the tuspy client run failed (see above)"
fi
