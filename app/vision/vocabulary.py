"""Visual words: a fixed tree of binary centres that turns ORB descriptors into word ids.

The candidate search (`app/vision/prefilter.py`) compares photos as bags of these words. The tree
is trained once, by `scripts/train_vocabulary.py`, on pictures the shop never sells (garments
drawn by the demo generator for made-up products, textures, random scenes), and shipped with the
code, so word ids computed at import stay valid on every replica. A descriptor goes down the tree
level by level to the nearest centre (Hamming distance) among the children of its node:
`branching` x `depth` comparisons instead of one per word.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from numpy.typing import NDArray

VOCABULARY_FILE = Path(__file__).with_name("data") / "orb_vocabulary.npz"
# Descriptors quantised per block: bounds the temporary (block, branching, 4) uint64 array.
_BLOCK = 4096


@dataclass(frozen=True)
class Vocabulary:
    """`levels[i]` holds branching ** (i + 1) centres (32 bytes each); the children of node j
    of level i - 1 are centres j * branching ... (j + 1) * branching - 1 of level i."""

    branching: int
    levels: tuple[NDArray[np.uint8], ...]

    @property
    def size(self) -> int:
        """Number of words (leaves)."""
        return int(self.branching ** len(self.levels))

    @property
    def version(self) -> str:
        """A short digest of the centres: word ids are only comparable under the same one."""
        digest = hashlib.sha256()
        for level in self.levels:
            digest.update(level.tobytes())
        return digest.hexdigest()[:12]

    def words(self, descriptors: NDArray[np.uint8]) -> NDArray[np.int32]:
        """The word id of every descriptor, (n, 32) uint8 -> (n,) int32."""
        count = descriptors.shape[0]
        result = np.empty(count, dtype=np.int32)
        packed = np.ascontiguousarray(descriptors).view(np.uint64)  # (n, 4)
        for start in range(0, count, _BLOCK):
            block = packed[start : start + _BLOCK]
            node = np.zeros(block.shape[0], dtype=np.int64)
            for centres in self.levels:
                children = centres.view(np.uint64).reshape(-1, self.branching, 4)[node]
                distance = np.bitwise_count(children ^ block[:, None, :]).sum(axis=2)
                node = node * self.branching + distance.argmin(axis=1)
            result[start : start + block.shape[0]] = node
        return result

    def save(self, path: Path) -> None:
        """Write the tree as a .npz file (`load_vocabulary` reads it)."""
        arrays: dict[str, NDArray[np.generic]] = {
            f"level{i}": level for i, level in enumerate(self.levels)
        }
        arrays["branching"] = np.array(self.branching)
        np.savez_compressed(path, allow_pickle=False, **arrays)


def read_vocabulary(path: Path) -> Vocabulary:
    """A vocabulary from a file `Vocabulary.save` wrote."""
    with np.load(path) as data:
        branching = int(data["branching"])
        levels: list[NDArray[np.uint8]] = []
        while f"level{len(levels)}" in data:
            levels.append(np.ascontiguousarray(data[f"level{len(levels)}"], dtype=np.uint8))
    for depth, level in enumerate(levels, start=1):
        if level.shape != (branching**depth, 32):
            raise ValueError(f"{path}: level {depth} has shape {level.shape}")
    return Vocabulary(branching, tuple(levels))


@cache
def load_vocabulary() -> Vocabulary:
    """The shipped vocabulary (read once per process)."""
    return read_vocabulary(VOCABULARY_FILE)


def encode_words(words: NDArray[np.integer]) -> bytes:
    """Word ids as stored with a photo: little-endian uint16 (vocabularies stay below 65,536)."""
    values = np.asarray(words)
    if values.size and (values.min() < 0 or values.max() > 0xFFFF):
        raise ValueError("word ids must fit in 16 bits")
    return values.astype("<u2").tobytes()


def decode_words(data: bytes) -> NDArray[np.int32]:
    """Word ids from `encode_words`."""
    if len(data) % 2:
        raise ValueError("stored words have an odd length")
    return np.frombuffer(data, dtype="<u2").astype(np.int32)
