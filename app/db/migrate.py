"""Schema migrations with Alembic, run on the app's own async engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection
    from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# Any fixed number works; it only has to be the same in every replica.
MIGRATION_LOCK_ID = 5_172_937


class SchemaBehindError(RuntimeError):
    """The database schema is older than this code: run `kramar migrate`."""


def alembic_config(url: str | None = None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url)
    return cfg


def head_revisions() -> set[str]:
    return set(ScriptDirectory.from_config(alembic_config()).get_heads())


def _upgrade(connection: Connection, revision: str) -> None:
    cfg = alembic_config()
    cfg.attributes["connection"] = connection
    command.upgrade(cfg, revision)


def _current(connection: Connection) -> set[str]:
    return set(MigrationContext.configure(connection).get_current_heads())


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema up to `revision` (all migrations by default), in one transaction."""
    async with engine.begin() as connection:
        # One migrator at a time when several replicas start together.
        await connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK_ID})")
        await connection.run_sync(_upgrade, revision)


async def current_revisions(engine: AsyncEngine) -> set[str]:
    async with engine.connect() as connection:
        return await connection.run_sync(_current)


async def ensure_current(engine: AsyncEngine) -> None:
    """Raise `SchemaBehindError` unless the database is at the code's head revision."""
    current = await current_revisions(engine)
    heads = head_revisions()
    if current != heads:
        shown = ", ".join(sorted(current)) or "empty"
        raise SchemaBehindError(
            f"database schema is at {shown}, the code needs {', '.join(sorted(heads))}: "
            "run `kramar migrate`"
        )
