#!/usr/bin/env bash
# Official-SDK conformance of the local Media Manager: Wix's own generated packages
# (@wix/auto_sdk_media_files, @wix/auto_sdk_media_folders, run by @wix/sdk's createClient)
# drive every endpoint of `media-migrate serve`, so the server answers what the official
# client sends and the official client reads what the server answers. See
# .ci/sdk-conformance/suite.js for how the client is pointed at the local server and what each
# check asserts.
#
# The packages are those pinned by .ci/sdk-conformance/package-lock.json, installed with
# `npm ci --ignore-scripts` into a cache outside the clone, keyed by the lockfile's hash, and
# only when that cache is missing. Builds nothing: pass the path of a built media-migrate binary.
# Prints one line per check and a closing "N passed, M failed"; exits non-zero on any failure.
#
# Usage: bash .ci/sdk-conformance.sh target/debug/media-migrate
set -euo pipefail

bin="${1:?usage: sdk-conformance.sh PATH/TO/media-migrate}"
[[ -x "$bin" ]] || { echo "sdk conformance: FAIL: $bin is not an executable" >&2; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/sdk-conformance"

command -v node >/dev/null 2>&1 || { echo "sdk conformance: FAIL: node is not installed"; exit 1; }
command -v npm >/dev/null 2>&1 || { echo "sdk conformance: FAIL: npm is not installed"; exit 1; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
    || { echo "sdk conformance: FAIL: node $(node --version) is older than 20"; exit 1; }

lock_hash="$(sha256sum "$here/package-lock.json" | cut -c1-16)"
cache_root="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/media-migrate"
sdk_dir="$cache_root/sdk-conformance-$lock_hash"

# The install is complete once the marker exists; a half-done one (interrupted) is redone.
if [[ ! -f "$sdk_dir/.installed" ]]; then
    echo "sdk conformance: installing the pinned packages into $sdk_dir"
    mkdir -p "$cache_root"
    staging="$(mktemp -d "$cache_root/.sdk-conformance-staging.XXXXXX")"
    trap 'rm -rf "$staging"' EXIT
    cp "$here/package.json" "$here/package-lock.json" "$staging/"
    (cd "$staging" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
        || { echo "sdk conformance: FAIL: npm ci of the pinned packages failed"; exit 1; }
    touch "$staging/.installed"
    rm -rf "$sdk_dir"
    # A rename within one directory: another run sees the whole install or none of it.
    mv -T "$staging" "$sdk_dir" 2>/dev/null || rm -rf "$staging" # lost a race: theirs is as good
    trap - EXIT
fi

status=0
timeout 600 node "$here/suite.js" --bin "$bin" --sdk "$sdk_dir" || status=$?
if (( status == 124 )); then
    echo "sdk conformance: FAIL: the suite did not finish within 600 s"
fi
exit "$status"
