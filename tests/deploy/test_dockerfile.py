"""The Dockerfile keeps the image rules (no Docker engine or hadolint here: parsed and checked).

Rules: every FROM pinned by digest; uv installs exactly the lock without dev dependencies in a
builder stage; the runtime stage has no build tools, runs as a numeric non-root user, works with a
read-only root filesystem (its writable paths are volumes), says how it stops and how it is
probed, carries OCI labels, and runs `kramar serve` by default.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
DIGEST = re.compile(r"^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$")
BUILD_TOOLS = ("gcc", "g++", "clang", "make", "build-essential", "cc ", "cmake", "-dev ", "git")


@dataclass
class Stage:
    image: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def args(self, keyword: str) -> list[str]:
        return [rest for kw, rest in self.instructions if kw == keyword]


def parse(text: str) -> tuple[dict[str, str], list[Stage]]:
    """(global ARG defaults, stages) of a Dockerfile: continuations joined, comments dropped."""
    logical: list[str] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    arguments: dict[str, str] = {}
    stages: list[Stage] = []
    for line in logical:
        keyword, _, rest = line.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            words = rest.split()
            image = re.sub(r"\$\{(\w+)\}", lambda m: arguments[m.group(1)], words[0])
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else ""
            stages.append(Stage(image, name))
        elif keyword == "ARG" and not stages:
            key, _, default = rest.partition("=")
            arguments[key] = default
        elif stages:
            stages[-1].instructions.append((keyword, rest.strip()))
    return arguments, stages


@pytest.fixture(name="stages", scope="module")
def fx_stages() -> list[Stage]:
    return parse(DOCKERFILE.read_text(encoding="utf-8"))[1]


def test_every_base_image_is_pinned_by_digest(stages):
    assert len(stages) >= 2, "expected a builder and a runtime stage"
    for stage in stages:
        assert DIGEST.match(stage.image), f"FROM {stage.image} is not tag@sha256:digest"


def test_the_builder_installs_exactly_the_lock_without_dev_dependencies(stages):
    builder = stages[0]
    syncs = [run for run in builder.args("RUN") if "uv sync" in run]

    assert syncs, "the builder must install with `uv sync`"
    for run in syncs:
        assert "--frozen" in run and "--no-dev" in run, run
    assert any("--no-editable" in run for run in syncs), "the project must be copied in, not linked"
    assert re.search(r"uv==\d+\.\d+\.\d+", " ".join(builder.args("RUN"))), "uv version not pinned"


def test_the_runtime_stage_installs_no_build_tools_and_no_packages(stages):
    runtime = stages[-1]

    for run in runtime.args("RUN"):
        assert "apt-get install" not in run and "pip install" not in run, run
        assert not any(tool in f"{run} " for tool in BUILD_TOOLS), run
    sources = [shlex.split(copy) for copy in runtime.args("COPY")]
    assert any("--from=builder" in words for words in sources), "the venv comes from the builder"


def test_the_runtime_user_is_numeric_and_not_root(stages):
    user = stages[-1].args("USER")

    assert user, "no USER in the runtime stage"
    uid, _, gid = user[-1].partition(":")
    assert uid.isdigit() and int(uid) >= 1000, user[-1]
    assert not gid or (gid.isdigit() and int(gid) > 0), user[-1]


def test_writable_paths_are_volumes_for_a_read_only_root_filesystem(stages):
    runtime = stages[-1]
    volumes = {
        path for volume in runtime.args("VOLUME") for path in re.findall(r'"([^"]+)"', volume)
    }
    env = " ".join(runtime.args("ENV"))

    assert {"/data", "/tmp"} <= volumes
    assert "KRAMAR_DATA_DIR=/data" in env
    assert "PYTHONDONTWRITEBYTECODE=1" in env  # nothing written next to the code


def test_the_image_says_how_it_stops_is_probed_and_what_it_runs(stages):
    runtime = stages[-1]

    assert runtime.args("STOPSIGNAL") == ["SIGTERM"]
    assert any("/health/live" in check for check in runtime.args("HEALTHCHECK"))
    assert runtime.args("ENTRYPOINT") == ['["kramar"]']
    assert runtime.args("CMD") == ['["serve", "--host", "0.0.0.0"]']
    assert runtime.args("EXPOSE") == ["8000"]


def test_the_image_carries_oci_labels(stages):
    labels = " ".join(stages[-1].args("LABEL"))
    for key in ("title", "description", "source", "version", "revision"):
        assert f"org.opencontainers.image.{key}=" in labels, key


def test_only_what_the_image_needs_is_sent_to_the_build(stages):
    ignore = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    allowed = {line[1:].rstrip("/") for line in ignore if line.startswith("!")}

    assert ignore[ignore.index("*")] == "*", "the build context must be an allow-list"
    for stage in stages:
        for copy in stage.args("COPY"):
            words = [word for word in shlex.split(copy) if not word.startswith("--")]
            if any(word.startswith("--from") for word in shlex.split(copy)):
                continue
            for source in words[:-1]:
                assert source.rstrip("/") in allowed, f"COPY {source}: excluded by .dockerignore"
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"


def test_the_parser_catches_an_unpinned_base_and_a_root_user():
    _, stages = parse("FROM python:3.11-slim AS builder\nFROM python:3.11-slim\nUSER root\n")

    assert not DIGEST.match(stages[0].image)
    assert not stages[-1].args("USER")[0].isdigit()
