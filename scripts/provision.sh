# shellcheck shell=bash
# Installs what a check needs, each thing only when it is missing: Debian packages (apt-get,
# through sudo when not root) and pinned Python venvs under the cache dir. Sourced by
# scripts/test (what `cargo test` needs) and .ci/ops-tools.sh (what the deploy checks need);
# installs nothing by itself. Everything it says goes to stderr.

# Where the venvs live. tests/it/tools.rs looks in the same place: keep the two in step.
provision_cache="${XDG_CACHE_HOME:-${HOME:?HOME or XDG_CACHE_HOME must be set}/.cache}/media-migrate"

provision_as_root() {
    if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi
}

# provision_debian PACKAGE...: apt-get installs those of the packages dpkg doesn't have
# (recommends left out: nothing here uses them), with one `apt-get update` first.
provision_debian() {
    local missing=() package
    for package in "$@"; do
        [[ "$(dpkg-query -W -f='${Status}' "$package" 2>/dev/null)" == "install ok installed" ]] \
            || missing+=("$package")
    done
    (( ${#missing[@]} > 0 )) || return 0
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "provision: missing ${missing[*]}, and no apt-get to install them: install them another way" >&2
        return 1
    fi
    echo "provision: apt-get install ${missing[*]}" >&2
    provision_as_root apt-get update -qq >&2
    # A package's own service (the Pushgateway's) is of no use here; where a policy-rc.d says
    # so, the install doesn't start it.
    provision_as_root env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
}

# provision_python: a python3 that can make venvs (Debian's python3-venv when the one on PATH
# can't).
provision_python() {
    if ! python3 -c 'import ensurepip, venv' >/dev/null 2>&1; then
        provision_debian python3 python3-venv
    fi
}

# provision_venv NAME PIN...: the venv $provision_cache/NAME with exactly these pins, made (or
# made again) only when it is missing or its pins changed; prints nothing on stdout.
provision_venv() {
    local venv="$provision_cache/$1"
    shift
    if [[ ! -x "$venv/bin/python" || "$(cat "$venv/.pins" 2>/dev/null)" != "$*" ]]; then
        provision_python
        echo "provision: creating $venv ($*)" >&2
        rm -rf "$venv"
        mkdir -p "$provision_cache"
        python3 -m venv "$venv" >&2
        "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" >&2
        echo "$*" >"$venv/.pins"
    fi
}
