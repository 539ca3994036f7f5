"""Accounts: `kramar admin create-user` makes the first one; only owners manage accounts in the
panel; the last owner cannot be demoted; every change is in the audit log, shown in the panel."""

from __future__ import annotations

import asyncio

from click.testing import CliRunner
from sqlalchemy import select

from app.admin.models import AdminUser, AuditEntry
from app.cli import main
from app.config import get_settings
from tests.admin.conftest import MANAGER, OWNER, Browser, shown


async def cli(env, args: list[str], stdin: str) -> tuple[int, str, str]:
    def invoke() -> tuple[int, str, str]:
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(main, args, env=env, input=stdin)
        finally:
            get_settings.cache_clear()
        return result.exit_code, result.stdout, result.stderr

    return await asyncio.to_thread(invoke)


async def test_the_first_owner_is_made_in_the_shell_and_signs_in(env, client):
    code, out, _ = await cli(
        env, ["admin", "create-user", "Olha", "--role", "owner", "--password-stdin"], OWNER[1]
    )
    assert code == 0 and "created owner 'olha'" in out
    code, _, err = await cli(env, ["admin", "create-user", "olha", "--password-stdin"], OWNER[1])
    assert code == 1 and "not created" in err
    code, _, err = await cli(env, ["admin", "create-user", "petro", "--password-stdin"], "short")
    assert code == 1 and "at least 10 characters" in err
    code, out, _ = await cli(
        env, ["admin", "set-password", "olha", "--password-stdin"], "another-password-2"
    )
    assert code == 0 and "sessions have ended" in out
    assert (await Browser(client).sign_in(*OWNER)).status_code == 401
    assert (await Browser(client).sign_in("olha", "another-password-2")).status_code == 200


async def test_a_manager_cannot_open_or_change_user_management(manager, session_factory):
    page = await manager.get("/admin/users")
    assert page.status_code == 403 and "лише власникам" in shown(page)
    made = await manager.post(
        "/admin/users", {"username": "intruder", "password": "intruder-pass-1", "role": "owner"}
    )
    assert made.status_code == 403
    promoted = await manager.post("/admin/users/2/role", {"role": "owner"})
    assert promoted.status_code == 403
    assert "/admin/users" not in (await manager.get("/admin")).text  # no menu entry either
    async with session_factory() as session:
        roles = dict((await session.execute(select(AdminUser.username, AdminUser.role))).all())
    assert roles == {"olha": "owner", "taras": "manager"}


async def test_an_owner_adds_an_account_and_it_signs_in(owner, client, session_factory):
    response = await owner.post(
        "/admin/users", {"username": "Iryna", "password": "iryna-password-1", "role": "manager"}
    )
    assert response.status_code == 200 and "iryna" in shown(response)
    weak = await owner.post("/admin/users", {"username": "petro", "password": "short"})
    assert weak.status_code == 422 and "щонайменше 10 символів" in shown(weak)
    assert 'value="petro"' in weak.text
    taken = await owner.post("/admin/users", {"username": "TARAS", "password": "taras-pass-12"})
    assert taken.status_code == 409
    async with session_factory() as session:
        entry = await session.scalar(select(AuditEntry).where(AuditEntry.action == "user.create"))
    assert entry is not None and entry.target == "user iryna" and entry.after == {"role": "manager"}
    assert "password" not in str(entry.after)


async def test_the_last_owner_cannot_demote_or_switch_off_themselves(owner, users):
    ids = {a.username: a.id for a in await users.accounts()}
    demoted = await owner.post(f"/admin/users/{ids['olha']}/role", {"role": "manager"})
    assert demoted.status_code == 409
    off = await owner.post(f"/admin/users/{ids['olha']}/active", {"active": "0"})
    assert off.status_code == 409
    assert (await owner.get("/admin/users")).status_code == 200  # still an owner, still in


async def test_a_role_change_ends_that_accounts_sessions(owner, manager_client, users):
    ids = {a.username: a.id for a in await users.accounts()}
    assert (await manager_client.get("/admin/catalog")).status_code == 200
    response = await owner.post(f"/admin/users/{ids['taras']}/role", {"role": "owner"})
    assert response.status_code == 200
    again = await manager_client.get("/admin/catalog", follow_redirects=False)
    assert again.status_code == 303
    assert (await manager_client.sign_in(*MANAGER)).status_code == 200
    assert (await manager_client.get("/admin/users")).status_code == 200  # now an owner


async def test_an_owner_sets_a_password_and_the_log_never_holds_it(owner, users, session_factory):
    ids = {a.username: a.id for a in await users.accounts()}
    response = await owner.post(
        f"/admin/users/{ids['taras']}/password", {"password": "fresh-password-9"}
    )
    assert response.status_code == 200
    assert await users.authenticate("taras", "fresh-password-9") is not None
    unknown = await owner.post("/admin/users/999/password", {"password": "x" * 12})
    assert unknown.status_code == 404
    async with session_factory() as session:
        entries = list(await session.scalars(select(AuditEntry)))
    assert all("fresh-password-9" not in str((e.before, e.after)) for e in entries)


async def test_the_audit_log_shows_who_changed_what_from_where(owner):
    await owner.htmx(
        "/admin/catalog/KR-KS-002/stock", {"size": "S", "colour": "пудровий", "on_hand": "3"}
    )
    log = shown(await owner.get("/admin/audit"))
    assert "stock.set · KR-KS-002 S/пудровий" in log
    assert '"on_hand": 7' in log and '"on_hand": 3' in log and "testclient" in log
    assert "auth.signin" in log
    only_stock = shown(await owner.get("/admin/audit", params={"action": "stock"}))
    assert "stock.set" in only_stock and "auth.signin" not in only_stock
