"""Reading and writing the shop section: the one service every part goes through.

`ShopService.get()` is what the bot, the offline agent, the model's context and the price guard
read; `ShopService.update()` is how the admin panel (and anything else but the catalog import,
which writes it in its own transaction with `write_section`) changes it. The section is kept in
memory per process until the catalog version moves (writes bump it through a trigger), so a
turn costs no query for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from app.shop.models import ShopSection
from app.shop.schemas import Shop

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker


class Version(Protocol):
    """What the service needs of `app.catalog.version.CatalogVersion`."""

    async def current(self) -> int: ...


def to_document(shop: Shop) -> dict[str, object]:
    """The section as stored: JSON, amounts as strings (exact, never floats)."""
    return shop.model_dump(mode="json")


async def read_section(session: AsyncSession) -> Shop | None:
    """The stored section, or None when the shop has not given one."""
    document = await session.scalar(select(ShopSection.document).where(ShopSection.id == 1))
    return None if document is None else Shop.model_validate(document)


async def write_section(session: AsyncSession, shop: Shop, by: str) -> bool:
    """Store `shop` in the caller's transaction unless it is what is stored; True if written."""
    if await read_section(session) == shop:
        return False
    document = to_document(shop)
    statement = insert(ShopSection).values(id=1, document=document, updated_by=by)
    statement = statement.on_conflict_do_update(
        index_elements=[ShopSection.id], set_={"document": document, "updated_by": by}
    )
    await session.execute(statement)
    return True


class ShopService:
    """The shop section: `get()` for every reader, `update()` for editors (the admin panel)."""

    def __init__(
        self, session_factory: async_sessionmaker[AsyncSession], version: Version | None = None
    ) -> None:
        self._session_factory = session_factory
        self._version = version
        self._cached: tuple[int, Shop | None] | None = None

    async def get(self) -> Shop | None:
        """The shop section as Postgres has it (None: none was given)."""
        current = await self._version.current() if self._version is not None else None
        if current is not None and self._cached is not None and self._cached[0] == current:
            return self._cached[1]
        async with self._session_factory() as session:
            shop = await read_section(session)
        if current is not None:
            self._cached = (current, shop)
        return shop

    async def update(self, shop: Shop, *, by: str) -> Shop:
        """Replace the section with `shop` (validated already by its type); `by` says who
        (e.g. `admin:olena`). Writes nothing when it is unchanged."""
        async with self._session_factory() as session, session.begin():
            await write_section(session, shop, by)
        self._cached = None
        return shop
