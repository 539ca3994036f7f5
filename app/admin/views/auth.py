"""Signing in and out."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import Provide
from litestar.params import QueryParameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_303_SEE_OTHER

from app.admin.context import PanelDep, client_address, provide_panel
from app.admin.guards import PUBLIC
from app.admin.pages import LOGIN_PATH, page, safe_next
from app.admin.security import ADMIN_PATH, SESSION_COOKIE
from app.admin.views.forms import Form

WRONG = "Неправильне ім'я користувача або пароль."


def _session_cookie(panel: PanelDep, token: str | None) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=token or "",
        path=ADMIN_PATH,
        httponly=True,
        secure=panel.secure,
        samesite="lax",
        # No max_age: the cookie ends with the browser; the server ends the session sooner.
        max_age=None if token else 0,
        expires=None if token else 0,
    )


class AuthController(Controller):
    path = "/"
    dependencies = {"panel": Provide(provide_panel)}

    @get("/login", name="admin-login", opt={PUBLIC: True})
    async def show_login(
        self,
        request: Request[Any, Any, Any],
        target: Annotated[
            str,
            QueryParameter(name="next", description="Panel path to open after", max_length=500),
        ] = "",
    ) -> Template:
        return page(request, "login.html", next=safe_next(target), username="")

    @post("/login", opt={PUBLIC: True}, status_code=200)
    async def sign_in(self, request: Request[Any, Any, Any], panel: PanelDep) -> Response[Any]:
        form = await Form.read(request)
        username, password = form.text("username"), form.text("password")
        target = safe_next(form.text("next"))
        address = client_address(request)
        context = {"next": target, "username": username[:64]}
        wait = await panel.throttle.wait(username, address)
        if wait:
            minutes = (wait + 59) // 60
            await panel.audit.record(
                username[:64] or "?", "auth.refused", "sign-in", address=address
            )
            return page(
                request,
                "login.html",
                status_code=429,
                error=f"Забагато невдалих спроб. Спробуйте за {minutes} хв.",
                **context,
            )
        user = await panel.users.authenticate(username, password)
        if user is None:
            await panel.throttle.failed(username, address)
            await panel.audit.record(
                username[:64] or "?", "auth.failed", "sign-in", address=address
            )
            return page(request, "login.html", status_code=401, error=WRONG, **context)
        await panel.throttle.succeeded(username)
        # A fresh token whatever cookie came in (no session fixation); the old one ends.
        if old := request.cookies.get(SESSION_COOKIE):
            await panel.sessions.end(old)
        token = await panel.sessions.create(user, address)
        await panel.audit.record(user, "auth.signin", "sign-in", address=address)
        response = Redirect(target, status_code=HTTP_303_SEE_OTHER)
        response.set_cookie(_session_cookie(panel, token))
        return response

    @post("/logout", status_code=200)
    async def sign_out(self, request: Request[Any, Any, Any], panel: PanelDep) -> Response[Any]:
        await panel.sessions.end(request.cookies.get(SESSION_COOKIE, ""))
        await panel.audit.record(
            request.state.admin, "auth.signout", "sign-in", address=client_address(request)
        )
        response = Redirect(LOGIN_PATH, status_code=HTTP_303_SEE_OTHER)
        response.set_cookie(_session_cookie(panel, None))
        return response
