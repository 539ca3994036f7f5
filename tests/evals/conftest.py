"""A small dataset for the runner's own tests: a few cases of each suite of the demo one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

EVALS = Path(__file__).resolve().parents[2] / "evals"
CATALOG = EVALS.parent / "data" / "catalog" / "products_master.yaml"


def small_dataset(
    root: Path, *, photos: int = 4, messages: int = 6, dialogues: int = 2, gates=None
) -> Path:
    """A copy of evals/ cut down to the first cases of each split (a shop's folder would look
    the same), with `gates` as its thresholds.yaml when given."""
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(EVALS / "vision" / "photos", root / "vision" / "photos")
    for suite, manifest, key, count in (
        ("vision", "manifest.yaml", "cases", photos),
        ("text", "messages.yaml", "cases", messages),
        ("dialog", "dialogues.yaml", "dialogues", dialogues),
    ):
        data = yaml.safe_load((EVALS / suite / manifest).read_text(encoding="utf-8"))
        chosen = [c for c in data[key] if c["split"] == "test"][: count // 2 + count % 2]
        chosen += [c for c in data[key] if c["split"] == "dev"][: count // 2]
        (root / suite).mkdir(exist_ok=True)
        (root / suite / manifest).write_text(
            yaml.safe_dump({"suite": suite, key: chosen}, allow_unicode=True), encoding="utf-8"
        )
    index = {
        "name": "small",
        "catalog": str(CATALOG),
        "suites": {
            "vision": "vision/manifest.yaml",
            "text": "text/messages.yaml",
            "dialog": "dialog/dialogues.yaml",
        },
        "thresholds": "thresholds.yaml",
    }
    (root / "dataset.yaml").write_text(yaml.safe_dump(index), encoding="utf-8")
    thresholds = (
        gates
        if gates is not None
        else yaml.safe_load((EVALS / "thresholds.yaml").read_text(encoding="utf-8"))["gates"]
    )
    (root / "thresholds.yaml").write_text(yaml.safe_dump({"gates": thresholds}), encoding="utf-8")
    return root


@pytest.fixture(name="small")
def fx_small(tmp_path):
    return small_dataset(tmp_path / "dataset")


@pytest.fixture(name="openai_server")
def fx_openai_server():
    from tests.servers.openai import OpenAIServer

    server = OpenAIServer()
    server.start()
    yield server
    server.stop()
