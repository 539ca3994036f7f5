"""The word index: tf-idf search over visual words, incremental changes, candidate recall."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from app.vision import matcher
from app.vision.matcher import CatalogPhoto
from app.vision.prefilter import WordIndex
from app.vision.prepare import prepare
from tests.vision.conftest import LIMITS, demo_catalog_photos, feature_index
from tests.vision.customer import cropped, customer_photo, demo_image, jpeg, upscaled

VOCABULARY = 1000


def bag(*words: int) -> np.ndarray:
    return np.array(words, dtype=np.int32)


def test_the_photo_sharing_the_most_words_comes_first_and_strangers_not_at_all():
    index = WordIndex(VOCABULARY)
    index.add([(1, bag(1, 2, 3, 4)), (2, bag(1, 2, 5, 6)), (3, bag(7, 8, 9))])

    found = index.search(bag(1, 2, 3), top=3)

    assert [photo for photo, _ in found] == [1, 2]
    assert 0 < found[1][1] < found[0][1] <= 1


def test_a_rare_shared_word_counts_for_more_than_a_common_one():
    index = WordIndex(VOCABULARY)
    index.add([(1, bag(1, 2)), (2, bag(1, 3)), (3, bag(1, 4)), (4, bag(5, 6))])

    found = index.search(bag(1, 5), top=4)

    assert found[0][0] == 4


def test_a_removed_photo_is_not_found_and_a_replaced_one_has_its_new_words():
    index = WordIndex(VOCABULARY)
    index.add([(1, bag(1, 2, 3)), (2, bag(4, 5, 6))])

    index.remove([1])
    index.add([(2, bag(1, 2, 3))])

    assert len(index) == 1
    assert [photo for photo, _ in index.search(bag(1, 2, 3), top=5)] == [2]
    assert index.search(bag(4, 5, 6), top=5) == []


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 30), st.lists(st.integers(0, 49), min_size=1, max_size=20)),
        min_size=1,
        max_size=25,
    ),
    st.lists(st.integers(1, 30), max_size=10),
    st.lists(st.integers(0, 49), min_size=1, max_size=10),
)
def test_merging_the_segments_changes_no_ranking(photos, removed, query):
    index = WordIndex(50)
    for photo_id, words in photos:  # one segment per add, as catalog changes arrive
        index.add([(photo_id, np.array(words))])
    index.remove(removed)
    before = index.search(np.array(query), top=50)

    index.compact()

    after = index.search(np.array(query), top=50)
    assert [p for p, _ in after] == [p for p, _ in before] or sorted(after) == sorted(before)
    assert np.allclose(sorted(s for _, s in after), sorted(s for _, s in before), rtol=1e-4)


def test_the_right_photo_is_among_the_candidates_of_customer_photos():
    """Recall of the candidate search: crops and mirror selfies of every demo photo, among the
    demo photos and 2,000 random bags of words (distractors of realistic size)."""
    index = feature_index()
    rng = np.random.default_rng(17)
    index.add(
        CatalogPhoto(
            10_000 + i, f"XX-{i}", rng.integers(0, index.vocabulary.size, 450, dtype=np.int32)
        )
        for i in range(2000)
    )
    found = 0
    photos = [p for p in demo_catalog_photos()]
    names = {p.photo_id: name for p, name in zip(photos, _file_names(), strict=True)}
    for photo in photos:
        name = names[photo.photo_id]
        for data in (customer_photo(name), jpeg(upscaled(cropped(demo_image(name), 0.18)))):
            candidates = index.candidates(prepare(data, **LIMITS))
            found += photo.photo_id in {c.photo_id for c in candidates}

    recall = found / (2 * len(photos))
    assert recall >= 0.95, recall
    assert len(candidates) <= matcher.VERIFY


def _file_names() -> list[str]:
    from tests.fixtures_demo import demo_items

    return [p.source.split("/")[-1] for item in demo_items() for p in item.photos]
