"""A throwaway PostgreSQL with pgvector for tests (pgserver, unix socket in a private folder)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from sqlalchemy.engine import URL

from app.db.embedded import EmbeddedPostgres


class TestPostgres:
    """Starts a private Postgres under /tmp (pgserver opens permissions on every parent folder)."""

    __test__ = False

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="kramar-pg-", dir="/tmp"))
        self._server = EmbeddedPostgres(self.root)

    def start(self) -> URL:
        return self._server.start()

    def database_url(self, name: str) -> URL:
        return self._server.url.set(database=name)

    def create_database(self, name: str) -> URL:
        from pgserver import get_server  # type: ignore[attr-defined]

        server = get_server(str(self._server.pgdata), cleanup_mode="stop")
        server.psql(f'DROP DATABASE IF EXISTS "{name}"; CREATE DATABASE "{name}";')
        return self.database_url(name)

    def stop(self) -> None:
        self._server.stop()
        shutil.rmtree(self.root, ignore_errors=True)
