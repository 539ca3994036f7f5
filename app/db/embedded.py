"""The private PostgreSQL (with pgvector) that `kramar serve` starts when no database URL is set.

`pgserver` ships Postgres 16 with pgvector as a wheel. It listens on a unix socket in the data
folder only, which also keeps the development database off the network.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from sqlalchemy.engine import URL

if TYPE_CHECKING:
    from pathlib import Path

logger = logging.getLogger(__name__)

DATABASE_NAME = "kramar"


class EmbeddedPostgres:
    """A private Postgres under `data_dir/pg`; stopped when the last process using it leaves."""

    def __init__(self, data_dir: Path) -> None:
        self.pgdata = (data_dir / "pg").resolve()
        self._server: object | None = None

    def start(self) -> URL:
        # Deferred: only the embedded mode needs it.
        from pgserver import get_server  # type: ignore[attr-defined]

        self.pgdata.mkdir(parents=True, exist_ok=True)
        server = get_server(str(self.pgdata), cleanup_mode="stop")
        self._server = server
        exists = server.psql("SELECT 1 FROM pg_database WHERE datname = 'kramar';")
        if "1 row" not in exists:
            server.psql("CREATE DATABASE kramar;")
        logger.info("embedded postgres running in %s", self.pgdata)
        return self.url

    @property
    def url(self) -> URL:
        return URL.create(
            "postgresql+asyncpg",
            username="postgres",
            database=DATABASE_NAME,
            query={"host": str(self.pgdata)},
        )

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()  # type: ignore[attr-defined]
            self._server = None
