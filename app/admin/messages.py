"""What the panel tells a person when something cannot be done: Ukrainian, one place.

The services' errors carry English messages (logs, the REST API); the panel shows these.
"""

from __future__ import annotations

from app.admin.errors import AdminError
from app.catalog.errors import (
    CatalogError,
    CatalogFileError,
    ConstraintViolationError,
    PhotoNotFoundError,
    ProductChangedError,
    ProductExistsError,
    ProductNotFoundError,
    VariantNotFoundError,
)
from app.orders.errors import (
    IllegalTransitionError,
    IncompleteOrderError,
    InvalidOrderDataError,
    OrderError,
    OrderNotEditableError,
    OrderNotFoundError,
    ReservationExpiredError,
    SoldOutError,
)

_UK: dict[type[Exception], str] = {
    ProductNotFoundError: "Такого товару немає.",
    VariantNotFoundError: "У товару немає такого розміру й кольору.",
    ProductExistsError: "Товар з таким артикулом уже є: відкрийте його й змініть.",
    ProductChangedError: "Товар змінив хтось інший, поки ви редагували.",
    ConstraintViolationError: "Товар не збережено: дані порушують правила каталогу.",
    PhotoNotFoundError: "Такого фото немає.",
    CatalogFileError: "У файлі є помилки, нічого не змінено.",
    OrderNotFoundError: "Такого замовлення немає.",
    IllegalTransitionError: "Замовлення вже в іншому статусі: цей крок неможливий.",
    IncompleteOrderError: "Замовлення не завершене: бракує даних клієнта чи доставки.",
    ReservationExpiredError: "Резерв цього замовлення вже минув.",
    OrderNotEditableError: "Це замовлення вже не можна змінити.",
    SoldOutError: "Цього товару вже немає в наявності.",
    InvalidOrderDataError: "Неправильні дані замовлення.",
}


def explain(error: Exception) -> str:
    """The Ukrainian sentence for `error`."""
    if isinstance(error, AdminError):
        return error.uk
    for kind in type(error).__mro__:
        if kind in _UK:
            return _UK[kind]
    if isinstance(error, CatalogError | OrderError):
        return "Не вдалося виконати дію."
    return "Сталася помилка; її записано в журнал сервера."


STATUS_NAMES = {
    "draft": "чернетка",
    "new": "нове",
    "confirmed": "підтверджене",
    "paid": "оплачене",
    "shipped": "відправлене",
    "done": "виконане",
    "cancelled": "скасоване",
}
"""Order statuses as the panel names them."""

STATUS_ACTIONS = {
    "new": "Позначити новим",
    "confirmed": "Підтвердити",
    "paid": "Оплачено",
    "shipped": "Відправлено",
    "done": "Виконано",
    "cancelled": "Скасувати",
}
"""The button that moves an order to each status."""

ROLE_NAMES = {"owner": "власник", "manager": "менеджер"}

DONE = {
    "saved": "Збережено.",
    "created": "Товар додано.",
    "photo": "Фото додано: бот уже впізнає його.",
    "hidden": "Товар приховано від клієнтів.",
    "shown": "Товар знову видно клієнтам.",
    "imported": "Каталог оновлено.",
    "status": "Статус замовлення змінено.",
    "cancelled": "Замовлення скасовано, резерв звільнено.",
    "taken": "Ви взяли цю розмову.",
    "replied": "Відповідь надіслано клієнту.",
    "returned": "Розмову повернуто боту.",
    "shop": "Інформацію про магазин збережено: бот уже відповідає по-новому.",
    "user": "Користувача збережено.",
    "password": "Пароль змінено; усі сесії цього користувача завершено.",
}
"""Confirmations after a redirect (`?done=<key>`): fixed texts, nothing from the request."""
