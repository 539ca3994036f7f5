"""`kramar eval`: the suites of a dataset against a scratch copy of the shop.

The scratch copy is a database of its own (`kramar_eval`) on the configured server: the
embedded Postgres of `make run`, or the server of `KRAMAR_DATABASE_URL` / `--database-url`
(which needs CREATEDB there). It is migrated, loaded with the dataset's catalog and dropped
afterwards, so the dialogues' orders and reservations never touch the shop's own data. Caches
are in-process for the run. Contenders: the offline shop (no model), then each link of
`KRAMAR_LLM_LINKS` on its own, side by side on the same cases.
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr
from sqlalchemy import text

from app.catalog.commands import load_items
from app.catalog.importer import import_catalog
from app.config import DatabaseSettings, RedisSettings
from app.db import migrate
from app.db.engine import create_engine, create_session_factory
from app.db.runtime import open_database
from app.evals import report
from app.evals.calibrate import calibration, derive, write_thresholds
from app.evals.dataset import load_dataset
from app.evals.dialog import run_dialogues
from app.evals.gates import judge, load_gates
from app.evals.results import Meter, summarize
from app.evals.text import compare_embedders, run_text
from app.evals.vision import run_vision
from app.vision.pipeline import catalog_photo_hasher

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable
    from pathlib import Path

    from sqlalchemy.engine import URL
    from sqlalchemy.ext.asyncio import AsyncEngine

    from app.config import Settings
    from app.evals.results import CaseResult, Summary
    from app.evals.text import EmbedderRow
    from app.rag.embedders import Embedder
    from app.services import Services

logger = logging.getLogger(__name__)

EVAL_DATABASE = "kramar_eval"
SPLITS = ("test", "dev", "all")


@dataclass(frozen=True)
class Options:
    suites: tuple[str, ...]
    dataset: Path
    report_dir: Path
    write_thresholds: Path | None = None
    embedders: tuple[str, ...] = ("hashing", "e5", "openai")
    """Embedders the text suite compares (those that cannot be made here are left out)."""


@dataclass
class Outcome:
    """Everything one run measured."""

    summaries: list[Summary] = field(default_factory=list)
    results: dict[tuple[str, str], list[CaseResult]] = field(default_factory=dict)
    embedders: list[EmbedderRow] = field(default_factory=list)
    exit_code: int = 0


class Scratch:
    """The `kramar_eval` database, managed over a connection to the server's own database."""

    def __init__(self, admin: AsyncEngine) -> None:
        self._admin = admin
        self.url = admin.url.set(database=EVAL_DATABASE)

    async def _execute(self, statement: str) -> None:
        async with self._admin.connect() as connection:
            autocommit = await connection.execution_options(isolation_level="AUTOCOMMIT")
            await autocommit.execute(text(statement))

    async def drop(self) -> None:
        # A constant name, never user input: identifiers cannot be bind parameters.
        await self._execute(f'DROP DATABASE IF EXISTS "{EVAL_DATABASE}" WITH (FORCE)')

    async def load(self, settings: Settings, catalog: Path) -> None:
        """A fresh database at the code's schema with the dataset's catalog, as `make run`
        sets one up (so each contender starts from the same stock)."""
        await self.drop()
        await self._execute(f'CREATE DATABASE "{EVAL_DATABASE}"')
        engine = create_engine(self.url, settings.database)
        try:
            await migrate.upgrade(engine)
            items = await load_items(settings, catalog)
            hasher = catalog_photo_hasher(settings.vision)
            await import_catalog(create_session_factory(engine), items, photo_hasher=hasher)
        finally:
            await engine.dispose()


@asynccontextmanager
async def scratch_database(settings: Settings) -> AsyncIterator[Scratch]:
    """The configured server (embedded or external), with the scratch database dropped after."""
    async with open_database(settings, check_schema=False) as db:
        scratch = Scratch(db.engine)
        try:
            yield scratch
        finally:
            await scratch.drop()


def contenders(settings: Settings, url: URL) -> list[tuple[str, Settings]]:
    """The offline shop, then one shop per model link; each with the scratch database and
    in-process caches."""
    base = settings.model_copy(
        update={
            "database": DatabaseSettings(url=SecretStr(url.render_as_string(hide_password=False))),
            "redis": RedisSettings(url=None),
        }
    )
    shops = [
        ("offline", base.model_copy(update={"llm": base.llm.model_copy(update={"links": []})}))
    ]
    for link in settings.llm.links:
        llm = base.llm.model_copy(update={"links": [link]})
        shops.append((f"model:{link.name}", base.model_copy(update={"llm": llm})))
    return shops


def comparison_embedders(
    settings: Settings, names: tuple[str, ...], configured: Embedder
) -> list[Embedder]:
    """The embedders to compare that can be made here, the configured one included once."""
    from app.rag.embedders import EmbeddingError, create_embedder

    made: list[Embedder] = [configured]
    for name in names:
        try:
            embedder = create_embedder(settings.rag.model_copy(update={"embedder": name}))
        except EmbeddingError as error:
            logger.info("embedder %s left out of the comparison: %s", name, error)
            continue
        if embedder.name not in {e.name for e in made}:
            made.append(embedder)
    return made


async def run_eval(settings: Settings, options: Options, out: Callable[[str], None]) -> Outcome:
    """Run the chosen suites for every contender, print the tables, gate, write the report."""
    from app.bot.terminal import terminal_settings
    from app.services import open_services

    dataset = load_dataset(options.dataset, options.suites)
    gates = (
        load_gates(dataset.thresholds) if dataset.thresholds and dataset.thresholds.exists() else []
    )
    outcome = Outcome()
    async with scratch_database(settings) as scratch:
        for name, shop in contenders(settings, scratch.url):
            await scratch.load(shop, dataset.catalog)
            async with open_services(terminal_settings(shop)) as services:
                await _run_suites(name, services, dataset, options, outcome)
    for (suite, contender), results in outcome.results.items():
        for split in SPLITS:
            outcome.summaries.append(summarize(suite, contender, split, results))
    _print(out, outcome, options)
    judged = judge(gates, outcome.summaries)
    out("\n## Gates (evals/thresholds.yaml)\n")
    out(report.gate_table(judged))
    failed = [j for j in judged if j.failed]
    pending = [j for j in judged if j.status == "pending"]
    if pending:
        issues = sorted({str(j.gate.pending) for j in pending})
        waiting = ", ".join(issues)
        out(f"\n{len(pending)} gate(s) pending, not enforced until their work lands: {waiting}")
    out(f"{len(failed)} enforced gate(s) failed." if failed else "Every enforced gate passed.")
    derived = None
    vision = outcome.results.get(("vision", "offline"), [])
    text_results = outcome.results.get(("text", "offline"), [])
    if vision or text_results:
        derived = derive(vision, text_results, settings.dialog)
        out(
            f"\nDerived from dev: photo card from {derived.high_confidence}, "
            f"'one of these?' from {derived.low_confidence}, text card from top score "
            f"{derived.text_card_min_score} (now: {settings.dialog.high_confidence}, "
            f"{settings.dialog.low_confidence})"
        )
        if options.write_thresholds is not None:
            write_thresholds(options.write_thresholds, derived, dataset.name)
            out(f"written to {options.write_thresholds}")
    report.write_json(
        options.report_dir / "report.json",
        _json(outcome, judged, derived, dataset.name),
    )
    out(f"\nreport: {options.report_dir / 'report.json'}")
    outcome.exit_code = 1 if failed else 0
    return outcome


async def _run_suites(
    name: str, services: Services, dataset: Any, options: Options, outcome: Outcome
) -> None:
    meter = Meter(services.chain.ledger)
    if "vision" in options.suites and dataset.vision:
        outcome.results["vision", name] = await run_vision(
            services, dataset.vision, dataset.vision_root, meter
        )
    if "text" in options.suites and dataset.text:
        if name == "offline":
            embedders = comparison_embedders(
                services.settings, options.embedders, services.embedder
            )
            outcome.embedders = await compare_embedders(services, dataset.text, embedders)
        outcome.results["text", name] = await run_text(services, dataset.text, meter)
    if "dialog" in options.suites and dataset.dialogues:
        outcome.results["dialog", name] = await run_dialogues(
            services, dataset.dialogues, dataset.root, meter
        )


def _print(out: Callable[[str], None], outcome: Outcome, options: Options) -> None:
    for suite in ("vision", "text", "dialog"):
        shown = [s for s in outcome.summaries if s.suite == suite and s.split != "all"]
        if not shown:
            continue
        out(f"\n## {suite}\n")
        out(report.suite_table(suite, shown))
        for (kind, contender), results in outcome.results.items():
            if kind == suite:
                out(f"\n{suite} by slice, test, {contender}:\n")
                out(report.slice_table(suite, contender, results, "test"))
        if suite == "text" and outcome.embedders:
            out("\nEmbedders (whole retrieval: full text + vectors; index rebuilt per embedder):\n")
            out(report.embedder_table(outcome.embedders))
        if suite in ("vision", "text"):
            results = outcome.results.get((suite, "offline"), [])
            for split in ("test", "dev"):
                cal = calibration(results, split)
                if cal.points:
                    out(f"\n{suite} confidence bands, {split}, offline:\n")
                    out(report.calibration_table(cal))
            cal = calibration(results, "all")
            if suite == "vision" and cal.points:
                png = options.report_dir / "vision-reliability.png"
                report.reliability_png(cal, png, "vision: photo match confidence (dev + test)")
                out(f"reliability diagram: {png}")


def _json(outcome: Outcome, judged: Any, derived: Any, dataset: str) -> dict[str, Any]:
    return {
        "dataset": dataset,
        "at": datetime.now(UTC).isoformat(),
        "summaries": [s.as_json() for s in outcome.summaries],
        "embedders": [vars(r) for r in outcome.embedders],
        "gates": [{**j.gate.model_dump(), "status": j.status, "measured": j.value} for j in judged],
        "derived": vars(derived) if derived is not None else None,
        "cases": {
            f"{suite}/{contender}": [r.as_json() for r in results]
            for (suite, contender), results in outcome.results.items()
        },
    }
