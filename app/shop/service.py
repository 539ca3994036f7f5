"""Reading and writing the shop section: the one service every part goes through.

`ShopService.get()` is what the bot, the offline agent, the model's context and the price guard
read; `ShopService.edit()` (a form's document, validated) and `update()` (a `Shop`) are how the
admin panel (and anything else but the catalog import, which writes it in its own transaction
with `write_section`) changes it, and `edited()` says who did last and when. The section is kept in
memory per process until the catalog version moves (writes bump it through a trigger), so a
turn costs no query for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert

from app.shop.errors import InvalidShopSectionError, Problem
from app.shop.models import ShopSection
from app.shop.schemas import Shop

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import datetime

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
        index_elements=[ShopSection.id],
        set_={"document": document, "updated_by": by, "updated_at": func.now()},
    )
    await session.execute(statement)
    return True


@dataclass(frozen=True)
class Edited:
    """Who wrote the stored section last, and when."""

    by: str
    """import, operator, admin:<user>."""
    at: datetime


def _path(loc: tuple[int | str, ...]) -> str:
    """("delivery", "options", 0, "price") → "delivery.options[0].price"."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f"{'.' if path else ''}{part}"
    return path or "shop"


def validated(document: Mapping[str, Any]) -> Shop:
    """`document` (the section as a form or JSON gives it) as a `Shop`; raises
    `InvalidShopSectionError` naming every field that is wrong."""
    try:
        return Shop.model_validate(dict(document))
    except ValidationError as error:
        errors = error.errors(include_url=False, include_input=False)
        problems = [f"{_path(e['loc'])}: {e['msg']}" for e in errors]
        details = tuple(Problem(tuple(e["loc"]), e["type"], e["msg"]) for e in errors)
        raise InvalidShopSectionError(problems, details) from error


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

    async def edited(self) -> Edited | None:
        """Who wrote the section last and when (None: there is none)."""
        query = select(ShopSection.updated_by, ShopSection.updated_at).where(ShopSection.id == 1)
        async with self._session_factory() as session:
            row = (await session.execute(query)).one_or_none()
        return None if row is None else Edited(row.updated_by, row.updated_at)

    async def edit(self, document: Mapping[str, Any], *, by: str) -> Shop:
        """Validate `document` and store it (the admin panel's save); raises
        `InvalidShopSectionError` and stores nothing when a field is wrong."""
        return await self.update(validated(document), by=by)

    async def update(self, shop: Shop, *, by: str) -> Shop:
        """Replace the section with `shop` (validated already by its type); `by` says who
        (e.g. `admin:olena`). Writes nothing when it is unchanged."""
        async with self._session_factory() as session, session.begin():
            await write_section(session, shop, by)
        self._cached = None
        return shop
