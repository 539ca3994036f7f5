"""Checkout through the conversation itself: every step, confirm, cancel, and what the database
says at each point (real Postgres, real order service, demo catalog)."""

from __future__ import annotations

from dataclasses import replace

from app.catalog.importer import import_catalog
from app.catalog.service import CatalogService
from app.dialog.replies import Reply
from app.orders.service import manager
from app.orders.status import OrderStatus
from tests.dialog.conftest import Shopper, data, for_managers, seen
from tests.fixtures_demo import HASHER, demo_items


async def to_summary(olena: Shopper, colour: str = "бежевий") -> list[Reply]:
    await olena.presses("o:KR-KS-001")
    await olena.presses("s:KR-KS-001:S")
    await olena.presses(f"c:KR-KS-001:S:{colour}")
    await olena.shares_contact("+380 67 123 45 67")
    await olena.presses("d:np")
    return await olena.says("Київ, відділення 25")


async def test_each_step_moves_the_stage_and_the_draft_in_postgres(services):
    olena = Shopper(services.conversation, 601)
    sizes = await olena.presses("o:KR-KS-001")
    assert data(sizes) == ["s:KR-KS-001:S", "s:KR-KS-001:M", "s:KR-KS-001:L", "s:KR-KS-001:XL"]
    colours = await olena.presses("s:KR-KS-001:S")
    assert data(colours) == ["c:KR-KS-001:S:бежевий", "c:KR-KS-001:S:молочний", "o:KR-KS-001"]
    assert await services.orders.draft_for(601) is None

    reserved = await olena.presses("c:KR-KS-001:S:бежевий")
    assert "Відкладаю для вас Костюм «Мрія», S, бежевий — 2 450 грн" in seen(reserved)
    draft = await services.orders.draft_for(601)
    assert draft is not None and (draft.lines[0].colour, draft.phone) == ("бежевий", None)

    delivery = await olena.says("Олена, 067 123 45 67")
    assert data(delivery) == ["d:np", "d:courier"]
    assert (await services.orders.draft_for(601)).phone == "+380671234567"

    await olena.presses("d:courier")
    [summary] = await olena.says("Київ, вул. Хрещатик 1")
    assert "Кур'єр: Київ, вул. Хрещатик 1" in seen([summary])
    assert data([summary]) == [f"ok:{draft.id}", f"x:{draft.id}"]

    confirmed = await olena.presses(f"ok:{draft.id}")
    assert confirmed[0].edit_pressed and not confirmed[0].buttons  # the summary's buttons go
    assert "прийнято" in seen(confirmed)
    [notice] = for_managers(confirmed)
    assert "Нове замовлення" in notice.text and notice.about_chat == 601
    assert (await services.orders.get(draft.id)).status is OrderStatus.NEW
    assert await services.orders.draft_for(601) is None


async def test_a_question_mid_checkout_is_answered_and_the_contact_asked_again(services):
    olena = Shopper(services.conversation, 602)
    await olena.presses("o:KR-KS-003")
    await olena.presses("s:KR-KS-003:XL")
    await olena.presses("c:KR-KS-003:XL:оливковий")
    replies = await olena.says("а скільки коштує костюм Ритм?")
    assert "1 890 грн" in seen(replies)
    assert replies[-1].ask_contact
    assert await services.orders.draft_for(602) is not None


async def test_a_branch_typed_instead_of_pressing_a_delivery_button_is_nova_poshta(services):
    olena = Shopper(services.conversation, 603)
    await olena.presses("o:KR-KS-001")
    await olena.presses("s:KR-KS-001:S")
    await olena.presses("c:KR-KS-001:S:бежевий")
    await olena.shares_contact("+380 67 123 45 67")
    [summary] = await olena.says("Львів, 12")  # no button pressed
    assert "Нова Пошта: Львів, відділення №12" in summary.text


async def test_cancelling_a_confirmed_new_order_cancels_it_for_real(services):
    olena = Shopper(services.conversation, 604)
    [summary] = await to_summary(olena, "молочний")  # the last piece of S in milk
    confirm, cancel = data([summary])
    await olena.presses(confirm)
    order_id = int(cancel.removeprefix("x:"))

    cancelled = await olena.presses(cancel)

    assert cancelled[0].edit_pressed
    assert "скасовано" in seen(cancelled)
    [notice] = for_managers(cancelled)
    assert "Клієнт скасував замовлення" in notice.text
    order = await services.orders.get(order_id)
    assert order.status is OrderStatus.CANCELLED
    assert [(e.to_status, e.actor) for e in order.events][-1] == (
        OrderStatus.CANCELLED,
        "customer:604",
    )
    # The stock is back: another customer gets the last piece.
    taras = Shopper(services.conversation, 605)
    await taras.presses("o:KR-KS-001")
    await taras.presses("s:KR-KS-001:S")
    assert "Відкладаю" in seen(await taras.presses("c:KR-KS-001:S:молочний"))


async def test_an_order_a_manager_confirmed_cannot_be_cancelled_by_button(services):
    olena = Shopper(services.conversation, 606)
    [summary] = await to_summary(olena)
    confirm, cancel = data([summary])
    await olena.presses(confirm)
    order_id = int(cancel.removeprefix("x:"))
    await services.orders.change_status(order_id, OrderStatus.CONFIRMED, manager(77))

    refused = await olena.presses(cancel)

    assert "скасувати його тут не можна" in seen(refused)
    assert "h" in data(refused)  # the manager is offered
    assert for_managers(refused) == []
    assert (await services.orders.get(order_id)).status is OrderStatus.CONFIRMED


async def test_a_draft_is_cancelled_with_its_reservation(services):
    olena = Shopper(services.conversation, 607)
    [summary] = await to_summary(olena)
    _, cancel = data([summary])
    cancelled = await olena.presses(cancel)
    assert "скасовано" in seen(cancelled) and for_managers(cancelled) == []
    assert await services.orders.draft_for(607) is None


async def test_pressing_confirm_twice_confirms_once(services):
    olena = Shopper(services.conversation, 608)
    [summary] = await to_summary(olena)
    confirm, _ = data([summary])
    first = await olena.presses(confirm)
    second = await olena.presses(confirm)
    assert len(for_managers(first)) == 1 and for_managers(second) == []
    assert "уже прийнято" in seen(second)


async def test_another_chats_order_cannot_be_pressed(services):
    olena = Shopper(services.conversation, 609)
    [summary] = await to_summary(olena)
    confirm, cancel = data([summary])
    mallory = Shopper(services.conversation, 610)
    for forged in (confirm, cancel):
        assert "кнопка вже не діє" in seen(await mallory.presses(forged))
    order = await services.orders.draft_for(609)
    assert order is not None and order.status is OrderStatus.DRAFT


async def test_a_product_deactivated_mid_checkout_is_answered_politely(services):
    olena = Shopper(services.conversation, 611)
    await olena.presses("o:KR-KS-001")
    await olena.presses("s:KR-KS-001:S")
    async with CatalogService(
        services.db.session_factory, services.product_cache, services.catalog_version
    ) as catalog:
        await catalog.deactivate("KR-KS-001")
    replies = await olena.presses("c:KR-KS-001:S:бежевий")
    assert seen(replies) == "Цей товар більше не продається. Надішліть фото чи назву іншої речі."
    assert await services.orders.draft_for(611) is None


async def test_a_button_names_its_colour_so_a_reordered_catalog_reserves_the_right_one(
    services,
):
    olena = Shopper(services.conversation, 612)
    await olena.presses("o:KR-KS-001")
    colours = await olena.presses("s:KR-KS-001:S")
    [item] = [i for i in demo_items() if i.product.sku == "KR-KS-001"]
    declared = item.product.colours  # рожевий, бежевий, молочний → бежевий, молочний, рожевий
    reordered = item.product.model_copy(update={"colours": declared[1:] + declared[:1]})
    await import_catalog(
        services.db.session_factory, [replace(item, product=reordered)], photo_hasher=HASHER
    )
    await services.catalog_version.current()
    reserved = await olena.presses(data(colours)[0])  # pressed after the catalog changed
    assert "S, бежевий" in seen(reserved)


async def test_a_colour_or_size_that_is_gone_is_offered_again(services):
    olena = Shopper(services.conversation, 613)
    gone_colour = await olena.presses("c:KR-KS-001:S:фіолетовий")
    assert seen(gone_colour).startswith("Такого кольору вже немає.")
    assert "c:KR-KS-001:S:бежевий" in data(gone_colour)
    gone_size = await olena.presses("s:KR-KS-001:XXXL")
    assert seen(gone_size).startswith("Такого розміру вже немає.")
    assert "s:KR-KS-001:S" in data(gone_size)
    old_index = await olena.presses("c:KR-KS-001:S:1")  # a button from before values
    assert seen(old_index).startswith("Такого кольору вже немає.")


async def test_forged_or_malformed_buttons_get_a_polite_answer(services):
    olena = Shopper(services.conversation, 614)
    for forged in (
        "",
        "zzz",
        "c:KR-KS-001:S",
        "c:::",
        "s:",
        "p:not a sku",
        "o:KR-NOPE-404",
        "ok:abc",
        "x:-1",
        "d:pigeon",
        "h:1",
        "c:KR-KS-001:S:бежевий:extra",
        "ok:99999999999999999999999",
    ):
        replies = await olena.presses(forged)
        assert replies and all(r.text for r in replies), forged
    assert await services.orders.draft_for(614) is None
