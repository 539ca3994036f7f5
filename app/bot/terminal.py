"""`kramar chat`: the bot's dispatcher and conversation, in a terminal instead of Telegram.

An aiogram session that prints what the bot sends instead of calling the Bot API, and serves
photos from local files; the updates fed to the dispatcher are real aiogram `Update`s. So a
newcomer talks to exactly the handlers, dialog and catalog a Telegram customer reaches.

Type text to write to the shop; `/photo PATH` sends a picture; a number presses a button
under the last message; `/contact +380... [NAME]` shares a phone number (with the name a
Telegram contact carries); `/quit` ends. The terminal plays the managers' chat too:
`/manager TEXT` answers the customer as a manager would (a reply to the last message the bot
posted to the managers), `/bot` gives the chat back to the bot, as in Telegram.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import re
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.methods import (
    AnswerCallbackQuery,
    GetFile,
    GetMe,
    SendChatAction,
    SendMediaGroup,
    SendMessage,
    SendPhoto,
)
from aiogram.types import (
    CallbackQuery,
    Chat,
    Contact,
    File,
    InlineKeyboardMarkup,
    Message,
    PhotoSize,
    Update,
    User,
)

from app.bot.flood import FloodLimiter
from app.bot.outgoing import Outgoing
from app.bot.runtime import build_dispatcher
from app.bot.sender import Sender

if TYPE_CHECKING:
    from collections.abc import AsyncGenerator, Callable

    from aiogram.methods.base import TelegramMethod, TelegramType

    from app.config import Settings
    from app.services import Services

TAG = re.compile(r"<[^>]+>")
CHAT_ID = 1
MANAGERS = -1
"""The managers' chat, played by the terminal itself (`/manager`, `/bot`)."""
MANAGER = User(id=77, is_bot=False, first_name="Менеджер")
TOKEN = "1:terminal"  # noqa: S105 (never sent anywhere: the session prints instead)
# Update ids unique within the process and, started from the clock in microseconds, across
# restarts: effects are keyed by them (reserve:<update id>), so two chats (or two runs) that
# counted from the same second shared reservations.
_UPDATE_IDS = itertools.count(time.time_ns() // 1000)


class TerminalSession(BaseSession):
    """Prints sendMessage/sendPhoto; answers getFile from local files."""

    def __init__(self, out: TextIO) -> None:
        super().__init__()
        self._out = out
        self._ids = itertools.count(1)
        self.files: dict[str, bytes] = {}
        self.to_managers: Message | None = None
        """The bot's last message to the managers' chat: what `/manager` and `/bot` reply to."""
        self.buttons: list[str] = []

    def _message(self, chat_id: int, **fields: Any) -> Message:
        chat = Chat(id=chat_id, type="private" if chat_id > 0 else "supergroup")
        message = Message(message_id=next(self._ids), date=datetime.now(UTC), chat=chat, **fields)
        if chat_id == MANAGERS:
            self.to_managers = message
        return message

    def _print(self, chat_id: int, text: str, markup: Any = None, photo: bool = False) -> None:
        who = "крамар → менеджерам" if chat_id == MANAGERS else "крамар"
        head = f"[{who}]{' [фото]' if photo else ''}"
        self._out.write(f"{head} {html.unescape(TAG.sub('', text)) if text else ''}\n")
        if isinstance(markup, InlineKeyboardMarkup) and chat_id != MANAGERS:
            self.buttons = []
            for row in markup.inline_keyboard:
                for button in row:
                    self.buttons.append(button.callback_data or "")
                    self._out.write(f"   {len(self.buttons)}) {button.text}\n")
        elif markup is not None and getattr(markup, "keyboard", None):
            self._out.write("   (поділіться номером: /contact +380...)\n")
        self._out.flush()

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 (aiogram's signature)
    ) -> TelegramType:
        result: Any
        match method:
            case SendMessage():
                self._print(int(method.chat_id), method.text, method.reply_markup)
                result = self._message(int(method.chat_id), text=method.text)
            case SendPhoto():
                self._print(int(method.chat_id), method.caption or "", method.reply_markup, True)
                result = self._message(int(method.chat_id), caption=method.caption)
            case SendMediaGroup():
                self._out.write(f"[крамар] [{len(method.media)} фото]\n")
                result = [self._message(int(method.chat_id)) for _ in method.media]
            case GetFile():
                result = File(
                    file_id=method.file_id,
                    file_unique_id=method.file_id,
                    file_path=method.file_id,
                    file_size=len(self.files.get(method.file_id, b"")),
                )
            case GetMe():
                result = User(id=1, is_bot=True, first_name="kramar")
            case AnswerCallbackQuery() | SendChatAction():
                result = True
            case _:
                result = True
        return result  # type: ignore[no-any-return]

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 (aiogram's signature)
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        yield self.files[url.rsplit("/", 1)[-1]]

    async def close(self) -> None:
        return None


def _read(path: Path) -> bytes:
    return path.expanduser().read_bytes()


def terminal_settings(settings: Settings) -> Settings:
    """`settings` with the terminal as the managers' chat: `kramar chat` prints what managers
    get, so hand-offs reach a person there as in Telegram (without it the conversation would
    tell the customer that no manager can answer)."""
    return settings.model_copy(update={"manager_chat_id": MANAGERS})


class TerminalChat:
    """One customer (chat `chat_id`, 1 unless told) talking to the shop."""

    def __init__(self, services: Services, out: TextIO, *, chat_id: int = CHAT_ID) -> None:
        self.session = TerminalSession(out)
        self.bot = Bot(TOKEN, session=self.session)
        limiter = FloodLimiter(None, per_chat=0, overall=0)
        outgoing = Outgoing(Sender(self.bot, limiter), services.backend, MANAGERS)
        self.dispatcher = build_dispatcher(services, outgoing)
        self._out = out
        self._updates = _UPDATE_IDS
        self._messages = itertools.count(1)
        self._user = User(id=chat_id, is_bot=False, first_name="Гість")
        self._chat = Chat(id=chat_id, type="private")

    def _message(self, **fields: Any) -> Message:
        return Message(
            message_id=next(self._messages),
            date=datetime.now(UTC),
            chat=self._chat,
            from_user=self._user,
            **fields,
        )

    async def feed(self, update: Update) -> None:
        await self.dispatcher.feed_update(self.bot, update)

    async def say(self, line: str) -> bool:
        """Handle one typed line; False when the customer quits."""
        line = line.strip()
        if not line:
            return True
        if line in ("/quit", "/exit"):
            return False
        update_id = next(self._updates)
        if line.startswith("/photo"):
            path = Path(line.removeprefix("/photo").strip())
            try:
                content = await asyncio.to_thread(_read, path)
            except OSError as error:
                self._out.write(f"(не вдалося прочитати {path}: {error.strerror})\n")
                return True
            file_id = f"local-{update_id}"
            self.session.files[file_id] = content
            photo = PhotoSize(
                file_id=file_id,
                file_unique_id=file_id,
                width=800,
                height=800,
                file_size=len(content),
            )
            await self.feed(Update(update_id=update_id, message=self._message(photo=[photo])))
        elif line.startswith("/contact"):
            # "/contact +380 67 123 45 67 Олена": the number, then the name on the contact card.
            found = re.match(r"\s*(\+?[\d\s()\-]+\d)\s*(.*)", line.removeprefix("/contact"))
            phone, name = (found.group(1), found.group(2)) if found else (line[8:].strip(), "")
            contact = Contact(
                phone_number=phone.strip(), first_name=name.strip(), user_id=self._user.id
            )
            await self.feed(Update(update_id=update_id, message=self._message(contact=contact)))
        elif line.startswith(("/manager", "/bot")):
            await self._as_manager(update_id, line)
        elif line.isdigit() and 1 <= int(line) <= len(self.session.buttons):
            query = CallbackQuery(
                id=str(update_id),
                from_user=self._user,
                chat_instance="1",
                message=self._message(text="…"),
                data=self.session.buttons[int(line) - 1],
            )
            await self.feed(Update(update_id=update_id, callback_query=query))
        else:
            await self.feed(Update(update_id=update_id, message=self._message(text=line)))
        return True

    async def _as_manager(self, update_id: int, line: str) -> None:
        """`/manager TEXT` or `/bot` typed by the manager, as a reply in the managers' chat."""
        target = self.session.to_managers
        if target is None:
            self._out.write(
                "(менеджерам ще нічого не надходило: /manager відповідає на передачу)\n"
            )
            return
        text = line.removeprefix("/manager").strip() if line.startswith("/manager") else "/bot"
        if not text:
            self._out.write("(напишіть так: /manager ТЕКСТ)\n")
            return
        managers = Chat(id=MANAGERS, type="supergroup", title="Менеджери")
        message = Message(
            message_id=next(self._messages),
            date=datetime.now(UTC),
            chat=managers,
            from_user=MANAGER,
            text=text,
            reply_to_message=target,
        )
        await self.feed(Update(update_id=update_id, message=message))


async def chat_loop(services: Services, out: TextIO, read: Callable[[], str | None]) -> None:
    chat = TerminalChat(services, out)
    await chat.say("/start")
    while True:
        out.write("ви> ")
        out.flush()
        line = await asyncio.to_thread(read)
        if line is None or not await chat.say(line):
            break
