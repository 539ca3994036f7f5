"""A local stand-in for the Telegram Bot API, reached by a real `aiogram.Bot` over HTTP.

Point aiogram at it with `TelegramAPIServer.from_base(server.url)`. It serves what kramar uses:
getMe, getFile (and the file download route), sendMessage, sendPhoto, sendMediaGroup,
sendChatAction, answerCallbackQuery, editMessageText, editMessageReplyMarkup, setWebhook,
deleteWebhook, getWebhookInfo and getUpdates (a short long poll over updates a test queues).

It checks what Telegram checks and tests tend to trip on: the token (401), unknown methods (404),
HTML that Telegram would refuse ("can't parse entities"), texts over 4096 and captions over 1024
UTF-16 code units, callback data over 64 bytes, edits that change nothing. Tests script
failures with `fail()` (429 with retry_after, 5xx, 403 for a blocked bot), slow answers with
`delay()` and `hang()`, files that lie about their size (`add_file(declared_size=...)`) and
failing downloads, and read back `calls`, `downloads` and `sent()`. `flaky()` turns on a fault
mode for load runs: a seeded share of sends answered 429 (with `parameters.retry_after`, and
every call to that chat refused until then, as Telegram does) or 500/502, which deliver
nothing; `injected` lists the faults and `early` the calls that came before their retry_after.
"""

from __future__ import annotations

import hashlib
import html
import json
import math
import random
import re
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer

from tests.servers.http import LoopbackServer

if TYPE_CHECKING:
    from collections.abc import Callable

TOKEN = "123456:TEST-token"
BOT_ID = 123456
_STATUS_TEXT = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
_HTML_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
    "span", "tg-spoiler", "tg-emoji", "blockquote",
}  # fmt: skip


class TelegramError(Exception):
    """A Telegram-shaped failure: `status` and its description become the JSON error body."""

    def __init__(
        self, status: int, description: str | None = None, retry_after: int | None = None
    ) -> None:
        super().__init__(description)
        self.status = status
        self.description = description or _STATUS_TEXT.get(status, "Error")
        self.retry_after = retry_after

    def body(self) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "ok": False,
            "error_code": self.status,
            "description": self.description,
        }
        if self.retry_after is not None:
            payload["parameters"] = {"retry_after": self.retry_after}
        return payload


@dataclass(frozen=True)
class StoredFile:
    """A file the server knows, by its Telegram ids."""

    file_id: str
    file_unique_id: str
    file_path: str
    content: bytes
    width: int = 800
    height: int = 600
    declared_size: int | None = -1
    """What Telegram claims the size is: -1 the truth, None nothing, else that number."""

    @property
    def claimed(self) -> int | None:
        return len(self.content) if self.declared_size == -1 else self.declared_size

    def photo_size(self) -> dict[str, Any]:
        size: dict[str, Any] = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "width": self.width,
            "height": self.height,
        }
        if self.claimed is not None:
            size["file_size"] = self.claimed
        return size


@dataclass(frozen=True)
class Call:
    """One request, as the server saw it (failed ones too)."""

    method: str
    params: dict[str, Any]
    """Form or JSON fields; JSON-encoded form values (reply_markup, media...) are decoded."""
    files: dict[str, bytes]
    status: int
    at: float
    """`time.monotonic()` when the request arrived."""


@dataclass(frozen=True)
class Fault:
    """A call the fault mode refused."""

    method: str
    chat_id: int
    status: int
    at: float
    """`time.monotonic()` when the call arrived."""
    params: dict[str, Any]
    retry_after: int | None = None
    since: float | None = None
    """For a call inside a retry_after: seconds since the 429 that set it was answered."""


@dataclass
class _Flaky:
    share: float
    methods: frozenset[str]
    statuses: tuple[int, ...]
    retry_after: int
    in_a_row: int
    rng: random.Random
    streak: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    """Faults in a row per chat, so a retried send gets through in the end."""
    not_before: dict[int, float] = field(default_factory=dict)
    """Per chat, the monotonic time its retry_after runs out."""
    refused_at: dict[int, float] = field(default_factory=dict)
    """Per chat, when its last 429 was answered."""


@dataclass(frozen=True)
class Sent:
    """A message the bot sent or edited, as it would land in the chat."""

    method: str
    chat_id: int
    message_id: int
    text: str | None = None
    """The text or caption as sent (raw HTML when `parse_mode` is HTML)."""
    parse_mode: str | None = None
    reply_markup: dict[str, Any] | None = None
    photo: bytes | None = None
    photo_file_id: str | None = None
    reply_to: int | None = None
    media_group_id: str | None = None
    at: float = 0.0
    wall: float = field(default_factory=time.time)
    """`time.time()` when it was recorded: comparable with Postgres' `now()` on this machine."""

    @property
    def visible(self) -> str | None:
        """The text as the customer reads it: HTML tags dropped and entities decoded."""
        if self.text is None or self.parse_mode != "HTML":
            return self.text
        return parse_html(self.text)


class TelegramServer(LoopbackServer):
    """The stand-in on a free loopback port, served from a thread; one bot token per server."""

    def __init__(self, *, token: str = TOKEN, long_poll_cap: float = 0.5) -> None:
        """`long_poll_cap`: the most seconds getUpdates holds a request, whatever its timeout,
        so a test stopping its poller never waits long."""
        self.token = token
        self.long_poll_cap = long_poll_cap
        self.calls: list[Call] = []
        self.webhook: dict[str, Any] = {}
        """What setWebhook stored (url, secret_token, allowed_updates...); empty when unset."""
        self._sent: list[Sent] = []
        self._files: dict[str, StoredFile] = {}
        self._messages: dict[tuple[int, int], Sent] = {}
        self._message_ids: dict[int, int] = defaultdict(int)
        self._failures: dict[str, deque[TelegramError]] = defaultdict(deque)
        self._hangs: dict[str, deque[float]] = defaultdict(deque)
        self._delays: dict[str, deque[float]] = defaultdict(deque)
        self._download_failures: deque[tuple[str, float]] = deque()
        self._flaky: _Flaky | None = None
        self.injected: list[Fault] = []
        """Calls the fault mode (`flaky`) refused, 429s and 5xx."""
        self.early: list[Fault] = []
        """Calls to a chat before its 429's retry_after ran out (refused with 429 again)."""
        self.downloads: list[tuple[str, int]] = []
        """(file path, bytes the client took) per download served."""
        self._updates: deque[dict[str, Any]] = deque()
        self._update_id = 100
        self._media_groups = 0
        self._changed = threading.Condition()
        super().__init__(_handler(self))

    # --- lifecycle --------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The base for `TelegramAPIServer.from_base`."""
        return super().url

    def bot(self, token: str | None = None) -> Bot:
        """A real aiogram Bot talking to this server (close its session after the test)."""
        api = TelegramAPIServer.from_base(self.url)
        return Bot(token or self.token, session=AiohttpSession(api=api))

    def stop(self) -> None:
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()  # wakes long polls
        super().stop()

    # --- scripting ----------------------------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int = 1,
        times: int = 1,
        description: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` with `status` (429 carries `retry_after`)."""
        if status == 429 and description is None:
            description = f"Too Many Requests: retry after {retry_after}"
        error = TelegramError(status, description, retry_after if status == 429 else None)
        with self._changed:
            self._failures[method.lower()].extend([error] * times)

    def flaky(
        self,
        share: float,
        *,
        methods: tuple[str, ...] = ("sendMessage", "sendPhoto"),
        statuses: tuple[int, ...] = (429, 502, 500),
        retry_after: int = 1,
        in_a_row: int = 2,
        seed: int = 18,
    ) -> None:
        """Refuse `share` of the calls of `methods`, the status drawn from `statuses`; a 429
        carries `retry_after` and refuses every call to that chat until it has passed. At most
        `in_a_row` faults in a row per chat, so a sender that retries gets through. A 5xx
        delivers nothing here (Telegram's own may have: see docs/reliability.md)."""
        with self._changed:
            self._flaky = _Flaky(
                share=share,
                methods=frozenset(m.lower() for m in methods),
                statuses=statuses,
                retry_after=retry_after,
                in_a_row=in_a_row,
                rng=random.Random(seed),
            )

    def _flaky_fault(self, method: str, params: dict[str, Any], arrived: float) -> None:
        """Raise the fault mode's error for this call, if it draws one."""
        flaky = self._flaky
        if flaky is None or "chat_id" not in params:
            return
        chat_id = _chat_id(params)
        with self._changed:
            wait = flaky.not_before.get(chat_id, 0.0) - arrived
            if wait > 0:
                since = arrived - flaky.refused_at[chat_id]
                fault = Fault(method, chat_id, 429, arrived, params, math.ceil(wait), since)
                self.early.append(fault)
                raise TelegramError(429, None, fault.retry_after)
            if method.lower() not in flaky.methods:
                return
            if flaky.streak[chat_id] >= flaky.in_a_row or flaky.rng.random() >= flaky.share:
                flaky.streak[chat_id] = 0
                return
            flaky.streak[chat_id] += 1
            status = flaky.rng.choice(flaky.statuses)
            retry_after = flaky.retry_after if status == 429 else None
            if retry_after is not None:
                flaky.not_before[chat_id] = time.monotonic() + retry_after
                flaky.refused_at[chat_id] = time.monotonic()
            self.injected.append(Fault(method, chat_id, status, arrived, params, retry_after))
        description = f"Too Many Requests: retry after {retry_after}" if retry_after else None
        raise TelegramError(status, description, retry_after)

    def hang(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next `times` calls of `method` for `seconds`, then fail them with 504
        without delivering anything (a process killed meanwhile never learns the outcome)."""
        with self._changed:
            self._hangs[method.lower()].extend([seconds] * times)

    def fail_downloads(self, status: int = 404, *, times: int = 1) -> None:
        """Answer the next `times` file downloads with `status`."""
        with self._changed:
            self._download_failures.extend([("status", float(status))] * times)

    def hang_downloads(self, seconds: float, *, times: int = 1) -> None:
        """Hold the next `times` file downloads for `seconds` before sending anything."""
        with self._changed:
            self._download_failures.extend([("hang", seconds)] * times)

    def delay(self, method: str, seconds: float, *, times: int = 1) -> None:
        """Hold the next `times` calls of `method` for `seconds`, then answer them as usual."""
        with self._changed:
            self._delays[method.lower()].extend([seconds] * times)

    def add_file(
        self,
        content: bytes,
        *,
        file_path: str | None = None,
        width: int = 800,
        height: int = 600,
        declared_size: int | None = -1,
    ) -> StoredFile:
        """Store `content` as if a user had uploaded it; getFile and the download route serve it.

        `declared_size`: the size getFile and photo sizes claim (None: none; default the truth).
        """
        digest = hashlib.sha256(content).hexdigest()
        with self._changed:
            number = len(self._files) + 1
            stored = StoredFile(
                file_id=f"AgAC-{number}-{digest[:16]}",
                file_unique_id=f"AQAD{digest[:12]}",
                file_path=file_path or f"photos/file_{number}.jpg",
                content=content,
                width=width,
                height=height,
                declared_size=declared_size,
            )
            self._files[stored.file_id] = stored
        return stored

    def photo_sizes(self, content: bytes, *, width: int = 800, height: int = 600) -> list[Any]:
        """A `photo` list for an Update: a thumbnail and the full size, both downloadable."""
        thumb = self.add_file(content, width=width // 10 or 1, height=height // 10 or 1)
        full = self.add_file(content, width=width, height=height)
        return [thumb.photo_size(), full.photo_size()]

    def queue_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an Update for getUpdates; an `update_id` is assigned when missing."""
        with self._changed:
            if "update_id" not in update:
                self._update_id += 1
                update = {"update_id": self._update_id, **update}
            else:
                self._update_id = max(self._update_id, int(update["update_id"]))
            self._updates.append(update)
            self._changed.notify_all()
        return update

    def message_update(
        self,
        chat_id: int,
        text: str | None = None,
        *,
        photo: bytes | None = None,
        caption: str | None = None,
        first_name: str = "Olena",
    ) -> dict[str, Any]:
        """An Update dict of a customer writing (or sending a photo) to the bot; not queued."""
        message: dict[str, Any] = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": _chat(chat_id, first_name),
            "from": {"id": chat_id, "is_bot": False, "first_name": first_name},
        }
        if text is not None:
            message["text"] = text
        if photo is not None:
            message["photo"] = self.photo_sizes(photo)
        if caption is not None:
            message["caption"] = caption
        with self._changed:
            self._update_id += 1
            return {"update_id": self._update_id, "message": message}

    # --- reading back -------------------------------------------------------------------------

    def sent(self, chat_id: int | None = None) -> list[Sent]:
        """Messages sent or edited, in order; only `chat_id`'s when given."""
        with self._changed:
            return [s for s in self._sent if chat_id is None or s.chat_id == chat_id]

    def calls_to(self, method: str) -> list[Call]:
        with self._changed:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    def wait_for(
        self,
        condition: int | Callable[[list[Sent]], bool],
        timeout: float = 5.0,
    ) -> list[Sent]:
        """Block until `condition` (a count of sent messages, or a predicate over them) holds.

        Blocks the calling thread: from a test whose bot runs in the same event loop, use
        `await asyncio.to_thread(server.wait_for, ...)`.
        """

        def met() -> bool:
            if isinstance(condition, int):
                return len(self._sent) >= condition
            return condition(list(self._sent))

        with self._changed:
            if not self._changed.wait_for(met, timeout):
                raise TimeoutError(f"after {timeout}s the bot had sent {self._sent!r}")
            return list(self._sent)

    # --- the API ------------------------------------------------------------------------------

    def _next_message_id(self, chat_id: int) -> int:
        with self._changed:
            self._message_ids[chat_id] += 1
            return self._message_ids[chat_id]

    def _record(self, call: Call) -> None:
        with self._changed:
            self.calls.append(call)

    def _take_failure(self, method: str) -> TelegramError | None:
        with self._changed:
            queue = self._failures.get(method.lower())
            return queue.popleft() if queue else None

    def _deliver(self, sent: Sent) -> dict[str, Any]:
        with self._changed:
            self._sent.append(sent)
            self._messages[(sent.chat_id, sent.message_id)] = sent
            self._changed.notify_all()
        return self._message(sent)

    def _message(self, sent: Sent) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": sent.message_id,
            "date": int(time.time()),
            "chat": _chat(sent.chat_id),
            "from": {
                "id": BOT_ID,
                "is_bot": True,
                "first_name": "Kramar",
                "username": "kramar_bot",
            },
        }
        if sent.photo_file_id is not None:
            stored = self._files[sent.photo_file_id]
            message["photo"] = [stored.photo_size()]
            if sent.text is not None:
                message["caption"] = sent.visible
        elif sent.text is not None:
            message["text"] = sent.visible
        if sent.reply_markup and "inline_keyboard" in sent.reply_markup:
            # Telegram echoes only inline keyboards; reply keyboards live in the client.
            message["reply_markup"] = sent.reply_markup
        if sent.media_group_id is not None:
            message["media_group_id"] = sent.media_group_id
        if sent.reply_to is not None and (sent.chat_id, sent.reply_to) in self._messages:
            message["reply_to_message"] = self._message(
                self._messages[(sent.chat_id, sent.reply_to)]
            )
        return message

    def dispatch(self, method: str, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        """The `result` of `method`, or raises `TelegramError`."""
        name = method.lower()
        handler = getattr(self, f"_api_{name}", None)
        if handler is None:
            raise TelegramError(404)
        failure = self._take_failure(name)
        if failure is not None:
            raise failure
        return handler(params, files)

    def _api_getme(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        return {
            "id": BOT_ID,
            "is_bot": True,
            "first_name": "Kramar",
            "username": "kramar_bot",
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }

    def _api_getfile(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        stored = self._file(str(params.get("file_id", "")))
        result: dict[str, Any] = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_path": stored.file_path,
        }
        if stored.claimed is not None:
            result["file_size"] = stored.claimed
        return result

    def _api_sendmessage(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat_id = _chat_id(params)
        text = str(params.get("text") or "")
        parse_mode = params.get("parse_mode") or None
        _check_text(text, parse_mode, 4096, "message is too long")
        _check_markup(params.get("reply_markup"))
        return self._deliver(
            Sent(
                method="sendMessage",
                chat_id=chat_id,
                message_id=self._next_message_id(chat_id),
                text=text,
                parse_mode=parse_mode,
                reply_markup=params.get("reply_markup"),
                reply_to=_reply_to(params),
                at=time.monotonic(),
            )
        )

    def _api_sendphoto(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat_id = _chat_id(params)
        stored = self._media(params.get("photo"), files, field="photo")
        caption = params.get("caption")
        parse_mode = params.get("parse_mode") or None
        if caption is not None:
            _check_text(str(caption), parse_mode, 1024, "message caption is too long")
        _check_markup(params.get("reply_markup"))
        return self._deliver(
            Sent(
                method="sendPhoto",
                chat_id=chat_id,
                message_id=self._next_message_id(chat_id),
                text=caption,
                parse_mode=parse_mode,
                reply_markup=params.get("reply_markup"),
                photo=stored.content,
                photo_file_id=stored.file_id,
                reply_to=_reply_to(params),
                at=time.monotonic(),
            )
        )

    def _api_sendmediagroup(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        chat_id = _chat_id(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise TelegramError(400, "Bad Request: wrong number of media in the album")
        with self._changed:
            self._media_groups += 1
            group_id = f"1000{self._media_groups}"
        prepared = []
        for item in media:
            if item.get("type") != "photo":
                raise TelegramError(400, "Bad Request: unsupported media type in the album")
            caption = item.get("caption")
            parse_mode = item.get("parse_mode") or None
            if caption is not None:
                _check_text(str(caption), parse_mode, 1024, "message caption is too long")
            prepared.append((self._media(item.get("media"), files, field="media"), caption, item))
        messages = []
        for stored, caption, item in prepared:
            messages.append(
                self._deliver(
                    Sent(
                        method="sendMediaGroup",
                        chat_id=chat_id,
                        message_id=self._next_message_id(chat_id),
                        text=caption,
                        parse_mode=item.get("parse_mode") or None,
                        photo=stored.content,
                        photo_file_id=stored.file_id,
                        media_group_id=group_id,
                        at=time.monotonic(),
                    )
                )
            )
        return messages

    def _api_sendchataction(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        _chat_id(params)
        return True

    def _api_answercallbackquery(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        if not params.get("callback_query_id"):
            raise TelegramError(400, "Bad Request: query is too old or query ID is invalid")
        return True

    def _api_editmessagetext(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        old = self._editable(params)
        text = str(params.get("text") or "")
        parse_mode = params.get("parse_mode") or None
        _check_text(text, parse_mode, 4096, "message is too long")
        markup = params.get("reply_markup")
        if text == old.text and markup == old.reply_markup:
            raise TelegramError(400, "Bad Request: message is not modified")
        return self._edit(
            old, "editMessageText", text=text, parse_mode=parse_mode, reply_markup=markup
        )

    def _api_editmessagereplymarkup(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        old = self._editable(params)
        markup = params.get("reply_markup")
        _check_markup(markup)
        if markup == old.reply_markup:
            raise TelegramError(400, "Bad Request: message is not modified")
        return self._edit(
            old,
            "editMessageReplyMarkup",
            text=old.text,
            parse_mode=old.parse_mode,
            reply_markup=markup,
        )

    def _api_setwebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        url = str(params.get("url") or "")
        if url and not url.startswith("https://"):
            raise TelegramError(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        with self._changed:
            if params.get("drop_pending_updates") in (True, "true", "True"):
                self._updates.clear()
            self.webhook = {k: v for k, v in params.items() if k != "drop_pending_updates"}
            if not url:
                self.webhook = {}
        return True

    def _api_deletewebhook(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        with self._changed:
            if params.get("drop_pending_updates") in (True, "true", "True"):
                self._updates.clear()
            self.webhook = {}
        return True

    def _api_getwebhookinfo(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        with self._changed:
            webhook = dict(self.webhook)
            pending = len(self._updates)
        info: dict[str, Any] = {
            "url": webhook.get("url", ""),
            "has_custom_certificate": "certificate" in webhook,
            "pending_update_count": pending,
        }
        if "allowed_updates" in webhook:
            info["allowed_updates"] = webhook["allowed_updates"]
        if "max_connections" in webhook:
            info["max_connections"] = int(webhook["max_connections"])
        if "ip_address" in webhook:
            info["ip_address"] = webhook["ip_address"]
        return info

    def _api_getupdates(self, params: dict[str, Any], files: dict[str, bytes]) -> Any:
        offset = int(params.get("offset") or 0)
        limit = int(params.get("limit") or 100)
        timeout = min(float(params.get("timeout") or 0), self.long_poll_cap)
        deadline = time.monotonic() + timeout
        with self._changed:
            if self.webhook:
                raise TelegramError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; "
                    "use deleteWebhook to delete the webhook first",
                )
            while True:
                # An offset confirms every update before it, as in Telegram.
                while self._updates and int(self._updates[0]["update_id"]) < offset:
                    self._updates.popleft()
                if self._updates or self._stopping.is_set():
                    return list(self._updates)[:limit]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._changed.wait(remaining)

    def _editable(self, params: dict[str, Any]) -> Sent:
        if params.get("inline_message_id"):
            raise TelegramError(400, "Bad Request: inline messages are not supported here")
        key = (_chat_id(params), int(params.get("message_id") or 0))
        with self._changed:
            old = self._messages.get(key)
        if old is None:
            raise TelegramError(400, "Bad Request: message to edit not found")
        return old

    def _edit(self, old: Sent, method: str, **changes: Any) -> dict[str, Any]:
        return self._deliver(
            Sent(
                method=method,
                chat_id=old.chat_id,
                message_id=old.message_id,
                photo=old.photo,
                photo_file_id=old.photo_file_id,
                at=time.monotonic(),
                **changes,
            )
        )

    def _file(self, file_id: str) -> StoredFile:
        with self._changed:
            stored = self._files.get(file_id)
        if stored is None:
            raise TelegramError(400, "Bad Request: wrong file identifier/HTTP URL specified")
        return stored

    def _media(self, value: Any, files: dict[str, bytes], *, field: str) -> StoredFile:
        """A photo given as `attach://name`, a file part named like the field, or a file_id."""
        if isinstance(value, str) and value.startswith("attach://"):
            content = files.get(value.removeprefix("attach://"))
            if content is None:
                raise TelegramError(400, f"Bad Request: file {value} not found in the request")
            return self.add_file(content)
        if value is None and field in files:
            return self.add_file(files[field])
        if not value:
            raise TelegramError(400, "Bad Request: there is no photo in the request")
        return self._file(str(value))

    def download(self, file_path: str) -> bytes | None:
        with self._changed:
            for stored in self._files.values():
                if stored.file_path == file_path:
                    return stored.content
        return None


def parse_html(text: str) -> str:
    """The visible text of Telegram HTML, or `TelegramError(400)` where Telegram would refuse it.

    Like Telegram: only its tags, properly nested; `&lt; &gt; &amp; &quot;` and numeric entities
    decode, any other `&` is literal; a `<` must start a supported tag.
    """
    out: list[str] = []
    stack: list[str] = []
    position = 0
    for match in _HTML_TOKEN.finditer(text):
        out.append(text[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token.startswith("&"):
            out.append(html.unescape(token))
            continue
        tag = _HTML_TAG.fullmatch(token)
        if tag is None:
            raise TelegramError(
                400,
                f"Bad Request: can't parse entities: Unclosed start tag at byte offset "
                f"{len(text[: match.start()].encode())}",
            )
        closing, name = tag.group(1), tag.group(2).lower()
        if name not in _HTML_TAGS:
            raise TelegramError(
                400, f'Bad Request: can\'t parse entities: Unsupported start tag "{name}"'
            )
        if not closing:
            stack.append(name)
        elif not stack or stack.pop() != name:
            raise TelegramError(
                400, f'Bad Request: can\'t parse entities: Unmatched end tag "{name}"'
            )
    if stack:
        raise TelegramError(
            400,
            "Bad Request: can't parse entities: "
            f'Can\'t find end tag corresponding to start tag "{stack[-1]}"',
        )
    out.append(text[position:])
    return "".join(out)


_HTML_TOKEN = re.compile(r"&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);|<[^>]*>?")
_HTML_TAG = re.compile(r"<(/?)([a-zA-Z][\w-]*)(?:\s[^<>]*)?>")


def utf16_length(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _check_text(text: str, parse_mode: Any, limit: int, too_long: str) -> None:
    visible = parse_html(text) if parse_mode == "HTML" else text
    if not visible.strip():
        raise TelegramError(400, "Bad Request: message text is empty")
    if utf16_length(visible) > limit:
        raise TelegramError(400, f"Bad Request: {too_long}")


def _check_markup(markup: Any) -> None:
    """Telegram refuses inline buttons whose callback data is not 1-64 bytes."""
    if not isinstance(markup, dict):
        return
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = button.get("callback_data")
            if data is not None and not 1 <= len(str(data).encode()) <= 64:
                raise TelegramError(400, "Bad Request: BUTTON_DATA_INVALID")


def _chat(chat_id: int, first_name: str = "Olena") -> dict[str, Any]:
    if chat_id > 0:
        return {"id": chat_id, "type": "private", "first_name": first_name}
    return {"id": chat_id, "type": "supergroup", "title": "Group"}


def _chat_id(params: dict[str, Any]) -> int:
    try:
        return int(params["chat_id"])
    except (KeyError, TypeError, ValueError):
        raise TelegramError(400, "Bad Request: chat not found") from None


def _reply_to(params: dict[str, Any]) -> int | None:
    reply = params.get("reply_parameters")
    if isinstance(reply, dict) and "message_id" in reply:
        return int(reply["message_id"])
    if params.get("reply_to_message_id"):
        return int(params["reply_to_message_id"])
    return None


# Fields that Telegram takes as JSON-serialized objects; everything else stays a string.
_JSON_FIELDS = {
    "reply_markup", "media", "allowed_updates", "reply_parameters", "entities",
    "caption_entities", "link_preview_options",
}  # fmt: skip


def _parse_body(content_type: str, body: bytes) -> tuple[dict[str, Any], dict[str, bytes]]:
    kind = content_type.split(";")[0].strip().lower()
    if kind == "application/json":
        loaded = json.loads(body or b"{}")
        return (loaded if isinstance(loaded, dict) else {}), {}
    if kind == "multipart/form-data":
        fields, files = _parse_multipart(content_type, body)
    else:
        fields, files = dict(parse_qsl(body.decode(), keep_blank_values=True)), {}
    params: dict[str, Any] = {
        name: json.loads(value) if name in _JSON_FIELDS else value for name, value in fields.items()
    }
    return params, files


def _parse_multipart(content_type: str, body: bytes) -> tuple[dict[str, str], dict[str, bytes]]:
    boundary = re.search(r'boundary="?([^";]+)"?', content_type)
    if boundary is None:
        raise ValueError("multipart body without a boundary")
    fields: dict[str, str] = {}
    files: dict[str, bytes] = {}
    for chunk in body.split(b"--" + boundary.group(1).encode())[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        data = data.removesuffix(b"\r\n")
        headers = head.decode("latin-1")
        name = re.search(r'[;\s]name="([^"]*)"', headers)
        if name is None:
            continue
        if re.search(r"filename\*?=", headers):
            files[name.group(1)] = data
        else:
            fields[name.group(1)] = data.decode()
    return fields, files


_API_PATH = re.compile(r"/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)/?")
_FILE_PATH = re.compile(r"/file/bot(?P<token>[^/]+)/(?P<path>.+)")


def _handler(server: TelegramServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as aiohttp expects of Telegram

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet test output

        def do_GET(self) -> None:
            split = urlsplit(self.path)
            download = _FILE_PATH.fullmatch(split.path)
            if download is not None:
                if download["token"] != server.token:
                    self._json(401, TelegramError(401).body())
                    return
                with server._changed:
                    failures = server._download_failures
                    failure = failures.popleft() if failures else None
                if failure is not None and failure[0] == "hang":
                    server._stopping.wait(failure[1])
                if failure is not None and failure[0] == "status":
                    status = int(failure[1])
                    self._json(status, TelegramError(status).body())
                    return
                content = server.download(download["path"])
                if content is None:
                    self._json(404, TelegramError(404).body())
                else:
                    taken = self._stream(content)
                    with server._changed:
                        server.downloads.append((download["path"], taken))
                return
            self._api(split.path, dict(parse_qsl(split.query)), {})

        def do_POST(self) -> None:
            body = self._body()
            try:
                params, files = _parse_body(self.headers.get("Content-Type") or "", body)
            except (ValueError, UnicodeDecodeError):
                self._json(400, TelegramError(400, "Bad Request: can't parse request").body())
                return
            self._api(urlsplit(self.path).path, params, files)

        def _body(self) -> bytes:
            # aiohttp streams uploads (an InputFile is an async generator) with chunked encoding.
            if self.headers.get("Transfer-Encoding", "").lower() != "chunked":
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()

        def _api(self, path: str, params: dict[str, Any], files: dict[str, bytes]) -> None:
            arrived = time.monotonic()
            route = _API_PATH.fullmatch(path)
            if route is None:
                self._json(404, TelegramError(404).body())
                return
            method = route["method"]
            with server._changed:
                hangs = server._hangs[method.lower()]
                held = hangs.popleft() if hangs else None
                delays = server._delays[method.lower()]
                delayed = delays.popleft() if delays else None
            if delayed is not None:
                server._stopping.wait(delayed)
            if held is not None:
                server._stopping.wait(held)
                server._record(Call(method, params, files, 504, arrived))
                self._json(504, TelegramError(504, "Gateway Timeout").body())
                return
            status = 200
            try:
                if route["token"] != server.token:
                    raise TelegramError(401)
                server._flaky_fault(method, params, arrived)
                payload: dict[str, Any] = {
                    "ok": True,
                    "result": server.dispatch(method, params, files),
                }
            except TelegramError as error:
                status, payload = error.status, error.body()
            server._record(Call(method, params, files, status, arrived))
            self._json(status, payload)

        def _stream(self, data: bytes) -> int:
            """Send a file in 64 KiB writes; the bytes written before the client hung up."""
            written = 0
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                for start in range(0, len(data), 64 * 1024):
                    self.wfile.write(data[start : start + 64 * 1024])
                    written += len(data[start : start + 64 * 1024])
                self.wfile.flush()
            except OSError:
                self.close_connection = True  # the client stopped reading
            return written

        def _json(self, status: int, payload: dict[str, Any]) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _send(self, status: int, data: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (cancelled long poll) before the answer

    return Handler
