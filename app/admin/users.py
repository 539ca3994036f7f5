"""Panel accounts: argon2 password hashes, roles, and the sign-in check.

Hashing and verifying are CPU work (argon2 is slow on purpose): they run in a thread, so the
event loop keeps serving while a sign-in is checked.
"""

from __future__ import annotations

import asyncio
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from app.admin.errors import (
    InvalidUsernameError,
    LastOwnerError,
    UnknownRoleError,
    UsernameTakenError,
    UserNotFoundError,
    WeakPasswordError,
)
from app.admin.models import OWNER, ROLES, AdminUser

if TYPE_CHECKING:
    from datetime import datetime

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

PASSWORD_MIN = 10
"""Shortest password accepted, in characters (NIST SP 800-63B asks for at least 8)."""
PASSWORD_MAX = 256
"""Longest password accepted: argon2 takes any length, this bounds the work of one attempt."""
_USERNAME = re.compile(r"[\w.-]{2,64}")


def normal_username(raw: str) -> str:
    """The stored form of a username: NFKC, trimmed, case-folded; `InvalidUsernameError`."""
    name = unicodedata.normalize("NFKC", raw).strip().casefold()
    if not _USERNAME.fullmatch(name):
        raise InvalidUsernameError
    return name


def check_password(password: str, username: str) -> None:
    """Refuse a password the panel will not store (`WeakPasswordError`, both languages)."""
    if len(password) < PASSWORD_MIN:
        raise WeakPasswordError(
            f"the password must have at least {PASSWORD_MIN} characters",
            f"Пароль має бути щонайменше {PASSWORD_MIN} символів.",
        )
    if len(password) > PASSWORD_MAX:
        raise WeakPasswordError(
            f"the password must have at most {PASSWORD_MAX} characters",
            f"Пароль має бути не довший за {PASSWORD_MAX} символів.",
        )
    if password.strip() != password or "\x00" in password:
        raise WeakPasswordError(
            "the password must not start or end with spaces, nor hold NUL",
            "Пароль не може починатися чи закінчуватися пробілом.",
        )
    if password.casefold() == username.casefold():
        raise WeakPasswordError(
            "the password must differ from the username",
            "Пароль не може збігатися з ім'ям користувача.",
        )


def check_role(role: str) -> str:
    if role not in ROLES:
        raise UnknownRoleError(role)
    return role


@dataclass(frozen=True)
class Principal:
    """The signed-in person, as every panel request sees them."""

    id: int
    username: str
    role: str
    epoch: int

    @property
    def is_owner(self) -> bool:
        return self.role == OWNER

    @property
    def actor(self) -> str:
        """How orders and hand-offs name this person in their history."""
        return f"admin:{self.username}"


@dataclass(frozen=True)
class Account:
    """An account as the users page lists it."""

    id: int
    username: str
    role: str
    active: bool
    created_at: datetime
    last_signin_at: datetime | None


def _principal(user: AdminUser) -> Principal:
    return Principal(user.id, user.username, user.role, user.session_epoch)


class AdminUsers:
    """The accounts table; every method is one transaction."""

    def __init__(
        self,
        session_factory: async_sessionmaker[AsyncSession],
        hasher: PasswordHasher | None = None,
    ) -> None:
        self._session_factory = session_factory
        # argon2-cffi's defaults: argon2id, RFC 9106's low-memory profile (64 MiB, t=3, p=4).
        self._hasher = hasher or PasswordHasher()
        self._dummy: str | None = None

    async def _hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def _verify(self, hashed: str, password: str) -> bool:
        try:
            return await asyncio.to_thread(self._hasher.verify, hashed, password)
        except (VerificationError, InvalidHashError):
            return False

    async def create(self, username: str, password: str, role: str) -> Principal:
        """A new active account; `UsernameTakenError`, `WeakPasswordError`, ..."""
        name = normal_username(username)
        check_password(password, name)
        check_role(role)
        hashed = await self._hash(password)
        async with self._session_factory() as session:
            user = AdminUser(username=name, role=role, password_hash=hashed, active=True)
            session.add(user)
            try:
                await session.commit()
            except IntegrityError as error:
                raise UsernameTakenError(name) from error
            return _principal(user)

    async def authenticate(self, username: str, password: str) -> Principal | None:
        """The account if `password` is its password and it is active, else None.

        An unknown name costs one argon2 verification too, so the time taken does not tell
        which names exist.
        """
        try:
            name = normal_username(username)
        except InvalidUsernameError:
            name = None
        async with self._session_factory() as session:
            user = None
            if name is not None and len(password) <= PASSWORD_MAX:
                user = await session.scalar(select(AdminUser).where(AdminUser.username == name))
            if user is None or not user.active:
                if self._dummy is None:
                    self._dummy = await self._hash("not a password of anyone")
                await self._verify(self._dummy, password[:PASSWORD_MAX])
                return None
            if not await self._verify(user.password_hash, password):
                return None
            if self._hasher.check_needs_rehash(user.password_hash):  # parameters were raised
                user.password_hash = await self._hash(password)
            user.last_signin_at = func.now()
            await session.commit()
            return _principal(user)

    async def get(self, user_id: int) -> Principal | None:
        """The active account `user_id`, or None."""
        async with self._session_factory() as session:
            user = await session.get(AdminUser, user_id)
            return None if user is None or not user.active else _principal(user)

    async def accounts(self) -> list[Account]:
        async with self._session_factory() as session:
            users = await session.scalars(select(AdminUser).order_by(AdminUser.username))
            return [
                Account(u.id, u.username, u.role, u.active, u.created_at, u.last_signin_at)
                for u in users
            ]

    async def set_role(self, user_id: int, role: str) -> tuple[str, str]:
        """(before, after); the account's sessions end. `LastOwnerError` for the last owner."""
        check_role(role)
        async with self._session_factory() as session, session.begin():
            user = await self._locked(session, user_id)
            before = user.role
            if before == OWNER and role != OWNER and user.active:
                await self._keep_an_owner(session, user)
            if before != role:
                user.role = role
                user.session_epoch += 1
            return before, role

    async def set_active(self, user_id: int, active: bool) -> tuple[bool, bool]:
        """(before, after); deactivating ends the account's sessions."""
        async with self._session_factory() as session, session.begin():
            user = await self._locked(session, user_id)
            before = user.active
            if before and not active and user.role == OWNER:
                await self._keep_an_owner(session, user)
            if before != active:
                user.active = active
                user.session_epoch += 1
            return before, active

    async def set_password(self, username: str, password: str) -> Principal:
        """A new password for `username`; the account's other sessions end."""
        name = normal_username(username)
        check_password(password, name)
        hashed = await self._hash(password)
        async with self._session_factory() as session, session.begin():
            user = await session.scalar(
                select(AdminUser).where(AdminUser.username == name).with_for_update()
            )
            if user is None:
                raise UserNotFoundError(name)
            user.password_hash = hashed
            user.session_epoch += 1
            await session.flush()
            return _principal(user)

    async def count(self) -> int:
        async with self._session_factory() as session:
            return await session.scalar(select(func.count(AdminUser.id))) or 0

    @staticmethod
    async def _locked(session: AsyncSession, user_id: int) -> AdminUser:
        user = await session.scalar(
            select(AdminUser).where(AdminUser.id == user_id).with_for_update()
        )
        if user is None:
            raise UserNotFoundError(user_id)
        return user

    @staticmethod
    async def _keep_an_owner(session: AsyncSession, leaving: AdminUser) -> None:
        # Every owner row locked: two owners demoting each other at once cannot both pass.
        owners = await session.scalars(
            select(AdminUser.id)
            .where(AdminUser.role == OWNER, AdminUser.active.is_(True))
            .with_for_update()
        )
        if [i for i in owners if i != leaving.id] == []:
            raise LastOwnerError
