"""Robustness tables of model-free photo identification (issue 3, item 9; issue 17).

The default table (issue 17): customer-style photos of every demo photo (crops, mirror images,
the item on another background, feed and chat screenshots with stickers, a phone photo of a
screen, partial views, colour casts, low light: `CUSTOMER_VARIANTS` in scripts/photo_variants.py)
answered the way the app answers them, by the hash-only path and with the second stage (local
features + geometric verification), side by side. Per transform: correct card, wrong card,
"is it one of these?" with the right product among the candidates, and nothing (or a question
without it). Two more rows: the same photos with their own product removed from both indexes
(a look-alike of a catalog product the shop does not sell: any card is wrong), and photos of
things not in the catalog (`stranger_photos`). The variant seeds are split into `dev` (tune on
it) and `test` (report it): --split.

--hash-sweep gives the first table (issue 3): it indexes every catalog photo's hashes, queries
the hash-tuning variants (`VARIANTS`), sweeps the pHash threshold for each colour-hash rule and
picks the largest threshold below which the wrong-SKU rate (known and unknown products alike)
stays <= 1 %, for every transform if possible; of the colour rules that come within a point of
the best correct rate, the one letting the fewest other-colour look-alikes through (the photo
repainted in other colours with the same grey levels, `in_other_colour`). --threshold N
evaluates one threshold. Deterministic: every variant is drawn from a seed made of the split's
(or --seed's) number, the photo and the transform.

Usage: python -m scripts.vision_robustness [--split dev|test] [--hash-sweep]
       [--threshold N] [--color N|off] [--catalog PATH]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml
from PIL import Image

from app.config import VisionSettings
from app.vision.errors import ImageRejectedError
from app.vision.hashing import PhotoHashes, hash_photo
from app.vision.index import DEFAULT_MAX_COLOR_DISTANCE, IndexEntry, PhotoIndex
from app.vision.matcher import (
    ASK_CONFIDENCE,
    CARD_CONFIDENCE,
    CatalogPhoto,
    FeatureIndex,
    FeatureStore,
    Settled,
    settle,
    verify_candidates,
)
from app.vision.prepare import View, catalog_features, prepare
from app.vision.vocabulary import load_vocabulary
from scripts.photo_variants import (
    CUSTOMER_VARIANTS,
    VARIANTS,
    Shot,
    garment_layers,
    in_other_colour,
    stranger_photos,
    to_telegram_jpeg,
)

DEFAULT_CATALOG = Path("data/catalog/products_master.yaml")
WRONG_BUDGET = 0.01
"""Largest acceptable share of queries answered with a wrong SKU."""
THRESHOLDS = range(0, 25)
TIE_MARGIN = 0.01
"""Correct rates this close count as equal when choosing between rules."""
LOOKALIKE = "same cut, other colour"
COLOR_RULES: tuple[int | None, ...] = (None, 4, 6, 8, 10, 12, 14)
"""Colour-hash distance limits tried by the sweep; None means pHash alone."""


@dataclass(frozen=True)
class Query:
    """The hashes of one variant of one catalog photo (None: the intake refused it)."""

    transform: str
    sku: str
    hashes: PhotoHashes | None


@dataclass
class Tally:
    """Outcomes of one transform's queries."""

    correct: int = 0
    wrong: int = 0
    missing: int = 0
    unknown_queries: int = 0
    unknown_wrong: int = 0

    @property
    def queries(self) -> int:
        return self.correct + self.wrong + self.missing

    def add(self, other: Tally) -> None:
        self.correct += other.correct
        self.wrong += other.wrong
        self.missing += other.missing
        self.unknown_queries += other.unknown_queries
        self.unknown_wrong += other.unknown_wrong

    @property
    def wrong_rate(self) -> float:
        return self.wrong / max(self.queries, 1)

    @property
    def unknown_rate(self) -> float:
        return self.unknown_wrong / max(self.unknown_queries, 1)

    @property
    def correct_rate(self) -> float:
        return self.correct / max(self.queries, 1)

    def within_budget(self) -> bool:
        return self.wrong_rate <= WRONG_BUDGET and self.unknown_rate <= WRONG_BUDGET


def load_catalog(path: Path) -> list[tuple[str, Path]]:
    """(sku, photo path) of every photo of every product in the catalog YAML."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    photos: list[tuple[str, Path]] = []
    for product in document["products"]:
        for photo in product.get("photos") or []:
            photos.append((str(product["sku"]), path.parent / photo))
    return photos


def build_queries(
    photos: list[tuple[str, Path]], settings: VisionSettings, seed: int
) -> tuple[list[IndexEntry], list[Query], list[Query]]:
    """Index entries of the originals, the hashed variants of each, and the hashed look-alikes
    (each photo in other colours, see `in_other_colour`), all via `hash_photo`."""
    entries: list[IndexEntry] = []
    queries: list[Query] = []
    lookalikes: list[Query] = []
    for photo_id, (sku, path) in enumerate(photos, start=1):
        data = path.read_bytes()
        hashes = hash_photo(data, max_bytes=settings.max_bytes, max_pixels=settings.max_pixels)
        entries.append(IndexEntry(photo_id, sku, hashes.phash, hashes.colorhash))
        with Image.open(path) as opened:
            original = opened.convert("RGB")
        for variant in VARIANTS:
            rng = random.Random(f"{seed}:{path.name}:{variant.name}")
            sent = variant.make(original, rng)
            try:
                got: PhotoHashes | None = hash_photo(
                    sent, max_bytes=settings.max_bytes, max_pixels=settings.max_pixels
                )
            except ImageRejectedError:
                got = None
            queries.append(Query(variant.name, sku, got))
        recoloured = in_other_colour(original)
        if recoloured is not None:
            sent = to_telegram_jpeg(recoloured)
            lookalike = hash_photo(
                sent, max_bytes=settings.max_bytes, max_pixels=settings.max_pixels
            )
            lookalikes.append(Query(LOOKALIKE, sku, lookalike))
    return entries, queries, lookalikes


class Evaluator:
    """Runs the queries against the full index and against the index without their product."""

    def __init__(
        self, entries: list[IndexEntry], queries: list[Query], lookalikes: list[Query]
    ) -> None:
        self.queries = queries
        self.lookalikes = lookalikes
        self.full = PhotoIndex.build(entries)
        self.without: dict[str, PhotoIndex] = {}
        for sku in {e.sku for e in entries}:
            index = PhotoIndex.build(entries)
            index.remove_sku(sku)
            self.without[sku] = index

    def run(self, threshold: int, color: int | None) -> dict[str, Tally]:
        tallies: dict[str, Tally] = defaultdict(Tally)
        for query in self.queries:
            tally = tallies[query.transform]
            tally.unknown_queries += 1
            if query.hashes is None:
                tally.missing += 1
                continue
            match = self.full.nearest(query.hashes, threshold, max_color_distance=color)
            if match is None:
                tally.missing += 1
            elif match.sku == query.sku:
                tally.correct += 1
            else:
                tally.wrong += 1
            stranger = self.without[query.sku].nearest(
                query.hashes, threshold, max_color_distance=color
            )
            tally.unknown_wrong += stranger is not None
        return dict(tallies)

    def lookalike_rate(self, threshold: int, color: int | None) -> float:
        """Share of look-alikes in another colour that the index calls a catalog product."""
        hits = sum(
            self.full.nearest(q.hashes, threshold, max_color_distance=color) is not None
            for q in self.lookalikes
            if q.hashes is not None
        )
        return hits / max(len(self.lookalikes), 1)


def overall(tallies: dict[str, Tally]) -> Tally:
    total = Tally()
    for tally in tallies.values():
        total.add(tally)
    return total


def pick_threshold(evaluator: Evaluator, color: int | None, *, strict: bool) -> int:
    """The largest threshold up to which the wrong-SKU rates stay within budget: overall, or
    with `strict` for every transform on its own. -1 if even 0 is over budget.

    pHash distances are even (the hash sets exactly the 32 bits above the median), so of two
    thresholds with the same outcome the smaller is returned.
    """

    def fits(threshold: int) -> bool:
        tallies = evaluator.run(threshold, color)
        if strict:
            return all(t.within_budget() for t in tallies.values())
        return overall(tallies).within_budget()

    chosen = -1
    for threshold in THRESHOLDS:
        if not fits(threshold):
            break
        chosen = threshold
    while chosen > 0 and evaluator.run(chosen - 1, color) == evaluator.run(chosen, color):
        chosen -= 1
    return chosen


def _pct(value: float) -> str:
    return f"{100 * value:5.1f} %"


def print_table(evaluator: Evaluator, threshold: int, color: int | None) -> None:
    tallies = evaluator.run(threshold, color)
    rule = "off" if color is None else f"<= {color}"
    print(f"\npHash distance <= {threshold}, colour-hash distance {rule}")
    header = f"| {'transform':<22} | {'n':>4} | {'correct':>7} | {'wrong SKU':>9} | "
    header += f"{'not found':>9} | {'unknown product → some SKU':>26} |"
    print(header)
    print("|" + "|".join("-" * (len(c)) for c in header.split("|")[1:-1]) + "|")
    rows = [*((v.name, tallies[v.name]) for v in VARIANTS), ("ALL", overall(tallies))]
    for name, t in rows:
        print(
            f"| {name:<22} | {t.queries:>4} | {_pct(t.correct_rate):>7} | "
            f"{_pct(t.wrong_rate):>9} | {_pct(t.missing / max(t.queries, 1)):>9} | "
            f"{_pct(t.unknown_rate):>26} |"
        )
    lookalike = _pct(evaluator.lookalike_rate(threshold, color))
    n = len(evaluator.lookalikes)
    print(f"| {LOOKALIKE:<22} | {n:>4} | {'':>7} | {'':>9} | {'':>9} | {lookalike:>26} |")


def print_sweep(evaluator: Evaluator) -> None:
    print(
        "\nSweep, all transforms: correct / wrong SKU / unknown product → some SKU / "
        "same cut in other colour → its SKU, in %"
    )
    names = ["off" if c is None else f"colour<={c}" for c in COLOR_RULES]
    print("| pHash<= | " + " | ".join(f"{n:^19}" for n in names) + " |")
    print("|---------|" + "|".join("-" * 21 for _ in names) + "|")
    for threshold in THRESHOLDS:
        cells = []
        for color in COLOR_RULES:
            t = overall(evaluator.run(threshold, color))
            look = evaluator.lookalike_rate(threshold, color)
            cells.append(
                f"{100 * t.correct_rate:.0f}/{100 * t.wrong_rate:.1f}/"
                f"{100 * t.unknown_rate:.1f}/{100 * look:.0f}"
            )
        print(f"| {threshold:>7} | " + " | ".join(f"{c:^19}" for c in cells) + " |")


# The second stage (issue 17) ------------------------------------------------------------------
#
# Customer-style photos (`CUSTOMER_VARIANTS`) of every demo photo and photos of things the shop
# does not sell (`stranger_photos`), answered by the hash-only path and by the model-free path
# with the second stage (local features + geometric verification), as the app answers them.
# The variant seeds are split: tune on `dev`, report `test`.

SPLITS: dict[str, tuple[int, ...]] = {"dev": (1701, 1702), "test": (1801, 1802)}
STRANGERS = "not in the catalog"


@dataclass(frozen=True)
class CustomerQuery:
    """One customer-style photo, hashed and prepared by the app's own path (None: refused)."""

    transform: str
    sku: str | None
    hashes: PhotoHashes | None
    views: list[View] | None


@dataclass
class Outcomes:
    """How one path answered one transform's photos."""

    card_right: int = 0
    card_wrong: int = 0
    asked_right: int = 0
    asked_other: int = 0
    nothing: int = 0

    @property
    def total(self) -> int:
        return (
            self.card_right + self.card_wrong + self.asked_right + self.asked_other + self.nothing
        )

    def add(self, other: Outcomes) -> None:
        for name in ("card_right", "card_wrong", "asked_right", "asked_other", "nothing"):
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def count(self, answer: Settled, sku: str | None, high: float, low: float) -> None:
        if answer.sku is not None and answer.confidence >= high:
            if answer.sku == sku:
                self.card_right += 1
            else:
                self.card_wrong += 1
        elif answer.sku is not None and answer.confidence >= low:
            if sku is not None and sku in (answer.sku, *answer.candidates):
                self.asked_right += 1
            else:
                self.asked_other += 1
        else:
            self.nothing += 1


def catalog_entries(
    photos: list[tuple[str, Path]], settings: VisionSettings
) -> tuple[list[IndexEntry], list[CatalogPhoto]]:
    """Hash and feature entries of every catalog photo, as the importer computes them."""
    vocabulary = load_vocabulary()
    hashed: list[IndexEntry] = []
    featured: list[CatalogPhoto] = []
    for photo_id, (sku, path) in enumerate(photos, start=1):
        data = path.read_bytes()
        hashes = hash_photo(data, max_bytes=settings.max_bytes, max_pixels=settings.max_pixels)
        hashed.append(IndexEntry(photo_id, sku, hashes.phash, hashes.colorhash))
        features = catalog_features(
            data, max_bytes=settings.max_bytes, max_pixels=settings.max_pixels
        )
        words = vocabulary.words(features.descriptors)
        featured.append(CatalogPhoto(photo_id, sku, words, features))
    return hashed, featured


def _prepared(
    transform: str, sku: str | None, data: bytes, settings: VisionSettings
) -> CustomerQuery:
    limits = {"max_bytes": settings.max_bytes, "max_pixels": settings.max_pixels}
    try:
        return CustomerQuery(transform, sku, hash_photo(data, **limits), prepare(data, **limits))
    except ImageRejectedError:
        return CustomerQuery(transform, sku, None, None)


def customer_queries(
    photos: list[tuple[str, Path]], settings: VisionSettings, seeds: tuple[int, ...]
) -> tuple[list[CustomerQuery], list[CustomerQuery]]:
    """The customer-style variants of every catalog photo and the photos of strangers, for
    every seed of a split."""
    layers = garment_layers(DEFAULT_CATALOG) if photos else {}
    queries: list[CustomerQuery] = []
    strangers: list[CustomerQuery] = []
    for seed in seeds:
        for sku, path in photos:
            with Image.open(path) as opened:
                shot = Shot(opened.convert("RGB"), layers.get(path.name))
            for variant in CUSTOMER_VARIANTS:
                if variant.needs_garment and shot.garment is None:
                    continue
                rng = random.Random(f"{seed}:{path.name}:{variant.name}")
                queries.append(_prepared(variant.name, sku, variant.make(shot, rng), settings))
        for _name, data in stranger_photos(seed):
            strangers.append(_prepared(STRANGERS, None, data, settings))
    return queries, strangers


class SecondStageEvaluator:
    """Answers customer queries by the hash-only path and with the second stage, with the full
    index and with the query's own product removed from both indexes."""

    def __init__(self, hashed: list[IndexEntry], featured: list[CatalogPhoto]) -> None:
        self.hash_full = PhotoIndex.build(hashed)
        self.features_full = FeatureIndex(load_vocabulary(), FeatureStore(1 << 30))
        self.features_full.add(featured)
        self.photos = {p.photo_id: p.features for p in featured if p.features is not None}
        self.without: dict[str, tuple[PhotoIndex, FeatureIndex]] = {}
        for sku in {e.sku for e in hashed}:
            hash_index = PhotoIndex.build(hashed)
            hash_index.remove_sku(sku)
            feature_index = self.features_full.copy()
            feature_index.remove(p.photo_id for p in featured if p.sku == sku)
            self.without[sku] = (hash_index, feature_index)

    def answer(
        self,
        query: CustomerQuery,
        settings: VisionSettings,
        *,
        second_stage: bool,
        without_own: bool = False,
    ) -> Settled:
        if query.hashes is None or query.views is None:
            return Settled(None, 0.0, "none")
        hash_index, feature_index = self.hash_full, self.features_full
        if without_own and query.sku is not None:
            hash_index, feature_index = self.without[query.sku]
        match = hash_index.nearest(
            query.hashes,
            settings.match_max_distance,
            max_color_distance=settings.match_max_color_distance,
        )
        hash_sku = None if match is None else match.sku
        hash_confidence = 0.0 if match is None else match.confidence
        if not second_stage or hash_confidence >= CARD_CONFIDENCE:
            return settle(hash_sku, hash_confidence, None)
        candidates = feature_index.candidates(query.views)
        verdict = verify_candidates(query.views, candidates, self.photos, feature_index.sku_of)
        return settle(hash_sku, hash_confidence, verdict)


def print_second_stage(
    evaluator: SecondStageEvaluator,
    queries: list[CustomerQuery],
    strangers: list[CustomerQuery],
    settings: VisionSettings,
    split: str,
) -> None:
    """The table: per transform, hash-only next to the second stage."""
    high, low = CARD_CONFIDENCE, ASK_CONFIDENCE
    paths = (False, True)
    known: dict[str, dict[bool, Outcomes]] = defaultdict(lambda: {p: Outcomes() for p in paths})
    unknown = {p: Outcomes() for p in paths}
    for query in queries:
        for second in paths:
            known[query.transform][second].count(
                evaluator.answer(query, settings, second_stage=second), query.sku, high, low
            )
            unknown[second].count(
                evaluator.answer(query, settings, second_stage=second, without_own=True),
                None,
                high,
                low,
            )
    outside = {p: Outcomes() for p in paths}
    for query in strangers:
        for second in paths:
            outside[second].count(
                evaluator.answer(query, settings, second_stage=second), None, high, low
            )
    print(
        f"\nCustomer-style photos, split {split!r} (seeds {SPLITS[split]}): hash-only path | "
        "with the second stage. card = confidence >= 0.8; asked = 0.5-0.8 with the right "
        "product among the candidates"
    )
    header = (
        f"| {'transform':<28} | {'n':>4} | {'correct':>7} | {'wrong':>7} | {'asked':>7} | "
        f"{'none':>7} || {'correct':>7} | {'wrong':>7} | {'asked':>7} | {'none':>7} |"
    )
    print(header)
    print("|" + "|".join("-" * len(c) for c in header.split("|")[1:-1]) + "|")

    def cells(o: Outcomes, *, stranger: bool = False) -> str:
        n = max(o.total, 1)
        asked = o.asked_other if stranger else o.asked_right
        none = o.nothing if stranger else o.nothing + o.asked_other
        return (
            f"{_pct(o.card_right / n):>7} | {_pct(o.card_wrong / n):>7} | "
            f"{_pct(asked / n):>7} | {_pct(none / n):>7}"
        )

    total = {p: Outcomes() for p in paths}
    rows = [(v.name, known[v.name]) for v in CUSTOMER_VARIANTS if v.name in known]
    for name, outcomes in rows:
        for p in paths:
            total[p].add(outcomes[p])
        n = outcomes[False].total
        print(f"| {name:<28} | {n:>4} | {cells(outcomes[False])} || {cells(outcomes[True])} |")
    n = total[False].total
    print(f"| {'ALL':<28} | {n:>4} | {cells(total[False])} || {cells(total[True])} |")
    for label, group in (("its product not in the index", unknown), (STRANGERS, outside)):
        n = group[False].total
        row = f"{cells(group[False], stranger=True)} || {cells(group[True], stranger=True)}"
        print(f"| {label:<28} | {n:>4} | {row} |")
    print(
        '(in the last two rows every card is a wrong product; "asked" there is a question '
        "with wrong candidates, which the customer can decline)"
    )


def second_stage_table(catalog: Path, split: str) -> int:
    """Print the customer-style table of a split: hash-only path next to the second stage."""
    started = time.perf_counter()
    settings = VisionSettings()
    photos = load_catalog(catalog)
    hashed, featured = catalog_entries(photos, settings)
    queries, strangers = customer_queries(photos, settings, SPLITS[split])
    print(
        f"{len(photos)} catalog photos, {len(queries)} customer-style photos "
        f"({len(CUSTOMER_VARIANTS)} transforms x {len(SPLITS[split])} seeds), "
        f"{len(strangers)} photos of things not in the catalog, "
        f"made in {time.perf_counter() - started:.0f} s"
    )
    evaluator = SecondStageEvaluator(hashed, featured)
    print_second_stage(evaluator, queries, strangers, settings, split)
    print(f"done in {time.perf_counter() - started:.0f} s")
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--catalog", type=Path, default=DEFAULT_CATALOG)
    parser.add_argument("--split", choices=sorted(SPLITS), default="test")
    parser.add_argument(
        "--hash-sweep", action="store_true", help="tune the hash thresholds (the first table)"
    )
    parser.add_argument("--threshold", type=int, help="evaluate this pHash threshold only")
    parser.add_argument(
        "--color",
        default=str(DEFAULT_MAX_COLOR_DISTANCE),
        help="colour-hash distance limit with --threshold, or 'off' (default: the app's)",
    )
    parser.add_argument("--seed", type=int, default=20240601)
    args = parser.parse_args(argv)
    if not args.hash_sweep and args.threshold is None:
        return second_stage_table(args.catalog, args.split)
    started = time.perf_counter()
    photos = load_catalog(args.catalog)
    entries, queries, lookalikes = build_queries(photos, VisionSettings(), args.seed)
    skus = len({e.sku for e in entries})
    print(
        f"{len(entries)} catalog photos of {skus} products, {len(queries)} variants "
        f"({len(VARIANTS)} transforms), {len(lookalikes)} look-alikes in other colours, "
        f"hashed in {time.perf_counter() - started:.1f} s"
    )
    evaluator = Evaluator(entries, queries, lookalikes)

    if args.threshold is not None:
        color = None if args.color == "off" else int(args.color)
        print_table(evaluator, args.threshold, color)
        return 0

    print_sweep(evaluator)
    picks: list[tuple[float, int, int | None]] = []
    for strict in (True, False):
        scope = "every transform" if strict else "all transforms together"
        print(f"\nLargest pHash threshold with wrong-SKU rates <= {WRONG_BUDGET:.0%} ({scope}):")
        for color in COLOR_RULES:
            rule = "off" if color is None else f"<= {color}"
            threshold = pick_threshold(evaluator, color, strict=strict)
            if threshold < 0:
                print(f"  colour {rule:>5}: none")
                continue
            t = overall(evaluator.run(threshold, color))
            print(
                f"  colour {rule:>5}: pHash <= {threshold:>2}  correct {_pct(t.correct_rate)}  "
                f"wrong {_pct(t.wrong_rate)}  unknown→SKU {_pct(t.unknown_rate)}"
            )
            picks.append((t.correct_rate, threshold, color))
        # The strict rule wins when it yields anything: a transform that fails on its own is a
        # kind of photo customers send that would get a wrong answer.
        if picks:
            break
    if not picks:
        print("no threshold keeps the wrong-SKU rate within budget")
        return 1
    # Of the rules within a point of the best correct rate: the one that lets the fewest
    # look-alikes in other colours through (the reason for a colour hash), then the smallest
    # pHash threshold (random pairs of photos fall within 14 bits ~15x as often as within 12,
    # which matters more in a catalog of 100,000 photos than in this one).
    top = max(p[0] for p in picks)
    _, threshold, color = min(
        (p for p in picks if p[0] >= top - TIE_MARGIN),
        key=lambda p: (evaluator.lookalike_rate(p[1], p[2]), p[1], -p[0]),
    )
    print_table(evaluator, threshold, color)
    if color is not None:
        with_color = overall(evaluator.run(threshold, color))
        alone = overall(evaluator.run(threshold, None))
        print(
            f"\ncolour hash at pHash <= {threshold}: correct {_pct(alone.correct_rate)} -> "
            f"{_pct(with_color.correct_rate)}, wrong SKU {_pct(alone.wrong_rate)} -> "
            f"{_pct(with_color.wrong_rate)}, unknown→SKU {_pct(alone.unknown_rate)} -> "
            f"{_pct(with_color.unknown_rate)}, other colour→SKU "
            f"{_pct(evaluator.lookalike_rate(threshold, None))} -> "
            f"{_pct(evaluator.lookalike_rate(threshold, color))}"
        )
    rule = "off" if color is None else str(color)
    print(f"\nchosen threshold: {threshold} (colour-hash distance {rule})")
    print(f"done in {time.perf_counter() - started:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
