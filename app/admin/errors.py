"""Errors of the panel's own rules (accounts, uploads); the panel shows each in Ukrainian."""

from __future__ import annotations


class AdminError(Exception):
    """Base of the panel's errors: `str()` is English (logs, CLI), `uk` is what the panel shows."""

    status_code = 400
    uk = "Не вдалося виконати дію."


class InvalidUsernameError(AdminError):
    status_code = 422
    uk = "Ім'я користувача: 2–64 літери, цифри, крапки, дефіси або підкреслення."

    def __init__(self) -> None:
        super().__init__("a username is 2-64 letters, digits, '.', '-' or '_'")


class UsernameTakenError(AdminError):
    status_code = 409
    uk = "Користувач з таким ім'ям уже є."

    def __init__(self, username: str) -> None:
        super().__init__(f"the username {username!r} is taken")


class WeakPasswordError(AdminError):
    status_code = 422

    def __init__(self, english: str, uk: str) -> None:
        super().__init__(english)
        self.uk = uk


class UnknownRoleError(AdminError):
    status_code = 422
    uk = "Роль має бути «власник» або «менеджер»."

    def __init__(self, role: str) -> None:
        super().__init__(f"unknown role {role!r}: owner or manager")


class UserNotFoundError(AdminError):
    status_code = 404
    uk = "Такого користувача немає."

    def __init__(self, who: object) -> None:
        super().__init__(f"no panel user {who!r}")


class LastOwnerError(AdminError):
    status_code = 409
    uk = "Це єдиний активний власник: спершу призначте іншого власника."

    def __init__(self) -> None:
        super().__init__("the shop must keep at least one active owner")


class UploadNotFoundError(AdminError):
    status_code = 404
    uk = "Цей файл уже застосовано або його час минув: завантажте його ще раз."

    def __init__(self) -> None:
        super().__init__("no such pending upload (applied, expired or someone else's)")
