"""Admin REST API for orders under /api/v1/admin/orders: list, read, move through statuses."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, MediaType, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import JSONBody, Parameter

from app.admin.auth import admin_guard
from app.inputs import BIGINT_MAX
from app.orders import schemas
from app.orders.errors import OrderError
from app.orders.service import OrderService
from app.orders.status import OrderStatus

ADMIN_ACTOR = "admin-api"


async def provide_orders(state: State) -> OrderService:
    """The process's one `OrderService` (app/services.py), shared with the bot: it is stateless."""
    orders: OrderService = state.orders
    return orders


def order_error(_: Request[Any, Any, Any], exc: OrderError) -> Response[dict[str, Any]]:
    """The error's own status (404, 409, 422) and its message, in the shape of app/errors.py."""
    return Response(
        {"status_code": exc.status_code, "detail": str(exc)},
        status_code=exc.status_code,
        media_type=MediaType.JSON,
    )


Orders = NamedDependency[OrderService]
OrderIdParam = Annotated[
    int, Parameter(description="Order id (KR-000123 is order 123)", ge=1, le=BIGINT_MAX)
]


class AdminOrderController(Controller):
    """Orders for the shop's manager; only registered when KRAMAR_ADMIN_TOKEN is set."""

    path = "/api/v1/admin/orders"
    tags = ["admin"]
    guards = [admin_guard]
    dependencies = {"orders": Provide(provide_orders)}
    exception_handlers = {OrderError: order_error}
    security = [{"BearerToken": []}]

    @get("/", operation_id="ListOrders", summary="Orders, newest first")
    async def list_orders(
        self,
        orders: Orders,
        status: Annotated[
            OrderStatus | None, Parameter(description="Only orders in this status")
        ] = None,
        limit: Annotated[int, Parameter(description="Page size", ge=1, le=100)] = 20,
        offset: Annotated[int, Parameter(description="Orders to skip", ge=0, le=BIGINT_MAX)] = 0,
    ) -> schemas.OrderPage:
        return await orders.list_orders(status, limit=limit, offset=offset)

    @get("/{order_id:int}", operation_id="GetOrder", summary="One order with items and history")
    async def get_order(self, orders: Orders, order_id: OrderIdParam) -> schemas.Order:
        return await orders.get(order_id)

    @post(
        "/{order_id:int}/status",
        operation_id="ChangeOrderStatus",
        summary="Move an order to another status",
        description=(
            "Allowed: draft→new|cancelled, new→confirmed|cancelled, confirmed→paid|cancelled, "
            "paid→shipped|cancelled, shipped→done. Anything else is 409. Cancelling releases the "
            "order's reservation; shipping takes its items off on hand."
        ),
        status_code=200,
    )
    async def change_order_status(
        self, orders: Orders, order_id: OrderIdParam, data: JSONBody[schemas.StatusChange]
    ) -> schemas.Order:
        return await orders.change_status(order_id, data.status, ADMIN_ACTOR, note=data.note)
