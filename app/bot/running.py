"""The parts of a running bot, as the rest of the app holds them.

Apart from `app.bot.runtime` (which builds them) so that code holding a `TelegramBot`, such as
the admin panel, can name the type without importing aiogram: with no bot token nothing does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aiogram import Bot, Dispatcher

    from app.bot.inbox import Inbox
    from app.bot.outgoing import Outgoing
    from app.bot.worker import InboxWorker


class TelegramBot:
    """The bot, its dispatcher, the inbox and its workers, and the way replies go out.

    A plain class, not a dataclass: Litestar's dependency signatures (the panel's) resolve a
    dataclass's field types, and these would need aiogram imported.
    """

    __slots__ = ("bot", "dispatcher", "inbox", "outgoing", "worker")

    def __init__(
        self,
        bot: Bot,
        dispatcher: Dispatcher,
        inbox: Inbox,
        worker: InboxWorker,
        outgoing: Outgoing,
    ) -> None:
        self.bot = bot
        self.dispatcher = dispatcher
        self.inbox = inbox
        self.worker = worker
        self.outgoing = outgoing
