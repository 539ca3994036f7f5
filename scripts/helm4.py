"""`helm lint` and `helm template` on Helm 4, for the chart checks.

Run with the interpreter of the venv scripts/install-helm4.sh makes (it holds helm-python-sdk,
which embeds Helm 4's Go SDK); takes the arguments of helm's own commands, so a test calls it as
it calls the helm 3 binary:

    python scripts/helm4.py version
    python scripts/helm4.py lint --strict CHART [--values FILE]... [--set K=V]...
    python scripts/helm4.py template NAME CHART [--namespace NS] [--values FILE]... [--set K=V]...

Offline like `helm template` without a cluster: `lookup` finds nothing. The SDK takes no
`--api-versions`, so objects behind `.Capabilities.APIVersions` render as on a bare cluster.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import helm_python as helm


def merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """Deep-merge `extra` into `base` as helm merges several --values and --set."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            merge(base[key], value)
        else:
            base[key] = value
    return base


def user_values(files: list[str], sets: list[str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for file in files:
        merge(values, helm.values_from_yaml(Path(file).read_text(encoding="utf-8")) or {})
    for assignment in sets:
        merge(values, helm.parse_set_string(assignment))
    return values


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="helm4")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("version")
    lint = commands.add_parser("lint")
    lint.add_argument("chart")
    lint.add_argument("--strict", action="store_true")
    template = commands.add_parser("template")
    template.add_argument("name")
    template.add_argument("chart")
    template.add_argument("--namespace", "-n", default="default")
    template.add_argument("--include-crds", action="store_true")
    for sub in (lint, template):
        sub.add_argument("--values", "-f", action="append", default=[])
        sub.add_argument("--set", action="append", default=[])
    args = parser.parse_args(argv)

    if args.command == "version":
        print(f"Helm {helm.helm_sdk_version()} (helm-python-sdk {helm.__version__})")
        return 0
    try:
        values = user_values(args.values, args.set)
        if args.command == "lint":
            report = helm.lint(args.chart, values, strict=args.strict)
            for message in report["messages"]:
                level = {1: "INFO", 2: "WARNING", 3: "ERROR"}.get(message["severity"], "UNKNOWN")
                print(f"[{level}] {message['path']}: {message['error']}")
            failing = [m for m in report["messages"] if m["severity"] >= (2 if args.strict else 3)]
            if report["errors"] or failing:
                print("\n".join(report["errors"]), file=sys.stderr)
                return 1
            print(f"{report['total_charts_linted']} chart(s) linted, 0 chart(s) failed")
            return 0
        chart = helm.Chart.load(args.chart)
        rendered = chart.render(values, name=args.name, namespace=args.namespace, is_install=True)
    except helm.HelmError as error:
        print(f"Error: {error}", file=sys.stderr)
        return 1
    if args.include_crds:
        for crd in chart.crds:
            print(f"---\n# Source: {crd['filename']}\n{crd['data'].strip()}")
    for path in sorted(rendered):
        if rendered[path].strip() and not path.endswith("NOTES.txt"):
            print(f"---\n# Source: {path}\n{rendered[path].strip()}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
