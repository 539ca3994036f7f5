"""What every handler needs: who is writing, and how to answer."""

from __future__ import annotations

from typing import TYPE_CHECKING

from app.dialog.engine import Customer

if TYPE_CHECKING:
    from aiogram.types import User


def customer(chat_id: int, user: User | None) -> Customer:
    if user is None:
        return Customer(chat_id)
    return Customer(chat_id, name=user.full_name, username=user.username)
