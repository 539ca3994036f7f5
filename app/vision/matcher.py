"""The second stage of photo identification, in memory: candidate search, verification, verdict.

`FeatureIndex` holds every active catalog photo as a bag of visual words (`WordIndex`) and the
features of as many photos as the memory budget allows (`FeatureStore`, least recently used out).
For a customer's photo, each view (`app/vision/prepare.py`) and its mirror image ask the word
index for the photos sharing the most words; the best `VERIFY` of them are verified
geometrically (`app/vision/verify.py`), and `decide` turns the inlier counts per SKU into a
verdict whose confidence fits the conversation's bands:

- a card (>= 0.8): at least CARD_INLIERS inliers, MARGIN times as many as any other SKU, and
  the matched keypoints' colours alike (COLOUR_LIMIT: ORB sees grey levels only);
- "is it one of these?" (0.5-0.8): at least ASK_INLIERS inliers, with the SKUs that reach it;
- nothing, otherwise: a wrong card is worse than a question or a manager.

The thresholds come from scripts/vision_robustness.py (customer-style variants of the demo
photos, dev split of the seeds; its table reports the test split).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple

from app.vision.prefilter import WordIndex
from app.vision.verify import verify

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Mapping

    import numpy as np
    from numpy.typing import NDArray

    from app.vision.features import Features
    from app.vision.prepare import View
    from app.vision.vocabulary import Vocabulary

WORD_KEYPOINTS = 300
"""A catalog photo is indexed by the words of its strongest keypoints only (features keep all
500 for verification). Measured with 5,000 distractor photos: the right photo was among the
candidates for 96 % of the verifiable customer photos with 300 words, 93 % with all 500, and
the word index takes 40 % less memory."""
SEARCH_TOP = 8
"""Photos the word index returns per view and orientation."""
VERIFY = 10
"""Candidate photos verified geometrically per customer photo, at most."""
MIN_VERIFY = 4
"""Candidate photos verified in any case (the best by shared words)."""
RELATIVE_SCORE = 0.25
"""Beyond MIN_VERIFY, a candidate is verified if its word score is this share of the best's."""
BOTH_WAYS = 2
"""The best candidates are verified mirrored too when their first orientation fails."""
CARD_INLIERS = 20
"""Inliers from which a verified match is answered with the product card."""
ASK_INLIERS = 10
"""Inliers from which a match is offered among "is it one of these?" candidates."""
MARGIN = 2.0
"""A card needs this many times the inliers of the best other SKU."""
COLOUR_LIMIT = 26
"""A card needs the matched keypoints' colours within this (median chroma difference, 0-255).
Measured on the dev variants: right matches stay under it in 99.5 % of cases, strong colour
casts included; a green quilted sweatshirt matched onto the black quilted jacket was 30-32."""
CARD_CONFIDENCE = 0.8
ASK_CONFIDENCE = 0.5
MAX_CANDIDATES = 3


@dataclass(frozen=True, slots=True)
class CatalogPhoto:
    """One catalog photo as the index knows it."""

    photo_id: int
    sku: str
    words: NDArray[np.int32]
    features: Features | None = None
    """Resident features, or None to load them from the database when needed."""


@dataclass(frozen=True, slots=True)
class Candidate:
    """A photo the word index proposed, with the view and orientation that found it."""

    photo_id: int
    score: float
    view: int
    mirrored: bool
    both_ways: bool = False
    """The other orientation found it too (a symmetric garment): worth verifying both."""


@dataclass(frozen=True)
class FeatureVerdict:
    """What the second stage concluded: `sku` None when nothing was verified well enough."""

    sku: str | None
    confidence: float
    inliers: int = 0
    candidates: list[str] = field(default_factory=list)
    photo_id: int | None = None
    mirrored: bool = False


class FeatureStore:
    """Features by photo id within a byte budget; the least recently used go first.

    Shared by the index generations of one process and used from worker threads: locked.
    """

    def __init__(self, budget_bytes: int) -> None:
        self.budget_bytes = budget_bytes
        self._items: OrderedDict[int, Features] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._items)

    def get(self, photo_id: int) -> Features | None:
        with self._lock:
            found = self._items.get(photo_id)
            if found is not None:
                self._items.move_to_end(photo_id)
            return found

    def put(self, photo_id: int, features: Features) -> bool:
        """Keep `features`, evicting older ones; False when they alone exceed the budget."""
        size = features.nbytes
        with self._lock:
            old = self._items.pop(photo_id, None)
            if old is not None:
                self._bytes -= old.nbytes
            if size > self.budget_bytes:
                return False
            while self._items and self._bytes + size > self.budget_bytes:
                _, evicted = self._items.popitem(last=False)
                self._bytes -= evicted.nbytes
            self._items[photo_id] = features
            self._bytes += size
            return True

    def has_room(self, size: int) -> bool:
        return self._bytes + size <= self.budget_bytes

    def discard(self, photo_ids: Iterable[int]) -> None:
        with self._lock:
            for photo_id in photo_ids:
                old = self._items.pop(photo_id, None)
                if old is not None:
                    self._bytes -= old.nbytes


class FeatureIndex:
    """Catalog photos by visual words, their SKUs, and a store of their features."""

    def __init__(self, vocabulary: Vocabulary, store: FeatureStore) -> None:
        self.vocabulary = vocabulary
        self.store = store
        self.words = WordIndex(vocabulary.size)
        self._sku: dict[int, str] = {}

    def __len__(self) -> int:
        return len(self._sku)

    def __contains__(self, photo_id: object) -> bool:
        return photo_id in self._sku

    @property
    def nbytes(self) -> int:
        """Memory of the word index and the resident features."""
        return self.words.nbytes + self.store.nbytes

    def sku_of(self, photo_id: int) -> str | None:
        return self._sku.get(photo_id)

    def copy(self) -> FeatureIndex:
        """A new generation to change while this one keeps serving (same store)."""
        twin = FeatureIndex(self.vocabulary, self.store)
        twin.words = self.words.copy()
        twin._sku = dict(self._sku)
        return twin

    def add(self, photos: Iterable[CatalogPhoto]) -> None:
        batch = list(photos)
        self.words.add((p.photo_id, p.words[:WORD_KEYPOINTS]) for p in batch)
        for photo in batch:
            self._sku[photo.photo_id] = photo.sku
            if photo.features is not None and self.store.has_room(photo.features.nbytes):
                self.store.put(photo.photo_id, photo.features)

    def remove(self, photo_ids: Iterable[int]) -> None:
        gone = [photo_id for photo_id in photo_ids if self._sku.pop(photo_id, None) is not None]
        self.words.remove(gone)
        self.store.discard(gone)

    def candidates(self, views: list[View]) -> list[Candidate]:
        """The photos worth verifying, best first, each with the view and orientation whose
        words found it; at most VERIFY, fewer when the best stands out."""
        best: dict[int, Candidate] = {}
        for index, view in enumerate(views):
            found_by: dict[int, set[bool]] = {}
            for mirrored, features in ((False, view.features), (True, view.mirrored)):
                if not len(features):
                    continue
                words = self.vocabulary.words(features.descriptors)
                for photo_id, score in self.words.search(words, SEARCH_TOP):
                    found_by.setdefault(photo_id, set()).add(mirrored)
                    if photo_id in best and best[photo_id].score >= score:
                        continue
                    best[photo_id] = Candidate(photo_id, score, index, mirrored)
            for photo_id, ways in found_by.items():
                candidate = best[photo_id]
                if len(ways) == 2 and candidate.view == index:
                    best[photo_id] = replace(candidate, both_ways=True)
        ranked = sorted(best.values(), key=lambda c: (-c.score, c.photo_id))[:VERIFY]
        # Photos sharing far fewer words than the best one seldom verify: the first few are
        # verified in any case (rivals for the margin), the rest only when they come close.
        floor = RELATIVE_SCORE * ranked[0].score if ranked else 0.0
        return [c for rank, c in enumerate(ranked) if rank < MIN_VERIFY or c.score >= floor]


def verify_candidates(
    views: list[View],
    candidates: list[Candidate],
    features_of: Mapping[int, Features],
    sku_of: Callable[[int], str | None],
) -> FeatureVerdict:
    """Verify each candidate with the view and orientation that found it (the best few also the
    other way round), then `decide`."""
    per_sku: dict[str, Best] = {}
    for rank, candidate in enumerate(candidates):
        features = features_of.get(candidate.photo_id)
        sku = sku_of(candidate.photo_id)
        if features is None or sku is None:
            continue
        view = views[candidate.view]
        tries = [candidate.mirrored]
        if rank < BOTH_WAYS and candidate.both_ways:
            # A symmetric garment's words look alike both ways: the orientation that found the
            # photo need not be the one that verifies.
            tries.append(not candidate.mirrored)
        for mirrored in tries:
            found = verify(view.mirrored if mirrored else view.features, features)
            if sku not in per_sku or found.inliers > per_sku[sku].inliers:
                per_sku[sku] = Best(
                    found.inliers, candidate.photo_id, mirrored, found.colour_distance
                )
            if found.inliers >= ASK_INLIERS:
                break
    return decide(per_sku)


class Best(NamedTuple):
    """A SKU's best verified photo."""

    inliers: int
    photo_id: int
    mirrored: bool
    colour_distance: int = 0


def decide(per_sku: Mapping[str, Best]) -> FeatureVerdict:
    """The verdict from the best verified photo of each SKU."""
    ranked = sorted(per_sku.items(), key=lambda item: (-item[1].inliers, item[0]))
    if not ranked or ranked[0][1].inliers < ASK_INLIERS:
        return FeatureVerdict(None, 0.0)
    sku, (best, photo_id, mirrored, colour) = ranked[0]
    second = ranked[1][1].inliers if len(ranked) > 1 else 0
    if best >= CARD_INLIERS and best >= MARGIN * second and colour <= COLOUR_LIMIT:
        # 0.8 at the threshold, 1.0 at twice as many inliers.
        strength = min(1.0, (best - CARD_INLIERS) / CARD_INLIERS)
        confidence = CARD_CONFIDENCE + (1 - CARD_CONFIDENCE) * strength
        return FeatureVerdict(sku, round(confidence, 3), best, [], photo_id, mirrored)
    # Weak or contested: a question with every SKU that reached the threshold, best first.
    asked = [s for s, found in ranked if found.inliers >= ASK_INLIERS][:MAX_CANDIDATES]
    strength = min(best, CARD_INLIERS) - ASK_INLIERS
    confidence = ASK_CONFIDENCE + 0.29 * strength / max(CARD_INLIERS - ASK_INLIERS, 1)
    return FeatureVerdict(sku, round(confidence, 3), best, asked[1:], photo_id, mirrored)


@dataclass(frozen=True)
class Settled:
    """The model-free answer: from the hashes, the second stage, or both."""

    sku: str | None
    confidence: float
    source: str
    """"photo_index", "features" or "none"."""
    candidates: list[str] = field(default_factory=list)


def settle(hash_sku: str | None, hash_confidence: float, verdict: FeatureVerdict | None) -> Settled:
    """One answer from the hash match (if any) and the second stage's verdict (None: not run).

    A verified card wins; otherwise the more confident of the two, with the other's SKU among
    the candidates, so a weak hash match and a weak verification that disagree become a
    question with both.
    """
    if verdict is None or verdict.sku is None:
        if hash_sku is None:
            return Settled(None, 0.0, "none")
        return Settled(hash_sku, hash_confidence, "photo_index")
    if verdict.confidence >= CARD_CONFIDENCE or hash_sku is None:
        return Settled(verdict.sku, verdict.confidence, "features", list(verdict.candidates))
    if hash_sku == verdict.sku:
        confidence = max(hash_confidence, verdict.confidence)
        return Settled(verdict.sku, confidence, "features", list(verdict.candidates))
    if hash_confidence > verdict.confidence:
        others = [verdict.sku, *verdict.candidates]
        return Settled(hash_sku, hash_confidence, "photo_index", others[: MAX_CANDIDATES - 1])
    others = [hash_sku, *(s for s in verdict.candidates if s != hash_sku)]
    return Settled(verdict.sku, verdict.confidence, "features", others[: MAX_CANDIDATES - 1])
