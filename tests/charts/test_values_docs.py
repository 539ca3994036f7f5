"""Every value is documented twice and both stay true: a comment above each key of values.yaml
(which makes the README's table) and a described entry in values.schema.json."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from scripts.chart_values_table import README, VALUES, documented_keys, rewritten
from tests.charts.helm import CHART, HELMS, run

SCHEMA = json.loads((CHART / "values.schema.json").read_text(encoding="utf-8"))


def schema_paths(node: dict[str, Any], path: str = "") -> dict[str, dict[str, Any]]:
    found = {}
    for name, child in node.get("properties", {}).items():
        here = f"{path}.{name}" if path else name
        found[here] = child
        found |= schema_paths(child, here)
    items = node.get("items")
    if isinstance(items, dict) and "properties" in items:
        found |= schema_paths(items, f"{path}[0]")
    return found


def test_every_values_key_has_a_comment_above_it():
    undocumented = [
        key.path for key in documented_keys(VALUES.read_text(encoding="utf-8")) if not key.comment
    ]

    assert not undocumented


def test_every_values_key_is_in_the_schema_with_a_description():
    keys = {key.path for key in documented_keys(VALUES.read_text(encoding="utf-8"))}
    schema = schema_paths(SCHEMA)

    assert sorted(keys - schema.keys()) == []
    assert sorted(path for path, node in schema.items() if not node.get("description")) == []


def test_the_readme_values_table_is_current():
    readme = README.read_text(encoding="utf-8")

    assert readme == rewritten(readme, VALUES.read_text(encoding="utf-8")), (
        "charts/kramar/README.md is out of date: run `make chart-docs`"
    )


def test_the_values_file_is_what_its_comments_describe():
    keys = documented_keys(VALUES.read_text(encoding="utf-8"))
    data = yaml.safe_load(VALUES.read_text(encoding="utf-8"))

    assert {key.path for key in keys if "." not in key.path and "[" not in key.path} == set(data)


@pytest.mark.parametrize("helm_id", list(HELMS))
def test_global_is_allowed_so_the_chart_works_as_a_subchart(helm_id):
    done = run(HELMS[helm_id](), "template", "shop", str(CHART), "--set", "global.region=eu")

    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("helm_id", list(HELMS))
@pytest.mark.parametrize(
    ("setting", "complaint"),
    [
        ("replicaCount=3", "replicaCount"),
        ("web.replicas=-1", "replicas"),
        ("config.logLevel=LOUD", "logLevel"),
        ("image.digest=latest", "digest"),
        ("config.publicUrl=http://plain.example", "publicUrl"),
    ],
)
def test_the_schema_rejects_unknown_keys_and_bad_values(helm_id, setting, complaint):
    done = run(HELMS[helm_id](), "template", "shop", str(CHART), "--set", setting)

    assert done.returncode != 0
    assert re.search(complaint, done.stderr), done.stderr
