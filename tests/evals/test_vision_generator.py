"""The vision set cannot drift: the generator still draws the committed photos, case by case.

Every photo has its own seeded generator, so one of each kind is redrawn here (a few seconds)
and compared pixel by pixel with the committed JPEG: equal up to JPEG noise. The manifest's
SHA-256 of every file is checked in test_datasets.py.
"""

from __future__ import annotations

import io

import numpy as np
import yaml
from PIL import Image

from evals.vision import generate


def test_the_plan_is_the_committed_manifest():
    manifest = yaml.safe_load(generate.MANIFEST.read_text(encoding="utf-8"))["cases"]
    planned = [(f"photos/{p.file}", p.expected, p.kind, p.split) for p in generate.plan()]
    committed = [(c["file"], c["expected"], c["slice"], c["split"]) for c in manifest]
    assert planned == committed


def test_the_generator_redraws_the_committed_photos():
    chosen: dict[str, generate.Planned] = {}
    for item in generate.plan():
        chosen.setdefault(item.kind, item)
    assert len(chosen) == len(generate.KINDS) + 2  # + inactive products + things not sold
    for item in chosen.values():
        drawn = np.asarray(Image.open(io.BytesIO(generate.encode(item.draw()))), dtype=np.int16)
        committed = np.asarray(Image.open(generate.PHOTOS / item.file), dtype=np.int16)
        assert drawn.shape == committed.shape, item.file
        assert np.abs(drawn - committed).mean() < 1.0, item.file
