"""The committed eval datasets: sizes the issue asks for, the intent contract, the photos'
hashes, and errors a shop gets for a broken manifest of its own."""

from __future__ import annotations

import hashlib
import shutil
from collections import Counter
from pathlib import Path

import pytest

from app.evals.dataset import INTENTS, DatasetError, load_dataset

EVALS = Path(__file__).resolve().parents[2] / "evals"


@pytest.fixture(name="dataset", scope="module")
def fx_dataset():
    return load_dataset(EVALS)


def test_the_demo_dataset_has_the_cases_the_issue_asks_for(dataset):
    products = [c for c in dataset.vision if c.expected]
    others = [c for c in dataset.vision if not c.expected]
    assert len(products) >= 80 and len(others) >= 20
    assert len(dataset.text) >= 100 and len(dataset.dialogues) >= 15
    kinds = Counter(c.slice for c in products)
    for kind in (
        "feed",
        "chat",
        "crop",
        "mirror",
        "table",
        "bed",
        "hanger",
        "screen",
        "partial",
        "cast",
    ):
        assert kinds[kind] >= 5, kind
    assert {c.lang for c in dataset.text} >= {"uk", "ru", "en", "surzhyk"}
    assert {c.intent for c in dataset.text} == set(INTENTS)


def test_test_products_are_never_dev_products(dataset):
    dev = {sku for c in dataset.vision if c.split == "dev" for sku in c.expected}
    test = {sku for c in dataset.vision if c.split == "test" for sku in c.expected}
    assert dev and test and not dev & test


def test_every_photo_is_the_one_the_manifest_hashed(dataset):
    assert dataset.vision_root is not None
    for case in dataset.vision:
        content = (dataset.vision_root / case.file).read_bytes()
        assert hashlib.sha256(content).hexdigest() == case.sha256, case.file


def test_a_broken_manifest_lists_every_problem_with_its_place(tmp_path):
    shutil.copytree(EVALS, tmp_path / "evals")
    root = tmp_path / "evals"
    messages = root / "text" / "messages.yaml"
    text = messages.read_text(encoding="utf-8")
    text = text.replace("intent: price", "intent: prise", 1).replace(
        "split: dev}", "split: tune}", 1
    )
    messages.write_text(text, encoding="utf-8")
    (root / "vision" / "photos" / "other-cat.jpg").unlink()

    with pytest.raises(DatasetError) as raised:
        load_dataset(root)

    problems = "\n".join(raised.value.problems)
    assert "messages.yaml: case 1: intent" in problems
    assert "messages.yaml: case 1: split" in problems
    assert "case" in problems and "no photo photos/other-cat.jpg" in problems


def test_a_dataset_without_an_index_says_so(tmp_path):
    with pytest.raises(DatasetError, match=r"dataset\.yaml: cannot be read"):
        load_dataset(tmp_path)
