"""Order pages: the list by status, an order with its lines and customer, status changes (the
manager chat's transitions, and the same notice to the customer), cancel, CSV export."""

from __future__ import annotations

import csv
import io
import logging
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter, QueryParameter
from litestar.response import Template

from app.admin.context import PanelDep, client_address, provide_panel
from app.admin.messages import STATUS_ACTIONS, STATUS_NAMES
from app.admin.pages import page, see_other
from app.admin.views.forms import Form
from app.inputs import BIGINT_MAX, INT32_MAX
from app.orders import schemas
from app.orders.notices import CUSTOMER_NOTICE
from app.orders.status import TRANSITIONS, DeliveryMethod, OrderStatus

logger = logging.getLogger(__name__)

PAGE_SIZE = 30
OrderIdParam = Annotated[int, Parameter(description="Order id", ge=1, le=BIGINT_MAX)]
StatusParam = Annotated[str, Parameter(description="Only this status", max_length=16)]
QueryParam = Annotated[str, Parameter(description="Number, name or phone", max_length=100)]
DELIVERY = {DeliveryMethod.NOVA_POSHTA: "Нова пошта", DeliveryMethod.COURIER: "кур'єр"}


def _status(value: str) -> OrderStatus | None:
    try:
        return OrderStatus(value) if value else None
    except ValueError:
        return None


def safe_cell(value: object) -> str:
    """A CSV cell a spreadsheet will not run: customers' text starting with = + - @ (or a tab
    or CR) would be a formula in Excel or LibreOffice, so it gets a leading apostrophe."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in {"=", "+", "-", "@", "\t", "\r"} else text


def orders_csv(orders: list[schemas.Order]) -> str:
    """The orders as CSV for a spreadsheet (UTF-8 with BOM, so Excel reads the Cyrillic)."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(
        [
            "Номер",
            "Створено",
            "Статус",
            "Клієнт",
            "Телефон",
            "Доставка",
            "Місто",
            "Відділення або адреса",
            "Товари",
            "Сума, грн",
        ]
    )
    for order in orders:
        items = "; ".join(
            f"{line.sku} {line.name} {line.size}/{line.colour} × {line.qty} по {line.unit_price}"
            for line in order.lines
        )
        writer.writerow(
            [
                safe_cell(cell)
                for cell in (
                    order.number,
                    order.created_at.isoformat(timespec="minutes"),
                    STATUS_NAMES.get(order.status, order.status),
                    order.customer_name,
                    order.phone,
                    DELIVERY.get(order.delivery_method) if order.delivery_method else "",
                    order.city,
                    order.branch or order.address,
                    items,
                    f"{order.total:.2f}",
                )
            ]
        )
    return out.getvalue()


class OrderController(Controller):
    path = "/orders"
    dependencies = {"panel": Provide(provide_panel)}

    @get("/")
    async def list_orders(
        self,
        request: Request[Any, Any, Any],
        panel: PanelDep,
        status: StatusParam = "",
        q: QueryParam = "",
        page_number: Annotated[int, QueryParameter(name="page", ge=1, le=INT32_MAX)] = 1,
    ) -> Template:
        found = await panel.orders.list_orders(
            _status(status), query=q or None, limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE
        )
        return page(
            request,
            "orders.html",
            section="orders",
            found=found,
            status=status,
            q=q,
            statuses=STATUS_NAMES,
            page_number=page_number,
            pages=max((found.total + PAGE_SIZE - 1) // PAGE_SIZE, 1),
        )

    @get("/export.csv", media_type="text/csv")
    async def export_orders(
        self, panel: PanelDep, status: StatusParam = "", q: QueryParam = ""
    ) -> Response[str]:
        orders = await panel.orders.export(_status(status), query=q or None)
        return Response(
            orders_csv(orders),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="orders.csv"'},
        )

    @get("/{order_id:int}")
    async def show_order(
        self, request: Request[Any, Any, Any], panel: PanelDep, order_id: OrderIdParam
    ) -> Template:
        order = await panel.orders.get(order_id)
        moves = [
            (to.value, STATUS_ACTIONS[to.value])
            for to in OrderStatus
            if to in TRANSITIONS[order.status] and to is not OrderStatus.CANCELLED
        ]
        return page(
            request,
            "order.html",
            section="orders",
            order=order,
            moves=moves,
            can_cancel=OrderStatus.CANCELLED in TRANSITIONS[order.status],
            statuses=STATUS_NAMES,
            delivery=DELIVERY,
        )

    @post("/{order_id:int}/status", status_code=200)
    async def change_status(
        self, request: Request[Any, Any, Any], panel: PanelDep, order_id: OrderIdParam
    ) -> Response[Any]:
        form = await Form.read(request)
        to = _status(form.text("status"))
        if to is None or to is OrderStatus.CANCELLED:
            return see_other(f"/admin/orders/{order_id}")
        return await self._move(request, panel, order_id, to, form.text("note")[:1000] or None)

    @post("/{order_id:int}/cancel", status_code=200)
    async def cancel_order(
        self, request: Request[Any, Any, Any], panel: PanelDep, order_id: OrderIdParam
    ) -> Response[Any]:
        form = await Form.read(request)
        reason = form.text("reason")[:1000] or "скасовано в панелі"
        return await self._move(request, panel, order_id, OrderStatus.CANCELLED, reason)

    @staticmethod
    async def _move(
        request: Request[Any, Any, Any],
        panel: PanelDep,
        order_id: int,
        to: OrderStatus,
        note: str | None,
    ) -> Response[Any]:
        before = await panel.orders.get(order_id)
        actor = request.state.admin.actor
        if to is OrderStatus.CANCELLED:
            order = await panel.orders.cancel(order_id, actor, note or "")
        else:
            order = await panel.orders.change_status(order_id, to, actor, note=note)
        await panel.audit.record(
            request.state.admin,
            "order.status",
            order.number,
            before={"status": before.status},
            after={"status": order.status, "note": note},
            address=client_address(request),
        )
        notice = CUSTOMER_NOTICE.get(order.status)
        if notice and panel.telegram is not None:
            # As the manager chat's buttons do: the customer hears of the change.
            await panel.telegram.outgoing.sender.send_text(
                order.chat_id, notice.format(number=order.number)
            )
        done = "cancelled" if to is OrderStatus.CANCELLED else "status"
        return see_other(f"/admin/orders/{order_id}", done)
