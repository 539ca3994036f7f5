from __future__ import annotations

import asyncio

from sqlalchemy import text

from app.catalog.version import CatalogChange, CatalogVersion, parse_change
from tests.factories import add_product


async def _eventually(predicate) -> None:
    """Poll: a NOTIFY or a reconnect has no event of ours to wait on."""
    async with asyncio.timeout(5):
        while not await predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def test_a_write_from_another_connection_is_seen_through_notify(db, session_factory):
    version = CatalogVersion(db)
    await version.start()
    try:
        before = await version.current()
        await add_product(session_factory)  # its own session and connection, like another process

        async def bumped() -> bool:
            return await version.current() > before

        await _eventually(bumped)
        assert await version.current() == await version.read()
    finally:
        await version.stop()


async def test_a_lost_listener_falls_back_to_reading_and_reconnects(db, session_factory):
    version = CatalogVersion(db, retry_seconds=0.05)
    await version.start()
    try:
        async with db.connect() as conn:
            killed = await conn.scalar(
                text(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
                    " WHERE application_name = 'kramar-catalog-listener'"
                )
            )
        assert killed >= 1
        await add_product(session_factory)  # written while the listener may be down
        assert await version.current() == await version.read()

        async def listening_again() -> bool:
            return version._version is not None

        await _eventually(listening_again)
        await add_product(session_factory)

        async def caught_up() -> bool:
            return await version.current() == await version.read()

        await _eventually(caught_up)
    finally:
        await version.stop()


def test_a_notification_names_its_version_kind_and_skus():
    change = parse_change('{"v": 12, "kind": "content", "skus": ["KR-A-1", "KR-B-2"]}')
    assert change == CatalogChange(12, "content", frozenset({"KR-A-1", "KR-B-2"}))
    assert parse_change('{"v": 13, "kind": "stock", "skus": null}') == CatalogChange(
        13, "stock", None
    )


def test_a_bare_number_from_an_older_schema_is_a_content_change_of_unknown_skus():
    assert parse_change("7") == CatalogChange(7, "content", None)


def test_unreadable_payloads_are_no_change():
    for payload in ("", "x", "true", '{"v": true}', '{"kind": "content"}', "[1]"):
        assert parse_change(payload) is None, payload
