#!/usr/bin/env bash
# Contract check of the local Media Manager against its own OpenAPI document with a property-
# based tester nobody here wrote (schemathesis, from PyPI): starts `media-migrate serve` on a free
# loopback port with a throwaway data dir, installs schemathesis into a throwaway venv, and runs
# it against GET /openapi.json. Fails on any 5xx and on any response that breaks the document.
# Builds nothing: pass the path of a built media-migrate binary.
#
# Usage: bash .ci/schemathesis.sh target/debug/media-migrate
set -euo pipefail

bin="${1:?usage: schemathesis.sh PATH/TO/media-migrate}"
[[ -x "$bin" ]] || { echo "schemathesis: FAIL: $bin is not an executable" >&2; exit 1; }
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d)"
server_pid=""
# Pinned so a new release can't change the checks under us; bump deliberately.
schemathesis_version="4.32.5"

cleanup() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT

fail() {
    echo "schemathesis: FAIL: $*"
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

python3 "$here/schemathesis_seed.py" "http://127.0.0.1:$port" >"$work/schemathesis.toml" \
    || fail "could not seed the server"

# CPython 3.11 can crash inside Hypothesis ("AST constructor recursion depth mismatch") on deep
# schemas such as Bulk Import's; take a newer interpreter when there is one.
# pyenv's shims refuse versions that aren't selected, so look in its versions directly too.
candidates=(python3.13 python3.12)
if command -v pyenv >/dev/null 2>&1; then
    for dir in "$(pyenv root)"/versions/3.1[2-9]*; do
        [[ -x "$dir/bin/python3" ]] && candidates+=("$dir/bin/python3")
    done
fi
candidates+=(python3)
python=""
for candidate in "${candidates[@]}"; do
    if "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
        python="$candidate"
        "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && break
    fi
done
[[ -n "$python" ]] || fail "schemathesis needs Python 3.11 or newer"
"$python" -m venv "$work/venv" || fail "could not create a Python venv"
"$work/venv/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$schemathesis_version" \
    || fail "could not install schemathesis $schemathesis_version from PyPI"

# Checks, and why only these:
# - not_a_server_error: a 5xx is always a server defect here (faults are off in this run).
# - response_schema_conformance: every 200 and 4xx body must match the document.
# - status_code_conformance: only 200, 4xx and 5xx are documented; anything else (a 3xx, a
#   201) would break the SDK, which treats every status but 200 as an error.
# - content_type_conformance: documented bodies are JSON.
# Left out on purpose:
# - negative_data_rejection: the server is lenient by design (int64 fields accept numbers, as
#   lenient peers send them; unknown fields are ignored; an empty body counts as `{}`).
# - positive_data_acceptance: schema-valid requests may still be refused with 4xx for state the
#   document can't express (no such file or folder, a file not READY, a URL that isn't http).
# - use_after_free, ensure_resource_availability, ignored_auth and the other stateful or auth
#   checks: the server runs open (no API keys) on loopback, and deletes go to the trash, from
#   which items are readable on purpose.
# Phases: examples, coverage and fuzzing; stateful is left out to keep the run short and
# bounded. --max-examples bounds the fuzzing per operation, `timeout` the whole run.
status=0
cd "$work" # schemathesis and hypothesis write their caches into the working directory
MM_SCHEMATHESIS_CONFIG="$work/schemathesis.toml" SCHEMATHESIS_HOOKS="$here/schemathesis_hooks.py" \
timeout 600 "$work/venv/bin/schemathesis" --config-file "$work/schemathesis.toml" run "http://127.0.0.1:$port/openapi.json" \
    --checks not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance \
    --phases examples,coverage,fuzzing \
    --max-examples 25 \
    --seed 1 \
    --workers 2 \
    --request-timeout 10 \
    --no-color 2>&1 | tee "$work/schemathesis.log" || status=$?

if (( status == 124 )); then
    fail "schemathesis did not finish within 600 s"
elif (( status != 0 )); then
    fail "schemathesis found server errors or responses that break /openapi.json (see above)"
fi
echo "schemathesis: PASS"
