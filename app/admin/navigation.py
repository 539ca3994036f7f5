"""The panel's sections, as the top menu shows them, and who may see each."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from app.admin.users import Principal


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    path: str | None
    """None: not built yet (kept here so its place and its role rule are decided)."""
    owners_only: bool = False


SECTIONS = (
    Section("overview", "Огляд", "/admin"),
    Section("catalog", "Каталог", "/admin/catalog"),
    Section("orders", "Замовлення", "/admin/orders"),
    Section("handoffs", "Передачі", "/admin/handoffs"),
    Section("shop", "Магазин", "/admin/shop", owners_only=True),
    Section("audit", "Журнал змін", "/admin/audit"),
    Section("users", "Користувачі", "/admin/users", owners_only=True),
)


def visible(user: Principal) -> list[Section]:
    """The built sections `user` may open."""
    return [s for s in SECTIONS if s.path is not None and (user.is_owner or not s.owners_only)]
