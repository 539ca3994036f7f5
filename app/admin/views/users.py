"""Accounts of the panel, for owners only: add, change role, deactivate, set a password."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.di import Provide
from litestar.params import Parameter
from litestar.response import Template

from app.admin.context import PanelDep, client_address, provide_panel
from app.admin.errors import AdminError
from app.admin.guards import owners_only
from app.admin.messages import ROLE_NAMES
from app.admin.models import MANAGER
from app.admin.pages import page, see_other
from app.admin.views.forms import Form
from app.inputs import BIGINT_MAX

UserIdParam = Annotated[int, Parameter(description="Account id", ge=1, le=BIGINT_MAX)]


class UserController(Controller):
    path = "/users"
    guards = [owners_only]
    dependencies = {"panel": Provide(provide_panel)}

    @get("/")
    async def list_users(self, request: Request[Any, Any, Any], panel: PanelDep) -> Template:
        return await self._page(request, panel)

    @staticmethod
    async def _page(
        request: Request[Any, Any, Any],
        panel: PanelDep,
        *,
        error: str | None = None,
        values: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        return page(
            request,
            "users.html",
            section="users",
            accounts=await panel.users.accounts(),
            roles=ROLE_NAMES,
            error=error,
            values=values or {},
            status_code=status_code,
        )

    @post("/", status_code=200)
    async def create_user(self, request: Request[Any, Any, Any], panel: PanelDep) -> Response[Any]:
        form = await Form.read(request)
        username, role = form.text("username"), form.text("role") or MANAGER
        try:
            user = await panel.users.create(username, form.text("password"), role)
        except AdminError as error:
            values = {"username": username, "role": role}
            return await self._page(
                request, panel, error=error.uk, values=values, status_code=error.status_code
            )
        await panel.audit.record(
            request.state.admin,
            "user.create",
            f"user {user.username}",
            after={"role": user.role},
            address=client_address(request),
        )
        return see_other("/admin/users", "user")

    @post("/{user_id:int}/role", status_code=200)
    async def set_role(
        self, request: Request[Any, Any, Any], panel: PanelDep, user_id: UserIdParam
    ) -> Response[Any]:
        form = await Form.read(request)
        try:
            before, after = await panel.users.set_role(user_id, form.text("role"))
        except AdminError as error:
            return await self._page(request, panel, error=error.uk, status_code=error.status_code)
        await self._audit(request, panel, "user.role", user_id, {"role": before}, {"role": after})
        return see_other("/admin/users", "user")

    @post("/{user_id:int}/active", status_code=200)
    async def set_active(
        self, request: Request[Any, Any, Any], panel: PanelDep, user_id: UserIdParam
    ) -> Response[Any]:
        form = await Form.read(request)
        try:
            before, after = await panel.users.set_active(user_id, form.flag("active"))
        except AdminError as error:
            return await self._page(request, panel, error=error.uk, status_code=error.status_code)
        await self._audit(
            request, panel, "user.active", user_id, {"active": before}, {"active": after}
        )
        return see_other("/admin/users", "user")

    @post("/{user_id:int}/password", status_code=200)
    async def set_password(
        self, request: Request[Any, Any, Any], panel: PanelDep, user_id: UserIdParam
    ) -> Response[Any]:
        form = await Form.read(request)
        account = next((a for a in await panel.users.accounts() if a.id == user_id), None)
        if account is None:
            return await self._page(
                request, panel, error="Такого користувача немає.", status_code=404
            )
        try:
            await panel.users.set_password(account.username, form.text("password"))
        except AdminError as error:
            return await self._page(request, panel, error=error.uk, status_code=error.status_code)
        # Never the password itself, nor its hash.
        await self._audit(request, panel, "user.password", user_id, None, {"password": "змінено"})
        return see_other("/admin/users", "password")

    @staticmethod
    async def _audit(
        request: Request[Any, Any, Any],
        panel: PanelDep,
        action: str,
        user_id: int,
        before: dict[str, Any] | None,
        after: dict[str, Any],
    ) -> None:
        names = {a.id: a.username for a in await panel.users.accounts()}
        await panel.audit.record(
            request.state.admin,
            action,
            f"user {names.get(user_id, user_id)}",
            before=before,
            after=after,
            address=client_address(request),
        )
