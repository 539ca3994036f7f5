"""Retrieval eval: customer phrasings → expected SKU; recall@1 and recall@3 per embedder.

Run: `uv run python -m evals.retrieval` (starts a private Postgres, imports the demo catalog).
The OpenAI embedder needs a key: pass `--openai-key` (and `--openai-base-url`, `--openai-model`,
`--openai-dim`) to add its row; without one only the hashing embedder runs.
"""

from __future__ import annotations

import argparse
import asyncio
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from app.catalog.importer import import_catalog, load_catalog
from app.rag.embedders import Embedder, HashingEmbedder, OpenAIEmbedder
from app.rag.indexer import reindex
from app.rag.search import retrieve
from tests.servers.postgres import migrated_database

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

ROOT = Path(__file__).resolve().parent.parent
CASES = Path(__file__).with_name("retrieval.yaml")
DEMO = ROOT / "data" / "catalog" / "products_master.yaml"


@dataclass(frozen=True)
class Case:
    query: str
    sku: str
    kind: str


@dataclass
class Result:
    embedder: str
    total: int = 0
    at1: int = 0
    at3: int = 0
    misses: list[tuple[str, str, list[str]]] = field(default_factory=list)
    by_kind: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0, 0]))

    @property
    def recall_at_1(self) -> float:
        return self.at1 / self.total if self.total else 0.0

    @property
    def recall_at_3(self) -> float:
        return self.at3 / self.total if self.total else 0.0


def load_cases(path: Path = CASES) -> list[Case]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return [Case(str(c["query"]), str(c["sku"]), str(c.get("kind", ""))) for c in data["cases"]]


async def evaluate(
    session_factory: async_sessionmaker[AsyncSession], embedder: Embedder, cases: list[Case]
) -> Result:
    """Recall of `retrieve` over `cases`; the index must already be built with `embedder`."""
    result = Result(embedder.name)
    for case in cases:
        hits = [h.sku for h in await retrieve(session_factory, embedder, case.query, k=3)]
        kind = result.by_kind[case.kind]
        result.total += 1
        kind[0] += 1
        if hits[:1] == [case.sku]:
            result.at1 += 1
            kind[1] += 1
        if case.sku in hits:
            result.at3 += 1
            kind[2] += 1
        else:
            result.misses.append((case.query, case.sku, hits))
    return result


def table(results: list[Result]) -> str:
    lines = ["| embedder | cases | recall@1 | recall@3 |", "|---|---|---|---|"]
    for r in results:
        lines.append(f"| {r.embedder} | {r.total} | {r.recall_at_1:.3f} | {r.recall_at_3:.3f} |")
        for kind, (n, a1, a3) in sorted(r.by_kind.items()):
            lines.append(f"| &nbsp; {kind} | {n} | {a1 / n:.3f} | {a3 / n:.3f} |")
    return "\n".join(lines)


async def main(embedders: list[Embedder]) -> list[Result]:
    async with migrated_database() as (_, session_factory):
        items = load_catalog(DEMO, max_catalog_bytes=20_000_000, max_photo_bytes=5_000_000)
        await import_catalog(session_factory, items)
        cases = load_cases()
        results = []
        for embedder in embedders:
            await reindex(session_factory, embedder)
            results.append(await evaluate(session_factory, embedder, cases))
        return results


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--openai-key", help="API key: adds the OpenAI embedder to the table")
    parser.add_argument("--openai-base-url", default=None)
    parser.add_argument("--openai-model", default="text-embedding-3-small")
    parser.add_argument("--openai-dim", type=int, default=1536)
    parser.add_argument("--misses", action="store_true", help="List the queries missed at @3")
    args = parser.parse_args()
    embedders: list[Embedder] = [HashingEmbedder()]
    if args.openai_key:
        from openai import AsyncOpenAI

        key, base_url = args.openai_key, args.openai_base_url
        embedders.append(
            OpenAIEmbedder(
                lambda: AsyncOpenAI(api_key=key, base_url=base_url),
                model=args.openai_model,
                dim=args.openai_dim,
            )
        )
    results = asyncio.run(main(embedders))
    print(table(results))
    if args.misses:
        for r in results:
            for query, sku, hits in r.misses:
                print(f"{r.embedder}: {query!r} → {hits}, expected {sku}")


if __name__ == "__main__":
    cli()
