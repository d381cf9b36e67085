#!/usr/bin/env bash
# Checks the ready-made schedules in deploy/ with tools nobody here wrote:
# - systemd units: `systemd-analyze verify` (any message fails: unknown keys and bad values are
#   only warnings to it) and `systemd-analyze security --offline` with an exposure threshold
#   (2.0 of 10; the option counts in tenths).
#   verify insists that ExecStart's binary exists and is executable, and /usr/local/bin/
#   media-migrate (where the units expect it installed) doesn't exist on CI; so the units are
#   checked from a copy whose ExecStart names the binary just built — nothing else differs.
# - Kubernetes: kubernetes-validate --strict (official schemas bundled in the package: no
#   network at validate time) against the oldest and newest versions we claim.
# - cron: the crontab line's command under sh -n, bash -n and shellcheck, with the inner
#   `sh -c '...'` script checked on its own; a `%` (cron's newline) fails.
# - Dockerfile: hadolint.
# Tools come from .ci/ops-tools.sh (pass its python). Builds nothing.
#
# Usage: bash .ci/deploy-check.sh PATH/TO/media-migrate PATH/TO/ops-venv/bin/python
set -euo pipefail
cd "$(dirname "$0")/.."

bin="$(realpath "${1:?usage: deploy-check.sh PATH/TO/media-migrate OPS_PYTHON}")"
python="${2:?usage: deploy-check.sh PATH/TO/media-migrate OPS_PYTHON}"
venv_bin="$(dirname "$python")"
[[ -x "$bin" ]] || { echo "deploy-check: FAIL: $bin is not an executable" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "deploy-check: FAIL: $*" >&2; exit 1; }

echo "-- systemd"
sed "s#/usr/local/bin/media-migrate#$bin#" deploy/systemd/media-migrate.service >"$work/media-migrate.service"
cp deploy/systemd/media-migrate.timer "$work/"
grep -q "^ExecStart=$bin " "$work/media-migrate.service" || fail "the service's ExecStart was not found"
verify_out="$(systemd-analyze verify "$work/media-migrate.service" "$work/media-migrate.timer" 2>&1)" \
    || fail "systemd-analyze verify: $verify_out"
[[ -z "$verify_out" ]] || fail "systemd-analyze verify complained: $verify_out"
systemd-analyze security --offline=true --threshold=20 "$work/media-migrate.service" >"$work/security.txt" 2>&1 \
    || { cat "$work/security.txt" >&2; fail "the service's exposure is above 2 (systemd-analyze security)"; }
tail -n 1 "$work/security.txt"

echo "-- kubernetes"
for version in 1.31.0 1.37.0; do
    "$venv_bin/kubernetes-validate" --strict --quiet -k "$version" deploy/kubernetes/*.yaml \
        || fail "deploy/kubernetes does not validate against Kubernetes $version"
done
echo "valid against Kubernetes 1.31 and 1.37 (strict)"
# The fleet's Indexed Job (and its CronJob form): the pods learn N from JOB_COMPLETIONS, which
# Kubernetes doesn't set, so it must equal `completions` or shards would overlap or leave sites.
for file in deploy/kubernetes/fleet-job.yaml deploy/kubernetes/fleet-cronjob.yaml; do
    grep -q 'completionMode: Indexed' "$file" || fail "$file is not an Indexed Job"
    completions="$(sed -nE 's/^ *completions: *([0-9]+).*/\1/p' "$file")"
    env_n="$(grep -A1 'name: JOB_COMPLETIONS' "$file" | sed -nE 's/.*value: *"?([0-9]+)"?.*/\1/p')"
    [[ -n "$completions" && "$completions" == "$env_n" ]] \
        || fail "$file: JOB_COMPLETIONS ($env_n) must equal completions ($completions)"
done
echo "fleet Indexed Jobs: JOB_COMPLETIONS equals completions"

echo "-- cron"
line="$(grep -v '^[[:space:]]*#' deploy/cron/media-migrate.cron | grep -v '^[[:space:]]*$')"
[[ "$(printf '%s\n' "$line" | wc -l)" == 1 ]] || fail "deploy/cron/media-migrate.cron must hold one crontab line"
[[ "$line" != *%* ]] || fail "the crontab line holds a %, which cron turns into a newline"
# Five time fields, then the command as cron hands it to /bin/sh.
command="$(printf '%s\n' "$line" | sed -E 's/^([^[:space:]]+[[:space:]]+){5}//')"
printf '#!/bin/sh\n%s\n' "$command" >"$work/cron.sh"
inner="$(printf '%s\n' "$command" | sed -nE "s/.* -c '([^']*)'.*/\1/p")"
[[ -n "$inner" ]] || fail "no sh -c '...' script found in the crontab line"
printf '#!/bin/sh\n%s\n' "$inner" >"$work/cron-inner.sh"
for script in "$work/cron.sh" "$work/cron-inner.sh"; do
    sh -n "$script" || fail "sh -n: $(cat "$script")"
    bash -n "$script" || fail "bash -n: $(cat "$script")"
done
# SC2016: the outer line quotes $HOME on purpose, for the inner shell to expand.
shellcheck -s sh -e SC2016 "$work/cron.sh" || fail "shellcheck of the crontab command"
# SC1091: the env file it sources is the installer's, not in the repository.
shellcheck -s sh -e SC1091 "$work/cron-inner.sh" || fail "shellcheck of the crontab's inner script"
echo "crontab command: sh -n, bash -n, shellcheck clean"

echo "-- Dockerfile"
"$venv_bin/hadolint" deploy/Dockerfile || fail "hadolint deploy/Dockerfile"
echo "hadolint clean"

echo "deploy-check: PASS"
