"""What a turn has already sent, so a turn taken again after a crash does not send it twice.

A worker killed after some of a turn's messages went out, and before the update was marked
done, leaves the update to be taken again when its lease runs out. The worker gives each turn a
`TurnSends`; the sender asks it before every Telegram call and reports every call it is done
with (sent, or given up), and each is written to the update's inbox row (`replies_sent`,
fenced by the lease token) before the next call. The turn taken again skips as many calls as
the row records, and sends only the rest. What remains doubled is at most one message per
killed turn: the one sent and not yet recorded when the process died.

This holds as long as the re-run makes its calls in the same order, which the dialog does: its
effects are idempotent per update (orders) or recorded in Postgres (a hand-off already open
makes the re-run relay instead of opening another; its one message is then skipped). The
holding message is not counted (`unrecorded`): whether it goes out depends on timing.
"""

from __future__ import annotations

import logging
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiogram.methods import EditMessageReplyMarkup, SendMediaGroup
from aiogram.types import Chat, Message

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from aiogram.methods import TelegramMethod

logger = logging.getLogger(__name__)

PLACEHOLDER_ID = 0
"""The message id of a message not sent again: Telegram's ids start at 1."""

_current: ContextVar[TurnSends | None] = ContextVar("kramar_turn_sends", default=None)


class TurnSends:
    """One turn's count of Telegram calls: skipped while an earlier attempt settled them,
    recorded after each one this attempt settles."""

    def __init__(
        self,
        record: Callable[[int], Awaitable[bool]],
        *,
        already: int,
        lost: Callable[[], None],
    ) -> None:
        """`record(n)`: store that `n` calls are settled, False if the lease was lost (then
        `lost()` is called and nothing more should be sent); `already`: calls an earlier
        attempt recorded."""
        self._record = record
        self._already = already
        self._lost = lost
        self.calls = 0
        """Calls of this turn so far, skipped ones included."""

    def skip(self) -> bool:
        """True if the next call was settled by an earlier attempt (it is counted as made)."""
        if self.calls < self._already:
            self.calls += 1
            return True
        return False

    async def settled(self) -> None:
        """Record one more call done with: sent, or given up (Telegram refused it, or kept
        failing), so that a re-run neither repeats it nor counts the calls after it wrong.
        The database being away loses only this record (the count is absolute, the next one
        catches up), never the turn."""
        self.calls += 1
        try:
            held = await self._record(self.calls)
        except Exception:
            logger.warning("could not record message %d of the turn as sent", self.calls)
            return
        if not held:
            self._lost()


def current() -> TurnSends | None:
    """The running turn's record, or None outside a turn (panel, reposts, notices)."""
    return _current.get()


def begin(sends: TurnSends) -> Token[TurnSends | None]:
    """Make `sends` the record of the current task's turn; `end` takes the token back."""
    return _current.set(sends)


def end(token: Token[TurnSends | None]) -> None:
    _current.reset(token)


def unrecorded() -> None:
    """Send from this task (and tasks it starts) outside the turn's record."""
    _current.set(None)


def placeholder(method: TelegramMethod[Any], chat_id: int | str) -> Any:
    """What the skipped `method` stands for to its caller: a message, a list, or True."""
    chat = Chat(id=chat_id if isinstance(chat_id, int) else 0, type="private")
    message = Message(message_id=PLACEHOLDER_ID, date=datetime.now(UTC), chat=chat)
    if isinstance(method, SendMediaGroup):
        return [message] * len(method.media)
    if isinstance(method, EditMessageReplyMarkup):
        return True
    return message


def is_placeholder(message: Message) -> bool:
    return message.message_id == PLACEHOLDER_ID
