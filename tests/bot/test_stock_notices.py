"""Stock through the bot: only available sizes are offered, and a shortfall reaches the managers.

The write that makes on hand fall below the open orders happens in the API or in a `kramar
catalog import` run; the bot process, reading the notice outbox, tells the manager chat.
"""

from __future__ import annotations

from app.orders.service import OrderService
from tests.bot.conftest import MANAGERS, wait_for
from tests.bot.test_conversation import Customer, buttons, said
from tests.catalog.factories import product, write_yaml
from tests.fixtures_app import ADMIN


def told(telegram, *parts: str) -> bool:
    return any(all(p in (said(s) or "") for p in parts) for s in telegram.sent(MANAGERS))


async def test_a_reserved_last_piece_is_not_offered_and_lowering_it_tells_the_managers(
    bot_client, telegram
):
    olena, petro = Customer(bot_client, telegram, 601), Customer(bot_client, telegram, 602)
    await olena.presses("o:KR-KS-001")
    [colours] = await olena.presses("s:KR-KS-001:S")
    assert "c:KR-KS-001:S:молочний" in buttons(colours)  # молочний: the last piece
    [reserved] = await olena.presses("c:KR-KS-001:S:молочний")
    assert "Резерв" in said(reserved)

    await petro.presses("o:KR-KS-001")
    [colours] = await petro.presses("s:KR-KS-001:S")
    assert "c:KR-KS-001:S:молочний" not in buttons(colours)

    answer = await bot_client.put(
        "/api/v1/admin/products/KR-KS-001/stock",
        json={"size": "S", "colour": "молочний", "qty": 0},
        headers=ADMIN,
    )
    assert answer.status_code == 200, answer.text
    [line] = [s for s in answer.json()["stock"] if (s["size"], s["colour"]) == ("S", "молочний")]
    assert (line["on_hand"], line["reserved"], line["short"]) == (0, 1, True)
    await wait_for(
        telegram,
        lambda _: told(telegram, "KR-KS-001", "S / молочний", "на складі 0", "замовленнях 1"),
    )


async def test_a_shortfall_from_a_command_line_import_reaches_the_managers(
    bot_client, telegram, session_factory, kramar, tmp_path
):
    await OrderService(session_factory).start_order(603, "KR-KS-001", "S", "молочний")
    lowered = product("KR-KS-001", sizes=["S"], colours=["молочний"], stock=[])
    path = write_yaml(tmp_path / "file", [lowered])

    code, out, err = await kramar("catalog", "import", str(path))

    assert code == 0, err
    assert "below their open orders (KR-KS-001 S/молочний: on hand 0, reserved 1" in out
    await wait_for(
        telegram, lambda _: told(telegram, "імпорт каталогу", "KR-KS-001", "замовленнях 1")
    )
