"""Running the `kramar` command against the test database, in-process."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner

from app.cli import main
from app.config import get_settings


@pytest.fixture(name="env")
def fx_env(database_url, session_factory, tmp_path):
    """Environment of a `kramar` run against the (emptied) test database."""
    return {
        "KRAMAR_DATABASE_URL": database_url.render_as_string(hide_password=False),
        "KRAMAR_DATA_DIR": str(tmp_path / "state"),
        "KRAMAR_CATALOG_FILE": str(tmp_path / "products_master.yaml"),
    }


@pytest.fixture(name="kramar")
def fx_kramar(env):
    """Run `kramar ARGS...` in-process (click's runner, in a thread: the command runs its own
    event loop); returns (exit code, stdout, stderr)."""

    def invoke(args: list[str]) -> tuple[int, str, str]:
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(main, args, env=env)
        finally:
            get_settings.cache_clear()
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.stdout, result.stderr

    async def run(*args: str) -> tuple[int, str, str]:
        return await asyncio.to_thread(invoke, list(args))

    return run
