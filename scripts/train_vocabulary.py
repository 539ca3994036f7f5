"""Train the visual-word tree of the candidate search (`app/vision/vocabulary.py`).

The training pictures are things the shop does not sell, so the words are not fitted to the demo
catalog the robustness table measures: garments of made-up products drawn by the demo photo
generator (random cuts, colours and fabrics, on their backdrops or on other backgrounds),
textures and random scenes. Each goes through the app's own path (Telegram-like JPEG, safe
decode at FEATURE_SIDE, ORB), as it is and mirrored. The tree is hierarchical k-majority
clustering (k-means for binary descriptors: each centre is the bitwise majority of its members),
seeded k-means++ style. Deterministic for a given --seed.

Usage: python -m scripts.train_vocabulary [--branching 128] [--depth 2] [--images 900] [--out PATH]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

import numpy as np

from app.vision.features import FEATURE_SIDE, extract
from app.vision.intake import decode_image
from app.vision.vocabulary import VOCABULARY_FILE, Vocabulary
from scripts import generate_demo_photos as demo
from scripts.photo_variants import (
    Shot,
    background,
    on_other_background,
    scene_picture,
    texture_picture,
    to_telegram_jpeg,
)

CATEGORIES = (
    *("худі", "світшоти", "футболки", "сукні", "спідниці", "штани", "джинси", "шорти"),
    *("куртки", "пальта", "кардигани", "сорочки", "костюми", "піжами", "легінси"),
)
FABRIC_WORDS = (
    *("", "", "плюш", "велюр", "стьобана", "в'язаний", "сатин", "вертикальний рубчик"),
    *("горох", "дрібний горох", "клітинка", "смужка", "широка смужка", "джинс", "льон"),
)
DETAIL_WORDS = (
    *("капюшон", "блискавка", "кишені", "кенгуру", "ґудзики", "комір", "пояс", "манжети"),
    *("лампаси", "шнурок", "коротка", "міді", "широкі", "кльош", "оверсайз", "принт"),
)


def made_up_garment(rng: random.Random, index: int) -> demo.Product:
    """A product of random category, colour, fabric and details for the demo generator."""
    words = [rng.choice(FABRIC_WORDS), *rng.sample(DETAIL_WORDS, rng.randint(0, 3))]
    text = " ".join(w for w in words if w)
    return demo.Product(
        sku=f"VOC-{index:05d}",
        name=text,
        category=rng.choice(CATEGORIES),
        colours=(rng.choice(list(demo.COLOURS)),),
        tags=tuple(words),
        text=text,
        photos=("front.png", "back.png"),
    )


def training_pictures(count: int, seed: int) -> list[bytes]:
    """`count` JPEGs: two in three garments, the rest textures, scenes and backgrounds."""
    rng = random.Random(seed)
    pictures: list[bytes] = []
    for i in range(count):
        kind = i % 6
        if kind < 4:
            product = made_up_garment(rng, i)
            view = rng.randint(0, 1)
            variant = rng.randint(0, 10_000)
            photo = demo.render(product, view, variant)
            if kind == 3:
                garment = demo.garment_layer(product, view, variant)
                pictures.append(on_other_background(Shot(photo, garment), rng))
            else:
                pictures.append(to_telegram_jpeg(photo))
        elif kind == 4:
            pictures.append(
                to_telegram_jpeg(texture_picture(rng) if rng.random() < 0.5 else scene_picture(rng))
            )
        else:
            pictures.append(to_telegram_jpeg(background(rng, (1280, 960))))
    return pictures


def descriptors_of(pictures: list[bytes]) -> np.ndarray:
    """ORB descriptors of every picture and of its mirror image, by the app's path."""
    found = []
    for data in pictures:
        img = decode_image(data, max_bytes=1 << 26, max_pixels=1 << 26, max_side=FEATURE_SIDE)
        grey = np.asarray(img.convert("L"))
        for picture in (grey, np.ascontiguousarray(grey[:, ::-1])):
            found.append(extract(picture).descriptors)
    return np.concatenate(found)


def _distances(descriptors: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """(n, k) Hamming distances, in blocks so the temporary array stays small."""
    a = descriptors.view(np.uint64)
    b = centres.view(np.uint64)
    out = np.empty((a.shape[0], b.shape[0]), dtype=np.int32)
    step = max(1, 2_000_000 // max(1, b.shape[0]))
    for start in range(0, a.shape[0], step):
        block = a[start : start + step]
        out[start : start + step] = np.bitwise_count(block[:, None, :] ^ b[None]).sum(axis=2)
    return out


def k_majority(
    descriptors: np.ndarray, k: int, rng: np.random.Generator, iterations: int = 10
) -> np.ndarray:
    """`k` binary centres of `descriptors` ((n, 32) uint8)."""
    n = descriptors.shape[0]
    if n == 0:
        return np.zeros((k, 32), dtype=np.uint8)
    if n <= k:
        repeated: np.ndarray = descriptors[np.arange(k) % n].copy()
        return repeated
    # k-means++ seeding: each next centre far from the ones chosen so far.
    chosen = [int(rng.integers(n))]
    nearest = _distances(descriptors, descriptors[chosen]).min(axis=1).astype(np.float64)
    for _ in range(1, k):
        weights = nearest**2
        total = weights.sum()
        pick = int(rng.choice(n, p=weights / total)) if total > 0 else int(rng.integers(n))
        chosen.append(pick)
        nearest = np.minimum(nearest, _distances(descriptors, descriptors[[pick]])[:, 0])
    centres = descriptors[chosen].copy()
    bits = np.unpackbits(descriptors, axis=1)
    for _ in range(iterations):
        assignment = _distances(descriptors, centres).argmin(axis=1)
        updated = centres.copy()
        for j in range(k):
            members = bits[assignment == j]
            if members.shape[0]:
                updated[j] = np.packbits(members.mean(axis=0) >= 0.5)
        if np.array_equal(updated, centres):
            break
        centres = updated
    return centres


def train(descriptors: np.ndarray, branching: int, depth: int, seed: int) -> Vocabulary:
    """The tree: each level clusters the members of every node of the level above."""
    rng = np.random.default_rng(seed)
    groups = [descriptors]
    levels = []
    for _ in range(depth):
        centres_of_level = []
        next_groups = []
        for group in groups:
            centres = k_majority(group, branching, rng)
            centres_of_level.append(centres)
            assignment = _distances(group, centres).argmin(axis=1) if group.shape[0] else None
            for j in range(branching):
                next_groups.append(group[assignment == j] if assignment is not None else group)
        levels.append(np.concatenate(centres_of_level))
        groups = next_groups
    return Vocabulary(branching, tuple(levels))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--branching", type=int, default=128)
    parser.add_argument("--depth", type=int, default=2)
    parser.add_argument("--images", type=int, default=900)
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--out", type=Path, default=VOCABULARY_FILE)
    args = parser.parse_args(argv)
    started = time.perf_counter()
    pictures = training_pictures(args.images, args.seed)
    descriptors = descriptors_of(pictures)
    print(
        f"{len(pictures)} pictures, {descriptors.shape[0]} descriptors "
        f"in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    vocabulary = train(descriptors, args.branching, args.depth, args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    vocabulary.save(args.out)
    used = np.unique(vocabulary.words(descriptors)).size
    print(
        f"{vocabulary.size} words ({args.branching}^{args.depth}), {used} used by the training "
        f"set, version {vocabulary.version}, written to {args.out} "
        f"in {time.perf_counter() - started:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
