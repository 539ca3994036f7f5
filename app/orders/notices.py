"""What the customer is told when a person moves their order (from the managers' chat or the
panel): one text per status, so both say the same."""

from __future__ import annotations

from app.orders.status import OrderStatus

CUSTOMER_NOTICE = {
    OrderStatus.CONFIRMED: "Ваше замовлення {number} підтверджено ✅",
    OrderStatus.PAID: "Оплату замовлення {number} отримано, дякуємо! 💳",
    OrderStatus.SHIPPED: "Замовлення {number} відправлено 🚚",
    OrderStatus.CANCELLED: "Замовлення {number} скасовано. Якщо це помилка — напишіть нам.",
}
