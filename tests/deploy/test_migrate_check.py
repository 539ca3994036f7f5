"""`kramar migrate --check [--wait N]`: what the chart's init containers wait on."""

from __future__ import annotations

import time

from tests.servers.redis import free_port


async def test_check_passes_on_a_current_schema(kramar):
    code, out, _ = await kramar("migrate", "--check")

    assert code == 0
    assert "(current)" in out


async def test_check_fails_on_a_database_that_was_never_migrated(kramar, env, postgres):
    empty = postgres.create_database("kramar_never_migrated")
    env["KRAMAR_DATABASE_URL"] = empty.render_as_string(hide_password=False)

    code, _, err = await kramar("migrate", "--check")

    assert code == 1
    assert "run `kramar migrate`" in err


async def test_check_passes_once_migrate_ran(kramar, env, postgres):
    fresh = postgres.create_database("kramar_migrated_later")
    env["KRAMAR_DATABASE_URL"] = fresh.render_as_string(hide_password=False)

    assert (await kramar("migrate", "--check"))[0] == 1
    assert (await kramar("migrate"))[0] == 0
    assert (await kramar("migrate", "--check"))[0] == 0


async def test_wait_retries_an_unreachable_database_then_gives_up_without_the_password(kramar, env):
    env["KRAMAR_DATABASE_URL"] = (
        f"postgresql+asyncpg://kramar:hunter2secret@127.0.0.1:{free_port()}/kramar"
    )
    started = time.monotonic()

    code, _, err = await kramar("migrate", "--check", "--wait", "1.5")

    assert code == 1
    assert time.monotonic() - started >= 1.5
    assert "waiting for the database" in err
    assert "database not ready" in err
    assert "hunter2secret" not in err
