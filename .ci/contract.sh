#!/usr/bin/env bash
# The contract check: Wix's generated packages (pinned in crates/wire/src/contract.rs, installed
# from the npm registry into a cache outside the clone, only when missing) against the wire
# crate's statement of them. Then proves the check can fail: plants drifts in a copy of the
# contract and requires each to be named. Exits non-zero on a drift or on a plant not caught.
#   usage: .ci/contract.sh [path/to/wix-contract-check]   (built with cargo when omitted)
set -euo pipefail
cd "$(dirname "$0")/.."

bin="${1:-}"
if [[ -z "$bin" ]]; then
    export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${HOME:-/root}/.cache/media-migrate/target}"
    cargo build --locked --quiet -p wix-contract-check
    bin="$CARGO_TARGET_DIR/debug/wix-contract-check"
fi

if ! command -v npm >/dev/null 2>&1; then
    sudo=""
    [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq nodejs npm
fi

# The pinned packages, from the one place that pins them.
mapfile -t packages < <("$bin" --packages)
tag="$(printf '%s\n' "${packages[@]}" | sed 's|^@wix/auto_sdk_media_||; s|@|-|' | paste -sd- -)"
cache_root="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/media-migrate"
sdk="$cache_root/wix-sdk-$tag"
stamp="$sdk/.installed"
want="$(printf '%s\n' "${packages[@]}")"

if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
    echo "installing ${packages[*]} into $sdk"
    mkdir -p "$cache_root"
    staging="$(mktemp -d "$cache_root/.wix-sdk.XXXXXX")"
    printf '{ "name": "wix-sdk-contract", "private": true }\n' >"$staging/package.json"
    (cd "$staging" && npm install --ignore-scripts --no-audit --no-fund --loglevel=error \
        "${packages[@]}")
    printf '%s\n' "$want" >"$staging/.installed"
    rm -rf "$sdk"
    # A concurrent run may have put it in place first; either copy is the same packages.
    mv -T "$staging" "$sdk" 2>/dev/null || rm -rf "$staging"
else
    echo "using ${packages[*]} from $sdk"
fi
contract="$sdk/node_modules/@wix"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "-- the wire crate against the contract"
status=0
"$bin" "$contract" | tee "$work/today.txt" || status=$?
if [[ "$status" -gt 1 ]]; then
    echo "contract check: could not run (exit $status)" >&2
    exit "$status"
fi

# plant NAME FILE PYTHON-REGEX REPLACEMENT EXPECTED-LINE...: edits one copy of the contract (the
# regex must match exactly once), runs the check on it, and requires exit 1 and each expected
# line, none of which may appear in today's output (so the plant, not today's drift, made it).
plant() {
    local name="$1" file="$2" regex="$3" replacement="$4"
    shift 4
    local copy="$work/$name"
    mkdir -p "$copy"
    cp -R "$contract/auto_sdk_media_files" "$contract/auto_sdk_media_folders" "$copy/"
    python3 - "$copy/$file" "$regex" "$replacement" <<'EOF'
import re, sys
path, regex, replacement = sys.argv[1:]
text = open(path, encoding="utf-8").read()
new, n = re.subn(regex, replacement, text, flags=re.S)
if n != 1:
    sys.exit(f"planting: {regex!r} matched {n} times in {path}, not once")
open(path, "w", encoding="utf-8").write(new)
EOF
    local planted=0
    "$bin" "$copy" >"$work/$name.txt" || planted=$?
    if [[ "$planted" -ne 1 ]]; then
        echo "planted drift '$name': the check exited $planted, not 1" >&2
        return 1
    fi
    local line
    for line in "$@"; do
        if grep -qxF -- "$line" "$work/today.txt"; then
            echo "planted drift '$name': '$line' is already in today's output" >&2
            return 1
        fi
        if ! grep -qxF -- "$line" "$work/$name.txt"; then
            echo "planted drift '$name' NOT DETECTED: expected '$line'" >&2
            return 1
        fi
        echo "planted drift '$name' detected: $line"
    done
}

echo "-- planted drifts (each must fail the check and be named)"
meta=auto_sdk_media_files/build/cjs/meta.d.ts
# A limit: ImportFileRequest.filePath @maxLength 100 -> 1024.
plant limit "$meta" \
    '(interface ImportFileRequest \{(?:(?!\n\}).)*?@maxLength )100(\s*\*/\s*filePath\?)' \
    '\g<1>1024\g<2>' \
    'importFile: filePath: limit maxLength is 100 in wire, 1024 in the contract' \
    'bulkImportFile: importFileRequests[].filePath: limit maxLength is 100 in wire, 1024 in the contract'
# A field the client sends that the contract lacks: GenerateFileUploadUrlRequest loses filePath.
plant field "$meta" \
    '(interface GenerateFileUploadUrlRequest \{(?:(?!\n\}).)*?)filePath\?: string \| null;' \
    '\g<1>' \
    'generateFileUploadUrl: filePath: the client sends it; the contract'"'"'s GenerateFileUploadUrlRequest has no such field'
# A response shape: AudioV2.assets as strings in the contract, objects in wire.
plant shape "$meta" \
    '(interface AudioV2 \{(?:(?!\n\}).)*?assets\?: )Audio\[\];' \
    '\g<1>string[];' \
    'getFileDescriptors response: files[].media.audio.assets[]: is object in wire, string in the contract'
# A validation rule the wire crate doesn't know: Get File Descriptors documents a second one.
plant rule auto_sdk_media_files/build/cjs/index.typings.d.ts \
    "(type GetFileDescriptorsValidationErrors = \\{\\s*ruleName\\?: 'RESOURCE_NOT_FOUND';\\s*\\})" \
    "\\g<1> | { ruleName?: 'PLANTED_RULE'; }" \
    'getFileDescriptors: validation rule PLANTED_RULE is in the contract, not in wire'

if [[ "$status" -ne 0 ]]; then
    echo "contract check: the wire crate drifts from Wix's contract (lines above)" >&2
fi
exit "$status"
