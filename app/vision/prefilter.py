"""Candidate search: which catalog photos share the most visual words with the customer's photo?

Every photo is a bag of visual words (`app/vision/vocabulary.py`) weighted by tf-idf, and the
index is inverted: for each word, the photos that have it and how often. A query gathers the
postings of its words only, so its cost grows with how common its words are, not with the
catalog (measured: under a millisecond at 1,000 photos, ~10 ms at 100,000, see `make bench`).
Words found in more than `STOP_SHARE` of the photos say little and are skipped.

The postings are kept in segments (word-sorted arrays): adding photos writes a new small
segment, removing one clears its slot, and `compact()` merges everything into one segment
again, so a catalog change costs in proportion to what changed (plus one pass over the postings
to renew the photos' norms, see `prepare`). Not thread-safe: one writer at
a time, and no search while it writes (the caller swaps whole copies, see `copy()`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from collections.abc import Iterable

    from numpy.typing import NDArray

STOP_SHARE = 0.1
"""Words in more than this share of the photos are not looked up (when there are 50 or more)."""
_MIN_PHOTOS_FOR_STOP_WORDS = 50
# Merge the segments when there are more than this many, or this share of slots is dead.
_MAX_SEGMENTS = 8
_MAX_DEAD_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class _Segment:
    """Postings of a batch of photos: for word w, `slots[offsets[w]:offsets[w + 1]]` are the
    photos' slots and `counts[...]` how many of their keypoints fell on w (capped at 255)."""

    offsets: NDArray[np.int64]
    slots: NDArray[np.int32]
    counts: NDArray[np.uint8]

    @property
    def nbytes(self) -> int:
        return int(self.offsets.nbytes + self.slots.nbytes + self.counts.nbytes)

    @classmethod
    def build(
        cls,
        vocabulary_size: int,
        words: NDArray[np.int64],
        slots: NDArray[np.int32],
        counts: NDArray[np.uint8],
    ) -> _Segment:
        order = np.lexsort((slots, words))
        words, slots, counts = words[order], slots[order], counts[order]
        offsets = np.zeros(vocabulary_size + 1, dtype=np.int64)
        np.cumsum(np.bincount(words, minlength=vocabulary_size), out=offsets[1:])
        return cls(offsets, np.ascontiguousarray(slots), np.ascontiguousarray(counts))

    def postings(self) -> tuple[NDArray[np.int64], NDArray[np.int32], NDArray[np.uint8]]:
        """(word, slot, count) of every posting."""
        words = np.repeat(np.arange(self.offsets.size - 1, dtype=np.int64), np.diff(self.offsets))
        return words, self.slots, self.counts


def _bag(
    words: NDArray[np.integer], vocabulary_size: int
) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """The distinct words of a picture and how many keypoints fell on each."""
    values = np.asarray(words, dtype=np.int64)
    if values.size and (values.min() < 0 or values.max() >= vocabulary_size):
        raise ValueError("word id outside the vocabulary")
    distinct, counts = np.unique(values, return_counts=True)
    return distinct, counts


class WordIndex:
    """Photos by their visual words; `search` ranks them by tf-idf cosine similarity."""

    def __init__(self, vocabulary_size: int) -> None:
        self.vocabulary_size = vocabulary_size
        self._segments: list[_Segment] = []
        self._slot_of: dict[int, int] = {}
        self._photo = np.zeros(0, dtype=np.int64)
        self._alive = np.zeros(0, dtype=np.bool_)
        self._norm = np.zeros(0, dtype=np.float32)
        self._df = np.zeros(vocabulary_size, dtype=np.int32)
        self._stale = False

    def __len__(self) -> int:
        return len(self._slot_of)

    def __contains__(self, photo_id: object) -> bool:
        return photo_id in self._slot_of

    @property
    def nbytes(self) -> int:
        """Memory held by the postings and the per-photo arrays (the dict of ids not counted)."""
        arrays = self._photo.nbytes + self._alive.nbytes + self._norm.nbytes + self._df.nbytes
        return int(arrays + sum(s.nbytes for s in self._segments))

    def copy(self) -> WordIndex:
        """An independent index with the same photos (segments are shared: they never change)."""
        twin = WordIndex(self.vocabulary_size)
        twin._segments = list(self._segments)
        twin._slot_of = dict(self._slot_of)
        twin._photo = self._photo.copy()
        twin._alive = self._alive.copy()
        twin._norm = self._norm.copy()
        twin._df = self._df.copy()
        twin._stale = self._stale
        return twin

    def add(self, photos: Iterable[tuple[int, NDArray[np.integer]]]) -> None:
        """Add (photo_id, word ids of its keypoints) pairs as one new segment; a photo already
        in the index is replaced."""
        batch = list(photos)
        if not batch:
            return
        self.remove(photo_id for photo_id, _ in batch)
        start = self._photo.size
        bags = [_bag(words, self.vocabulary_size) for _, words in batch]
        self._photo = np.concatenate((self._photo, [photo_id for photo_id, _ in batch]))
        self._alive = np.concatenate((self._alive, np.ones(len(batch), dtype=np.bool_)))
        for i, (photo_id, _) in enumerate(batch):
            self._slot_of[photo_id] = start + i
        words = np.concatenate([distinct for distinct, _ in bags]).astype(np.int64)
        counts = np.concatenate([c for _, c in bags])
        slots = np.repeat(
            np.arange(start, start + len(batch), dtype=np.int32), [d.size for d, _ in bags]
        )
        np.add.at(self._df, words, 1)
        self._segments.append(
            _Segment.build(
                self.vocabulary_size, words, slots, np.minimum(counts, 255).astype(np.uint8)
            )
        )
        self._norm = np.concatenate((self._norm, np.zeros(len(batch), dtype=np.float32)))
        self._stale = True
        if len(self._segments) > _MAX_SEGMENTS:
            self.compact()

    def remove(self, photo_ids: Iterable[int]) -> int:
        """Drop these photos (unknown ids are ignored); returns how many were dropped."""
        dropped = [
            self._slot_of.pop(photo_id) for photo_id in photo_ids if photo_id in self._slot_of
        ]
        if not dropped:
            return 0
        slots = np.array(dropped, dtype=np.int32)
        for segment in self._segments:
            words, seg_slots, _ = segment.postings()
            gone = np.isin(seg_slots, slots)
            if gone.any():
                np.subtract.at(self._df, words[gone], 1)
        self._alive[slots] = False
        self._stale = True
        if self._photo.size and 1 - len(self._slot_of) / self._photo.size > _MAX_DEAD_SHARE:
            self.compact()
        return len(dropped)

    def compact(self) -> None:
        """Merge all segments into one, dropping removed photos and renumbering the slots."""
        parts = [segment.postings() for segment in self._segments]
        if not parts:
            return
        words = np.concatenate([p[0] for p in parts])
        slots = np.concatenate([p[1] for p in parts])
        counts = np.concatenate([p[2] for p in parts])
        keep = self._alive[slots]
        words, slots, counts = words[keep], slots[keep], counts[keep]
        renumber = np.cumsum(self._alive, dtype=np.int64) - 1
        slots = renumber[slots].astype(np.int32)
        self._photo = self._photo[self._alive]
        self._alive = np.ones(self._photo.size, dtype=np.bool_)
        self._slot_of = {int(photo_id): i for i, photo_id in enumerate(self._photo.tolist())}
        self._df = np.bincount(words, minlength=self.vocabulary_size).astype(np.int32)
        self._segments = [_Segment.build(self.vocabulary_size, words, slots, counts)]
        self._norm = np.zeros(self._photo.size, dtype=np.float32)
        self._stale = True

    def prepare(self) -> None:
        """Recompute the photos' norms for the current idf (after adds and removes, before the
        index serves: `search` does it too, but a generation shared by threads should not)."""
        if not self._stale:
            return
        idf = self._idf()
        norm = np.zeros(self._photo.size, dtype=np.float64)
        for segment in self._segments:
            words, slots, counts = segment.postings()
            weights = (counts.astype(np.float64) * idf[words]) ** 2
            norm += np.bincount(slots, weights, minlength=norm.size)
        self._norm = np.sqrt(norm).astype(np.float32)
        self._stale = False

    def _idf(self) -> NDArray[np.float32]:
        """log(1 + N / df): positive for every word in use, so one photo alone is found too."""
        live = max(len(self._slot_of), 1)
        df = np.maximum(self._df, 1).astype(np.float32)
        return np.log1p(live / df).astype(np.float32)

    def search(self, words: NDArray[np.integer], top: int) -> list[tuple[int, float]]:
        """Up to `top` (photo_id, score) pairs, best first; score is the cosine of the tf-idf
        vectors, in (0, 1]. Photos sharing no word with the query are not returned."""
        live = len(self._slot_of)
        if live == 0 or words.size == 0 or top <= 0:
            return []
        self.prepare()
        distinct, counts = _bag(words, self.vocabulary_size)
        idf = self._idf()
        if live >= _MIN_PHOTOS_FOR_STOP_WORDS:
            useful = self._df[distinct] <= STOP_SHARE * live
            distinct, counts = distinct[useful], counts[useful]
        idf_of_query = idf[distinct].astype(np.float64)
        query_norm = float(np.sqrt(np.sum((counts * idf_of_query) ** 2)))
        if query_norm == 0:
            return []
        weights = counts * idf_of_query**2
        scores = np.zeros(self._photo.size, dtype=np.float64)
        for segment in self._segments:
            starts = segment.offsets[distinct]
            lengths = segment.offsets[distinct + 1] - starts
            total = int(lengths.sum())
            if total == 0:
                continue
            # Indices of every posting of the query's words, without a Python loop over words.
            ends = np.cumsum(lengths)
            index = np.arange(total, dtype=np.int64) + np.repeat(starts - (ends - lengths), lengths)
            contribution = np.repeat(weights, lengths) * segment.counts[index]
            scores += np.bincount(segment.slots[index], contribution, minlength=scores.size)
        scores[~self._alive] = 0
        with np.errstate(divide="ignore", invalid="ignore"):
            scores = np.where(self._norm > 0, scores / (self._norm * query_norm), 0)
        found = np.flatnonzero(scores > 0)
        if found.size > top:
            found = found[np.argpartition(-scores[found], top - 1)[:top]]
        ranked = found[np.argsort(-scores[found], kind="stable")]
        return [(int(self._photo[i]), float(scores[i])) for i in ranked]
