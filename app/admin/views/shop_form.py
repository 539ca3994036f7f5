"""The shop-info page's form: the shop section as fields a manager can fill on a phone, and
back; and `ShopService`'s problems told in Ukrainian beside the field that caused each.

Field names are the section's paths with the form's row numbers (`delivery.2.price`,
`chart.0.table`), so a problem at `delivery.options[1].price` is shown at the row it came
from even when empty or removed rows before it were left out of the document. Validation is
`ShopService.edit`'s alone (the same as a catalog file's): this module only reshapes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from app.admin.views.forms import HINTS, message_for
from app.shop.schemas import MIN_RETURN_DAYS

if TYPE_CHECKING:
    from app.admin.views.forms import Form
    from app.shop.errors import Problem
    from app.shop.schemas import Shop

CARRIERS = {
    "nova_poshta": "Нова Пошта",
    "ukrposhta": "Укрпошта",
    "courier": "Кур'єр",
    "pickup": "Самовивіз",
    "other": "Інше",
}
PAYMENT_KINDS = {
    "cash_on_delivery": "Накладений платіж",
    "card": "Картка",
    "iban": "Рахунок (IBAN)",
    "other": "Інше",
}
CONTACTS = {
    "phone": "Телефон",
    "email": "Пошта (e-mail)",
    "telegram": "Telegram",
    "instagram": "Instagram",
    "address": "Адреса (шоурум, самовивіз)",
}
# The text fields of each kind of row: a row with all of them empty is a blank one (the form
# always ends each list with one, to add to it) and is left out.
DELIVERY_FIELDS = ("title", "price", "free_from", "days", "note")
PAYMENT_FIELDS = ("title", "fee", "note")
CHART_FIELDS = ("category", "table", "note")
MAX_ROWS = 100
"""Row numbers a form may use per list; the section's own limits are lower (its error says)."""

_ROW = re.compile(r"^(delivery|payment|chart)\.(\d{1,3})\.")
_CELLS = re.compile(r"\s*[|\t]\s*")
_CELL_COUNT = re.compile(r"rows\[(\d+)\] has (\d+) cells, columns has (\d+)")


def _amount(value: object) -> str:
    return "" if value is None else str(value)


def _table(columns: list[str], rows: list[list[str]]) -> str:
    return "\n".join(" | ".join(line) for line in (columns, *rows))


@dataclass
class ShopForm:
    """What the page shows: every field's text, and the row numbers of each list."""

    values: dict[str, str] = field(default_factory=dict)
    rows: dict[str, list[int]] = field(
        default_factory=lambda: {"delivery": [0], "payment": [0], "chart": [0]}
    )

    @classmethod
    def of(cls, shop: Shop | None) -> ShopForm:
        """The stored section as the page first shows it, with one blank row per list."""
        if shop is None:
            return cls(values={"returns.days": str(MIN_RETURN_DAYS), "returns.exchange": "1"})
        values: dict[str, str] = {
            "name": shop.name,
            "delivery.note": shop.delivery.note,
            "payment.note": shop.payment.note,
            "returns.days": str(shop.returns.days),
            "returns.exchange": "1" if shop.returns.exchange else "",
            "returns.conditions": shop.returns.conditions,
            "returns.how": shop.returns.how,
            "hours": "\n".join(shop.hours),
        }
        for name in CONTACTS:
            values[f"contacts.{name}"] = getattr(shop.contacts, name) or ""
        for n, d in enumerate(shop.delivery.options):
            values |= {
                f"delivery.{n}.id": d.id,
                f"delivery.{n}.carrier": d.carrier,
                f"delivery.{n}.title": d.title,
                f"delivery.{n}.price": _amount(d.price),
                f"delivery.{n}.free_from": _amount(d.free_from),
                f"delivery.{n}.days": d.days,
                f"delivery.{n}.note": d.note,
            }
        for n, p in enumerate(shop.payment.options):
            values |= {
                f"payment.{n}.id": p.id,
                f"payment.{n}.kind": p.kind,
                f"payment.{n}.title": p.title,
                f"payment.{n}.fee": _amount(p.fee),
                f"payment.{n}.note": p.note,
            }
        for n, chart in enumerate(shop.size_charts):
            values |= {
                f"chart.{n}.category": chart.category,
                f"chart.{n}.table": _table(chart.columns, chart.rows),
                f"chart.{n}.note": chart.note,
            }
        counts = {
            "delivery": len(shop.delivery.options),
            "payment": len(shop.payment.options),
            "chart": len(shop.size_charts),
        }
        return cls(values=values, rows={k: list(range(n + 1)) for k, n in counts.items()})

    @classmethod
    def read(cls, form: Form) -> ShopForm:
        """The form as it was sent (shown again as typed when something is wrong)."""
        values = form.values()
        rows: dict[str, set[int]] = {"delivery": set(), "payment": set(), "chart": set()}
        for name in values:
            found = _ROW.match(name)
            if found and int(found.group(2)) < MAX_ROWS:
                rows[found.group(1)].add(int(found.group(2)))
        ordered = {kind: sorted(numbers) for kind, numbers in rows.items()}
        for kind, numbers in ordered.items():  # always room to add one more
            if not numbers or not cls._blank(values, kind, numbers[-1]):
                numbers.append(numbers[-1] + 1 if numbers else 0)
        return cls(values=values, rows=ordered)

    @staticmethod
    def _blank(values: dict[str, str], kind: str, n: int) -> bool:
        names = {"delivery": DELIVERY_FIELDS, "payment": PAYMENT_FIELDS, "chart": CHART_FIELDS}
        return not any(values.get(f"{kind}.{n}.{name}") for name in names[kind])

    def _kept(self, kind: str) -> list[int]:
        """Row numbers of `kind` that go into the document: not blank, not marked removed."""
        return [
            n
            for n in self.rows[kind]
            if not self._blank(self.values, kind, n) and not self.values.get(f"{kind}.{n}.remove")
        ]

    def document(self) -> dict[str, Any]:
        """The section as `ShopService.edit` takes it (a catalog file's `shop:` shape)."""
        v = self.values
        taken = {v.get(f"{k}.{n}.id", "") for k in ("delivery", "payment") for n in self.rows[k]}

        def new_id(kind: str, base: str) -> str:
            # A row added in the form gets a key no other row has (the section requires one).
            stem = base if re.fullmatch(r"[a-z][a-z0-9_]{0,30}", base) else kind
            candidate, n = stem, 1
            while candidate in taken:
                n += 1
                candidate = f"{stem}_{n}"
            taken.add(candidate)
            return candidate

        delivery = []
        for n in self._kept("delivery"):
            carrier = v.get(f"delivery.{n}.carrier", "")
            delivery.append(
                {
                    "id": v.get(f"delivery.{n}.id") or new_id("delivery", carrier),
                    "carrier": carrier,
                    **{name: v.get(f"delivery.{n}.{name}", "") for name in DELIVERY_FIELDS},
                }
            )
        payment = []
        for n in self._kept("payment"):
            kind = v.get(f"payment.{n}.kind", "")
            payment.append(
                {
                    "id": v.get(f"payment.{n}.id") or new_id("payment", kind),
                    "kind": kind,
                    **{name: v.get(f"payment.{n}.{name}", "") for name in PAYMENT_FIELDS},
                }
            )
        charts = []
        for n in self._kept("chart"):
            lines = [
                _CELLS.split(line.strip())
                for line in v.get(f"chart.{n}.table", "").splitlines()
                if line.strip()
            ]
            charts.append(
                {
                    "category": v.get(f"chart.{n}.category", ""),
                    "columns": lines[0] if lines else [],
                    "rows": lines[1:],
                    "note": v.get(f"chart.{n}.note", ""),
                }
            )
        return {
            "name": v.get("name", ""),
            "delivery": {"options": delivery, "note": v.get("delivery.note", "")},
            "payment": {"options": payment, "note": v.get("payment.note", "")},
            "returns": {
                "days": v.get("returns.days", ""),
                "exchange": bool(v.get("returns.exchange")),
                "conditions": v.get("returns.conditions", ""),
                "how": v.get("returns.how", ""),
            },
            "size_charts": charts,
            # An empty contact is "none", not an empty line.
            "contacts": {name: v.get(f"contacts.{name}") or None for name in CONTACTS},
            "hours": [line.strip() for line in v.get("hours", "").splitlines() if line.strip()],
        }

    def errors(self, problems: tuple[Problem, ...]) -> dict[str, str]:
        """{form field: Ukrainian message} of the service's problems with `document()`."""
        kept = {kind: self._kept(kind) for kind in self.rows}
        found: dict[str, str] = {}
        for problem in problems:
            name, message = self._place(problem, kept)
            found.setdefault(name, message)
        return found

    @staticmethod
    def _place(problem: Problem, kept: dict[str, list[int]]) -> tuple[str, str]:
        loc, kind = problem.loc, problem.kind
        general = message_for(kind)
        head = loc[0] if loc else ""
        if head in {"delivery", "payment"} and len(loc) >= 3 and isinstance(loc[2], int):
            row = f"{head}.{kept[str(head)][loc[2]]}"
            leaf = str(loc[3]) if len(loc) > 3 else "title"
            if leaf in {"price", "free_from", "fee"}:
                return f"{row}.{leaf}", HINTS["price"]
            if leaf in {"carrier", "kind"}:
                return f"{row}.{leaf}", "оберіть зі списку"
            return f"{row}.{leaf}", general
        if head in {"delivery", "payment"}:
            what = "доставки" if head == "delivery" else "оплати"
            if kind == "too_short":
                return str(head), f"потрібен хоча б один спосіб {what}"
            if kind == "too_long":
                return str(head), "забагато способів: щонайбільше 20"
            return str(head), general
        if head == "size_charts" and len(loc) >= 2 and isinstance(loc[1], int):
            row = f"chart.{kept['chart'][loc[1]]}"
            leaf = str(loc[2]) if len(loc) > 2 else "table"
            if leaf in {"category", "note"}:
                return f"{row}.{leaf}", general
            return f"{row}.table", _table_message(problem)
        if head == "size_charts":
            return "charts", "забагато таблиць: щонайбільше 50"
        if head == "returns":
            if kind in {"value_error", "less_than_equal", "int_parsing", "int_from_float"}:
                days = f"від {MIN_RETURN_DAYS} до 365 днів цілим числом"
                if kind == "value_error":
                    days += ": менше не дозволяє закон «Про захист прав споживачів»"
                return "returns.days", days
            return "returns." + (str(loc[1]) if len(loc) > 1 else "days"), general
        if head == "contacts" and len(loc) > 1:
            return f"contacts.{loc[1]}", general
        if head == "hours":
            if kind == "too_long":
                return "hours", "щонайбільше 14 рядків"
            return "hours", "кожен рядок — до 300 знаків"
        if head == "name":
            return "name", general
        # The section's own rule over all of it: one size chart per category.
        return "charts", "для однієї категорії дві таблиці розмірів: залиште одну"


def _table_message(problem: Problem) -> str:
    counted = _CELL_COUNT.search(problem.message)
    if counted:
        line, cells, columns = (int(g) for g in counted.groups())
        return (
            f"рядок {line + 2}: клітинок {cells}, а в першому рядку (заголовку) {columns}; "
            "розділяйте клітинки знаком | або табуляцією"
        )
    if problem.kind in {"too_short", "missing"}:
        return "перший рядок — назви стовпців (щонайменше два), далі по рядку на розмір"
    if problem.kind == "too_long":
        return "завелика таблиця: до 10 стовпців і 30 рядків"
    if problem.kind in {"string_too_long", "string_too_short"}:
        return "клітинка має бути непорожньою і до 40 знаків"
    return message_for(problem.kind)
