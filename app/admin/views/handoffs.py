"""Hand-off pages: the conversations waiting for a person, one with its context (the summary
the managers got, the customer's messages and photos from the inbox, the products named), take
it, reply (relayed to the customer through the bot), give it back to the bot.

Replies are sent by this process's Bot, which every process with a bot token has, also a web
replica with KRAMAR_TELEGRAM_WORKERS=0: the manager learns at once whether Telegram took the
message (a customer who blocked the bot is told here, not lost in a queue). The flood limiter
is shared through Redis, so replicas keep to Telegram's limits together.
"""

from __future__ import annotations

import logging
import re
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.exceptions import NotFoundException
from litestar.params import Parameter
from litestar.response import Template

from app.admin.context import PanelDep, client_address, provide_catalog, provide_panel
from app.admin.pages import page, see_other
from app.admin.views.forms import Form
from app.bot.download_errors import DownloadFailedError
from app.catalog.errors import ProductNotFoundError
from app.catalog.schemas import SKU_PATTERN
from app.catalog.service import CatalogService
from app.dialog.replies import Reply
from app.inputs import BIGINT_MAX
from app.vision.errors import ImageRejectedError
from app.vision.intake import sniff_format

logger = logging.getLogger(__name__)

Catalog = NamedDependency[CatalogService]
ChatParam = Annotated[
    int, Parameter(description="Telegram chat of the customer", ge=-BIGINT_MAX, le=BIGINT_MAX)
]
MAX_REPLY = 4000
# A SKU as the catalog writes it (app.catalog.schemas.SKU_PATTERN), inside running text.
_SKU = re.compile(r"(?<![A-Z0-9-])" + SKU_PATTERN.strip("^$") + r"(?![A-Z0-9-])")


def named_skus(summary: str) -> list[str]:
    """The SKUs a hand-off summary names (the photo's candidates, the product in focus), in
    order, once each; the panel shows those that are products."""
    seen: list[str] = []
    for word in _SKU.findall(summary):
        if "-" in word and word not in seen:
            seen.append(word)
    return seen


class HandoffController(Controller):
    path = "/handoffs"
    dependencies = {"panel": Provide(provide_panel), "catalog": Provide(provide_catalog)}

    @get("/")
    async def list_handoffs(self, request: Request[Any, Any, Any], panel: PanelDep) -> Template:
        return page(
            request,
            "handoffs.html",
            section="handoffs",
            waiting=await panel.handoffs.waiting(),
            telegram=panel.telegram is not None,
        )

    @get("/{chat_id:int}")
    async def show_handoff(
        self, request: Request[Any, Any, Any], panel: PanelDep, catalog: Catalog, chat_id: ChatParam
    ) -> Template:
        found = await panel.handoffs.waiting(chat_id=chat_id)
        if not found:
            raise NotFoundException("no live hand-off in this chat")
        handoff = found[0]
        products = []
        for sku in named_skus(handoff.summary)[:6]:
            try:
                products.append(await catalog.get_product(sku, include_inactive=True))
            except ProductNotFoundError:
                continue
        return page(
            request,
            "handoff.html",
            section="handoffs",
            handoff=handoff,
            messages=await panel.history.recent(chat_id),
            products=products,
            telegram=panel.telegram is not None,
        )

    @post("/{chat_id:int}/take", status_code=200)
    async def take(
        self, request: Request[Any, Any, Any], panel: PanelDep, chat_id: ChatParam
    ) -> Response[Any]:
        await self._live(panel, chat_id)
        await panel.handoffs.taken(chat_id, request.state.admin.actor)
        await panel.audit.record(
            request.state.admin,
            "handoff.take",
            f"chat {chat_id}",
            after={"taken_by": request.state.admin.actor},
            address=client_address(request),
        )
        return see_other(f"/admin/handoffs/{chat_id}", "taken")

    @post("/{chat_id:int}/reply", status_code=200)
    async def reply(
        self, request: Request[Any, Any, Any], panel: PanelDep, chat_id: ChatParam
    ) -> Response[Any]:
        form = await Form.read(request)
        text = form.text("text")[:MAX_REPLY]
        await self._live(panel, chat_id)
        if not text:
            return see_other(f"/admin/handoffs/{chat_id}")
        if panel.telegram is None:
            return page(
                request,
                "error.html",
                status_code=409,
                message="Telegram не налаштовано (KRAMAR_TELEGRAM_BOT_TOKEN): відповідь не "
                "надіслано.",
            )
        user = request.state.admin
        replies = await panel.conversation.from_manager(chat_id, text, by=user.actor)
        sender = panel.telegram.outgoing.sender
        delivered = True
        for answer in replies:
            delivered = bool(await sender.send_text(chat_id, answer.text)) and delivered
        await panel.audit.record(
            user,
            "handoff.reply",
            f"chat {chat_id}",
            after={"text": text, "delivered": delivered},
            address=client_address(request),
        )
        if not delivered:
            return page(
                request,
                "error.html",
                status_code=502,
                message="Telegram не прийняв повідомлення (можливо, клієнт заблокував бота).",
            )
        # The managers' chat sees it too, as if typed there; a reply to it reaches the customer.
        await panel.telegram.outgoing.deliver(
            chat_id,
            [
                Reply(
                    f"✍️ {user.username} (панель) → клієнту:\n{text}",
                    to_manager=True,
                    about_chat=chat_id,
                )
            ],
        )
        return see_other(f"/admin/handoffs/{chat_id}", "replied")

    @post("/{chat_id:int}/bot", status_code=200)
    async def back_to_bot(
        self, request: Request[Any, Any, Any], panel: PanelDep, chat_id: ChatParam
    ) -> Response[Any]:
        await self._live(panel, chat_id)
        user = request.state.admin
        replies = await panel.conversation.back_to_bot(chat_id, user.actor)
        if panel.telegram is not None:
            await panel.telegram.outgoing.deliver(chat_id, replies)
        await panel.audit.record(
            user,
            "handoff.close",
            f"chat {chat_id}",
            after={"closed_by": user.actor},
            address=client_address(request),
        )
        return see_other("/admin/handoffs", "returned")

    @get("/{chat_id:int}/photos/{update_id:int}", media_type="image/*")
    async def show_photo(
        self,
        state: State,
        panel: PanelDep,
        chat_id: ChatParam,
        update_id: Annotated[int, Parameter(ge=0, le=BIGINT_MAX)],
    ) -> Response[bytes]:
        if panel.telegram is None:
            raise NotFoundException("no Telegram configured")
        try:
            content = await panel.history.photo(
                panel.telegram.bot, chat_id, update_id, limit=state.settings.vision.max_bytes
            )
            kind = sniff_format(content) if content is not None else None
        except (DownloadFailedError, ImageRejectedError) as error:
            logger.info("hand-off photo of update %s not shown: %s", update_id, error)
            raise NotFoundException("photo not available") from error
        if content is None or kind is None:
            raise NotFoundException("no photo in this update")
        # Served only as a sniffed image type, with nosniff: a file cannot pass as a page.
        return Response(content, media_type=f"image/{kind.lower()}")

    @staticmethod
    async def _live(panel: PanelDep, chat_id: int) -> None:
        if not await panel.handoffs.waiting(chat_id=chat_id):
            raise NotFoundException("no live hand-off in this chat")
