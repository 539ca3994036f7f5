"""The GitHub Actions workflows are well-formed (actionlint is not available: checked here) and
do what the release process says: CI is `make test` by the same script; a tag publishes the image
with provenance and an SBOM and the chart as an OCI artifact."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = ROOT / ".github" / "workflows"
FILES = sorted(WORKFLOWS.glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")
USES_LINE = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)(.*)$")
EVENTS = {"push", "pull_request", "workflow_call", "workflow_dispatch", "schedule", "release"}


def load(path: Path) -> dict[str, Any]:
    workflow: dict[Any, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
    # YAML 1.1 reads the key `on` as True.
    if True in workflow:
        workflow["on"] = workflow.pop(True)
    return workflow


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_each_workflow_has_the_required_structure(path):
    workflow = load(path)

    assert {"name", "on", "jobs"} <= workflow.keys()
    assert set(workflow["on"]) <= EVENTS
    assert workflow["permissions"] == {"contents": "read"}, "least privilege by default"
    for name, job in workflow["jobs"].items():
        assert re.fullmatch(r"[a-z][a-z0-9_-]*", name)
        if "uses" in job:  # a reusable workflow
            assert job["uses"].startswith("./.github/workflows/")
            assert (ROOT / job["uses"]).exists()
            continue
        assert job["runs-on"] and job["timeout-minutes"] <= 90, name
        for need in (
            [job.get("needs", [])] if isinstance(job.get("needs"), str) else job.get("needs", [])
        ):
            assert need in workflow["jobs"], f"{name} needs unknown job {need}"
        for step in job["steps"]:
            assert ("uses" in step) != ("run" in step), step


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_every_action_is_pinned_to_a_commit_with_its_version_noted(path):
    for line in path.read_text(encoding="utf-8").splitlines():
        match = USES_LINE.match(line)
        if not match or match[1].startswith("./"):
            continue
        assert PINNED.match(match[1]), f"not pinned to a commit: {line.strip()}"
        assert re.search(r"#\s*v\d+(\.\d+)*", match[2]), f"no version comment: {line.strip()}"


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_no_untrusted_or_secret_expression_inside_a_script(path):
    for step in steps(load(path)):
        script = step.get("run", "")
        # Script injection: event data and secrets go through env, never into the shell text.
        assert "github.event" not in script and "secrets." not in script, step.get("name")


def test_ci_runs_make_test_through_the_same_script_as_everywhere():
    ci = load(WORKFLOWS / "ci.yml")
    runs = [step["run"] for step in steps(ci) if "run" in step]
    script = (ROOT / ".ci" / "run").read_text(encoding="utf-8")

    assert "bash .ci/run" in runs
    assert "make test" in script
    assert {"push", "pull_request", "workflow_call"} <= set(ci["on"])
    image = ci["jobs"]["test"]["container"]["image"]
    assert re.search(r"@sha256:[0-9a-f]{64}$", image), image


def test_a_tag_publishes_the_image_with_provenance_and_sbom_after_the_tests():
    release = load(WORKFLOWS / "release.yml")
    image = release["jobs"]["image"]
    build = next(s for s in image["steps"] if "docker/build-push-action" in s.get("uses", ""))

    assert release["on"] == {"push": {"tags": ["v*.*.*"]}}
    assert release["jobs"]["test"]["uses"] == "./.github/workflows/ci.yml"
    assert image["needs"] == "test"
    assert image["permissions"]["packages"] == "write"
    assert build["with"]["push"] is True
    assert build["with"]["provenance"] == "mode=max"
    assert build["with"]["sbom"] is True
    assert (
        "ghcr.io/"
        in next(s for s in image["steps"] if "docker/metadata-action" in s.get("uses", ""))["with"][
            "images"
        ]
    )


def test_a_tag_pushes_the_chart_as_an_oci_artifact_at_the_tags_version():
    chart = load(WORKFLOWS / "release.yml")["jobs"]["chart"]
    script = "\n".join(step.get("run", "") for step in chart["steps"])

    assert chart["needs"] == "image"
    assert 'helm package charts/kramar --version "$version" --app-version "$version"' in script
    assert 'helm push dist/kramar-"${TAG#v}".tgz "oci://ghcr.io/${owner}/charts"' in script
    assert "helm lint --strict charts/kramar" in script
    # The digest it writes into values.yaml must match a line that exists there.
    values = (ROOT / "charts" / "kramar" / "values.yaml").read_text(encoding="utf-8")
    assert re.search(r'^  digest: ""$', values, re.M)
    assert "repository: ghcr.io/kramar-shop/kramar" in values
