"""The durable inbox: Telegram updates stored in Postgres before they are acknowledged.

Telegram delivers each update at least once and retries until it gets a 200, so the webhook
stores the update and answers only after the commit; the primary key on `update_id` turns a
redelivery into a no-op. Workers then take updates under a lease:

- one chat at a time, in `update_id` order: an update is taken only when no earlier update of
  its chat is still pending (leased or not), so a chat's messages never overtake each other;
- several replicas at once: `FOR UPDATE SKIP LOCKED` lets claimers pass each other's rows;
- crash-safe: a lease that runs out (the process died) makes the update available again;
- poison-safe: after `max_attempts` the update is set aside as `dead` and kept for a person;
  a failure that can never succeed (`permanent=True`) is set aside at once;
- bursts folded: text messages a customer sent while the previous turn ran are claimed with
  the first of them (up to `burst_max`), so "ало?" and a question get one answer;
- fenced: each claim carries a fresh lease token, and finishing, failing, renewing or releasing
  acts only on rows still held under that token, so a worker whose lease ran out cannot touch
  an update another worker has taken since. A running turn renews its lease (`renew`);
- replies not sent twice: a turn records each message it sends (`sent`), and a turn taken
  again after a crash skips those (`app.bot.delivered`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import asyncpg
from sqlalchemy import text

from app.bot.group_commit import GroupCommit, GroupCommitFullError
from app.bot.models import DEAD, DONE, PENDING
from app.bot.updates import RejectedUpdateError, shown_body
from app.db.listen import listen_forever, raw_dsn

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Sequence

    from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

logger = logging.getLogger(__name__)

CHANNEL = "kramar_inbox"
PUT_TIMEOUT = 5.0
CLOSE_GRACE_SECONDS = 5.0
"""Seconds `Inbox.close` waits for the webhook's writes and connections at shutdown."""
PUT_POOL_SIZE = 10
PUT_MAX_BATCH = 500
"""Updates written by one statement at most (a text update is about 0.5 KB)."""
PUT_MAX_WAITING = 5000
"""Updates waiting for a batch at most; past it the webhook answers 503 (Telegram retries)."""
PUT_BATCHES_IN_FLIGHT = 2
"""Batches written at once: one commits while the next gathers the updates that arrive."""
_NO_WAIT = timedelta(0)

# update_id, chat_key, kind, media_group_id, payload JSON, trace JSON, wait before claimable
_Row = tuple[int, int, str, str | None, str, str | None, timedelta]


class InboxUnavailableError(Exception):
    """The database did not take the update; the webhook answers 503 and Telegram retries."""


class InboxBusyError(InboxUnavailableError):
    """More updates are waiting for their commit than the webhook queues (`PUT_MAX_WAITING`)."""


# Postgres rejects the value itself (out of range, untranslatable): retrying cannot help.
# Anything else (connection, schema behind, permissions) is ours to fix, and Telegram keeps
# the update meanwhile.
_REFUSED_VALUES = (asyncpg.DataError,)


MESSAGE_FIELDS = ("message", "edited_message", "business_message")


def message_of(update: dict[str, Any]) -> dict[str, Any] | None:
    """The update's message, whichever field carries it."""
    return next((update[f] for f in MESSAGE_FIELDS if isinstance(update.get(f), dict)), None)


def update_kind(update: dict[str, Any]) -> str:
    """A bounded label for metrics and logs: message, photo, album, callback, contact, command."""
    if "callback_query" in update:
        return "callback"
    message = message_of(update)
    if message is None:
        return "other"
    if message.get("media_group_id"):
        return "album"
    if "photo" in message or "document" in message:
        return "photo"
    if "contact" in message:
        return "contact"
    if str(message.get("text", "")).startswith("/"):
        return "command"
    return "message"


def chat_key(update: dict[str, Any]) -> int:
    """The chat whose queue the update joins; updates without a chat each get their own."""
    message = message_of(update)
    if message is not None and isinstance(message.get("chat"), dict):
        return int(message["chat"]["id"])
    callback = update.get("callback_query")
    if isinstance(callback, dict):
        message = callback.get("message")
        if isinstance(message, dict) and isinstance(message.get("chat"), dict):
            return int(message["chat"]["id"])
        if isinstance(callback.get("from"), dict):
            return int(callback["from"]["id"])
    return -int(update["update_id"])


def customer_chat(update: dict[str, Any]) -> int | None:
    """The private chat to answer when the update cannot be processed; None for groups and
    updates without a customer (the managers' chat learns of failures from the logs)."""
    message = message_of(update)
    callback = update.get("callback_query")
    if message is None and isinstance(callback, dict) and isinstance(callback.get("message"), dict):
        message = callback["message"]
    if message is None or not isinstance(message.get("chat"), dict):
        return None
    chat = message["chat"]
    if chat.get("type") != "private" or not isinstance(chat.get("id"), int):
        return None
    return int(chat["id"])


def media_group(update: dict[str, Any]) -> str | None:
    message = message_of(update)
    if message is None or not message.get("media_group_id"):
        return None
    return str(message["media_group_id"])[:64]


@dataclass(frozen=True)
class Claimed:
    """One unit of work: an update, every part of one album (first part first), or a burst of
    text messages of one chat (first first), answered as one turn."""

    update_ids: list[int]
    chat_key: int
    kind: str
    payloads: list[dict[str, Any]] = field(repr=False)
    attempts: int
    received_at_epoch: float
    traces: list[dict[str, str]] = field(default_factory=list, repr=False)
    """Trace contexts of the requests that stored these updates (for span links)."""
    lease_token: str = ""
    """The claim's fence: only the holder of this token may finish, fail or renew it."""
    replies_sent: int = 0
    """Telegram messages an earlier attempt of this turn sent (`app.bot.delivered`)."""


# The head of each chat's queue that is available now and not leased, oldest first. Earlier
# pending updates of the same chat (leased, backing off, or an album still gathering) block it.
_CLAIM = text(
    """
    WITH heads AS (
        SELECT i.update_id, i.chat_key, i.media_group_id
        FROM telegram_inbox i
        WHERE i.status = 'pending'
          AND i.available_at <= now()
          AND (i.locked_until IS NULL OR i.locked_until < now())
          AND i.attempts < :max_attempts
          AND NOT (i.chat_key = ANY(CAST(:busy AS bigint[])))
          AND NOT EXISTS (
              SELECT 1 FROM telegram_inbox j
              WHERE j.status = 'pending' AND j.chat_key = i.chat_key AND j.update_id < i.update_id
          )
        ORDER BY i.update_id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ),
    parts AS (
        SELECT p.update_id FROM telegram_inbox p JOIN heads h
          ON p.chat_key = h.chat_key AND p.media_group_id = h.media_group_id
        WHERE p.status = 'pending' AND p.update_id > h.update_id
        FOR UPDATE OF p SKIP LOCKED
    )
    UPDATE telegram_inbox t
    SET locked_until = now() + CAST(:lease AS interval), locked_by = :worker,
        lease_token = CAST(:token AS uuid), attempts = t.attempts + 1
    WHERE t.update_id IN (SELECT update_id FROM heads UNION SELECT update_id FROM parts)
    RETURNING t.update_id, t.chat_key, t.kind, t.media_group_id, t.payload, t.attempts,
              extract(epoch FROM t.received_at) AS received, t.trace_context, t.replies_sent
    """
)

# A burst: the text messages that follow a claimed text message of a private chat, up to the
# first update that is anything else (or not available yet), taken under the same lease and
# answered as one turn. `bool_and` over the window keeps only the unbroken run from the head.
_FOLLOWERS = text(
    """
    WITH next AS (
        SELECT f.update_id, f.kind, f.media_group_id, f.available_at, f.locked_until, f.payload
        FROM telegram_inbox f
        WHERE f.chat_key = :chat AND f.status = 'pending' AND f.update_id > :head
        ORDER BY f.update_id
        LIMIT :limit
        FOR UPDATE SKIP LOCKED
    ),
    run AS (
        SELECT update_id, bool_and(
            kind = 'message' AND media_group_id IS NULL AND available_at <= now()
            AND (locked_until IS NULL OR locked_until < now())
            AND jsonb_typeof(payload -> 'message' -> 'text') = 'string'
        ) OVER (ORDER BY update_id) AS unbroken
        FROM next
    )
    UPDATE telegram_inbox t
    SET locked_until = now() + CAST(:lease AS interval), locked_by = :worker,
        lease_token = CAST(:token AS uuid), attempts = t.attempts + 1
    WHERE t.update_id IN (SELECT update_id FROM run WHERE unbroken)
    RETURNING t.update_id, t.chat_key, t.kind, t.media_group_id, t.payload, t.attempts,
              extract(epoch FROM t.received_at) AS received, t.trace_context, t.replies_sent
    """
)

# Updates whose lease ran out after their last allowed attempt: a process died on them every
# time. Set aside, so the chat's later updates are not blocked behind them forever.
_BURY = text(
    """
    UPDATE telegram_inbox SET status = 'dead', locked_until = NULL, lease_token = NULL,
        processed_at = now(), last_error = coalesce(last_error, 'lease expired on the last attempt')
    WHERE status = 'pending' AND attempts >= :max_attempts
      AND (locked_until IS NULL OR locked_until < now())
    RETURNING update_id
    """
)

# Group commit: every update waiting at that moment goes in one statement, so one round trip
# and one transaction: the rows are durable when it returns, and a failure stores none of them.
# Bind parameters only (arrays, one per column). The notification is sent once per batch, and
# only when a row was actually inserted; it reaches every listening worker at commit, other
# replicas too.
_PUT = """
    WITH stored AS (
        INSERT INTO telegram_inbox
            (update_id, chat_key, kind, media_group_id, payload, trace_context, available_at,
             status, attempts)
        SELECT u.id, u.chat, u.kind, u.grp, u.payload::jsonb, u.trace::jsonb, now() + u.wait,
               'pending', 0
        FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[],
                    $7::interval[]) AS u(id, chat, kind, grp, payload, trace, wait)
        ON CONFLICT (update_id) DO NOTHING
        RETURNING update_id
    )
    SELECT coalesce(array_agg(update_id), '{}') AS ids,
           CASE WHEN count(*) > 0 THEN pg_notify('kramar_inbox', '') END AS woken
    FROM stored
"""

_REJECT = "INSERT INTO telegram_rejected (update_id, reason, body) VALUES ($1, $2, $3)"

# Retention, a batch at a time: SKIP LOCKED lets replicas purge side by side without waiting,
# and a short statement never holds locks for long.
_PURGE_BATCH = 1000
_PURGE = {
    "done": text(
        """
        DELETE FROM telegram_inbox WHERE update_id IN (
            SELECT update_id FROM telegram_inbox
            WHERE status = 'done' AND processed_at < now() - CAST(:age AS interval)
            LIMIT :batch FOR UPDATE SKIP LOCKED)
        """
    ),
    "dead": text(
        """
        DELETE FROM telegram_inbox WHERE update_id IN (
            SELECT update_id FROM telegram_inbox
            WHERE status = 'dead'
              AND coalesce(processed_at, received_at) < now() - CAST(:age AS interval)
            LIMIT :batch FOR UPDATE SKIP LOCKED)
        """
    ),
    "rejected": text(
        """
        DELETE FROM telegram_rejected WHERE id IN (
            SELECT id FROM telegram_rejected
            WHERE received_at < now() - CAST(:age AS interval)
            LIMIT :batch FOR UPDATE SKIP LOCKED)
        """
    ),
}

_STATS = text(
    """
    SELECT count(*), coalesce(extract(epoch FROM now() - min(received_at)), 0)
    FROM telegram_inbox WHERE status = 'pending'
    """
)


class _WebhookConnection(asyncpg.Connection):  # type: ignore[misc]
    """A connection of the webhook's pool, which only ever runs one autocommit statement at a
    time and sets no session state: handing it back needs no reset query (asyncpg's default
    costs a round trip per batch, on the acknowledgement's path). An open transaction would
    still be rolled back (asyncpg always does that)."""

    def get_reset_query(self) -> str:
        return ""


class Inbox:
    """Put updates in; claim, finish or fail them. Safe to share across tasks and replicas."""

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        worker_id: str,
        lease_seconds: float = 120.0,
        max_attempts: int = 5,
        album_wait_seconds: float = 1.0,
        retry_backoff_seconds: float = 2.0,
        burst_max: int = 1,
        put_max_waiting: int = PUT_MAX_WAITING,
    ) -> None:
        """`burst_max`: text messages of one private chat claimed as one unit at most (the
        messages a customer sent while the previous turn ran); 1: each on its own.
        `put_max_waiting`: updates waiting for their commit at most (see `put`)."""
        self._engine = engine
        self.worker_id = worker_id
        self._lease = timedelta(seconds=lease_seconds)
        self.lease_seconds = lease_seconds
        self.max_attempts = max_attempts
        self._album_wait = timedelta(seconds=album_wait_seconds)
        self._backoff = retry_backoff_seconds
        self._burst_max = burst_max
        self._pool: asyncpg.Pool | None = None
        self._pool_lock = asyncio.Lock()
        self._batches: GroupCommit[_Row, bool] = GroupCommit(
            self._write,
            max_batch=PUT_MAX_BATCH,
            max_waiting=put_max_waiting,
            concurrency=PUT_BATCHES_IN_FLIGHT,
        )

    async def put(self, update: dict[str, Any], trace: dict[str, str] | None = None) -> bool:
        """Store `update` (as `app.bot.updates.accept` returns it); False if stored before.

        Returns once the update is committed, together with every other update that waited
        for the same batch (group commit: one statement and one commit per batch).
        `trace`: the request's trace context, so the worker's span can link back to it.
        Raises `InboxUnavailableError` when the database cannot take it now (`InboxBusyError`
        when too many updates are waiting already), and `RejectedUpdateError` when it never
        will (a value Postgres refuses).
        """
        group = media_group(update)
        row = (
            int(update["update_id"]),
            chat_key(update),
            update_kind(update),
            group,
            json.dumps(update, ensure_ascii=False),
            json.dumps(trace) if trace else None,
            self._album_wait if group is not None else _NO_WAIT,
        )
        try:
            return await self._batches.submit(row)
        except GroupCommitFullError as error:
            raise InboxBusyError(str(error)) from error

    async def _write(self, rows: list[_Row]) -> list[bool | Exception]:
        """One batch in one statement: for each row, whether it was new, or its error."""
        try:
            inserted = await self._insert(rows)
        except _REFUSED_VALUES as error:
            if len(rows) == 1:
                refused = RejectedUpdateError(
                    f"the database refused a value: {error}"[:500], str(rows[0][0])
                )
                return [refused]
            # Which row? Each on its own, so the others are stored and only that one refused.
            return [result for row in rows for result in await self._write([row])]
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            return [InboxUnavailableError(type(error).__name__) for _ in rows]
        # A redelivery inside the batch: the first copy is the new one, the others duplicates.
        first: dict[int, int] = {}
        for index, row in enumerate(rows):
            first.setdefault(row[0], index)
        return [row[0] in inserted and first[row[0]] == index for index, row in enumerate(rows)]

    async def _insert(self, rows: list[_Row]) -> set[int]:
        """The update ids of `rows` that were not stored before (one statement, one commit)."""
        columns = list(zip(*rows, strict=True))
        pool = await self._put_pool()
        async with pool.acquire(timeout=PUT_TIMEOUT) as conn:
            ids = await conn.fetchval(_PUT, *columns, timeout=PUT_TIMEOUT)
        return set(ids)

    async def reject(self, error: RejectedUpdateError, body: bytes) -> None:
        """Record an update that can never be processed, with the reason, for a person.

        Raises `InboxUnavailableError` when the database cannot take the record.
        """
        try:
            pool = await self._put_pool()
            async with pool.acquire(timeout=PUT_TIMEOUT) as conn:
                await conn.execute(
                    _REJECT, error.update_id, error.reason, shown_body(body), timeout=PUT_TIMEOUT
                )
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError) as failure:
            raise InboxUnavailableError(type(failure).__name__) from failure

    async def _put_pool(self) -> asyncpg.Pool:
        # The webhook's one statement on asyncpg directly: 0.8 ms against 3 ms through the ORM
        # session (pre-ping, BEGIN, INSERT, COMMIT), and acknowledgements are the hot path.
        async with self._pool_lock:  # the first requests of a burst open one pool, not many
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    raw_dsn(self._engine),
                    min_size=1,
                    max_size=PUT_POOL_SIZE,
                    connection_class=_WebhookConnection,
                    server_settings={"application_name": "kramar-webhook"},
                )
            return self._pool

    async def close(self, grace: float = CLOSE_GRACE_SECONDS) -> None:
        """Write what was taken in, then close the pool; within `grace` seconds each, so a
        connection still held (a request stuck on a dead socket) cannot hold up a shutdown."""
        try:
            # every update taken in is committed (or failed) first
            await asyncio.wait_for(self._batches.close(), grace)
        except TimeoutError:
            logger.warning("inbox: batches still being written after %.0f s; closing", grace)
        if self._pool is not None:
            pool, self._pool = self._pool, None
            try:
                await asyncio.wait_for(pool.close(), grace)
            except TimeoutError:
                logger.warning("inbox: connections still in use after %.0f s; closed", grace)
                pool.terminate()

    async def claim(self, limit: int, busy: Collection[int] = ()) -> list[Claimed]:
        """Take up to `limit` chats' next updates under a lease, none of the chats in `busy`
        (the caller's own turns still running: one whose lease ran out while the database was
        away is still finishing, and must not be answered a second time beside it)."""
        if limit <= 0:
            return []
        token = str(uuid.uuid4())
        async with self._engine.begin() as conn:
            buried = (await conn.execute(_BURY, {"max_attempts": self.max_attempts})).all()
            for (update_id,) in buried:
                logger.error("update %d set aside after %d attempts", update_id, self.max_attempts)
            heads = (
                await conn.execute(
                    _CLAIM,
                    {
                        "max_attempts": self.max_attempts,
                        "limit": limit,
                        "lease": self._lease,
                        "worker": self.worker_id,
                        "token": token,
                        "busy": list(busy),
                    },
                )
            ).all()
            rows = [*heads, *await self._bursts(conn, heads, token)]
        groups: dict[int, list[Any]] = {}
        for row in sorted(rows, key=lambda r: r.update_id):
            groups.setdefault(row.chat_key, []).append(row)
        return [
            Claimed(
                update_ids=[r.update_id for r in parts],
                chat_key=key,
                kind=parts[0].kind,
                payloads=[r.payload for r in parts],
                attempts=max(r.attempts for r in parts),
                received_at_epoch=float(min(r.received for r in parts)),
                traces=[r.trace_context for r in parts if r.trace_context],
                lease_token=token,
                replies_sent=parts[0].replies_sent,
            )
            for key, parts in groups.items()
        ]

    async def _bursts(self, conn: AsyncConnection, heads: Sequence[Any], token: str) -> list[Any]:
        """The text messages that follow each claimed text message (see `_FOLLOWERS`)."""
        if self._burst_max <= 1:
            return []
        followers: list[Any] = []
        for head in heads:
            message = head.payload.get("message") if isinstance(head.payload, dict) else None
            if (
                head.kind != "message"
                or head.chat_key <= 0  # private chats only: a group's messages are no burst
                or not isinstance(message, dict)
                or not isinstance(message.get("text"), str)
            ):
                continue
            params = {
                "chat": head.chat_key,
                "head": head.update_id,
                "limit": self._burst_max - 1,
                "lease": self._lease,
                "worker": self.worker_id,
                "token": token,
            }
            followers += (await conn.execute(_FOLLOWERS, params)).all()
        return followers

    async def done(self, claimed: Claimed) -> bool:
        """Mark processed; False (and nothing changed) if the lease was lost to another worker."""
        return await self._fenced(
            claimed,
            "status = :done, processed_at = now(), locked_until = NULL, lease_token = NULL",
            done=DONE,
        )

    async def failed(self, claimed: Claimed, error: str, *, permanent: bool = False) -> str:
        """Record a failed attempt: "retry" (backing off), "dead" (set aside) or "lost".

        `permanent`: the update can never succeed (a fault in the update or in the code, not
        an outage), so it is set aside at once instead of blocking its chat for every retry.
        "lost": the lease had passed to another worker, whose attempt this does not touch.
        """
        dead = permanent or claimed.attempts >= self.max_attempts
        backoff = timedelta(seconds=self._backoff * 2 ** (claimed.attempts - 1))
        held = await self._fenced(
            claimed,
            "status = :status, locked_until = NULL, lease_token = NULL,"
            " available_at = now() + CAST(:backoff AS interval), last_error = :error,"
            " processed_at = CASE WHEN :dead THEN now() END",
            status=DEAD if dead else PENDING,
            dead=dead,
            backoff=backoff,
            error=error[:4000],
        )
        if not held:
            return "lost"
        return "dead" if dead else "retry"

    async def renew(self, claimed: Claimed) -> bool:
        """Extend the lease of a turn still running; False if it was lost meanwhile."""
        return await self._fenced(
            claimed, "locked_until = now() + CAST(:lease AS interval)", lease=self._lease
        )

    async def sent(self, claimed: Claimed, count: int) -> bool:
        """Record that the turn has sent `count` messages; False if the lease was lost."""
        return await self._fenced(claimed, "replies_sent = :sent", sent=count)

    async def release(self, claimed: Claimed) -> bool:
        """Give an update back untouched (a graceful stop interrupted it)."""
        return await self._fenced(
            claimed, "locked_until = NULL, lease_token = NULL, attempts = attempts - 1"
        )

    async def _fenced(self, claimed: Claimed, assignments: str, **values: object) -> bool:
        """`UPDATE ... SET assignments` on the claimed rows this worker still holds under the
        claim's token; True if it held all of them."""
        statement = text(
            f"UPDATE telegram_inbox SET {assignments}"  # noqa: S608 (fixed fragments only)
            " WHERE update_id = ANY(:ids) AND status = 'pending'"
            " AND locked_by = :worker AND lease_token = CAST(:token AS uuid)"
        )
        params = {
            "ids": claimed.update_ids,
            "worker": self.worker_id,
            "token": claimed.lease_token,
            **values,
        }
        async with self._engine.begin() as conn:
            changed = (await conn.execute(statement, params)).rowcount
        if changed < len(claimed.update_ids):
            logger.warning(
                "update %s: lease lost to another worker (%d of %d rows still held)",
                claimed.update_ids[0],
                changed,
                len(claimed.update_ids),
            )
        return changed == len(claimed.update_ids)

    async def purge(self, *, done_days: int, dead_days: int) -> dict[str, int]:
        """Delete processed updates older than `done_days`, and dead and rejected ones older
        than `dead_days`; the number deleted of each. Safe on every replica at once."""
        ages = {
            "done": timedelta(days=done_days),
            "dead": timedelta(days=dead_days),
            "rejected": timedelta(days=dead_days),
        }
        deleted: dict[str, int] = {}
        for kind, statement in _PURGE.items():
            deleted[kind] = 0
            while True:
                async with self._engine.begin() as conn:
                    params = {"age": ages[kind], "batch": _PURGE_BATCH}
                    count = (await conn.execute(statement, params)).rowcount
                deleted[kind] += count
                if count < _PURGE_BATCH:
                    break
        return deleted

    async def stats(self) -> tuple[int, float]:
        """(pending updates, age in seconds of the oldest)."""
        async with self._engine.connect() as conn:
            count, age = (await conn.execute(_STATS)).one()
        return int(count), float(age)


__all__ = [
    "Claimed",
    "Inbox",
    "InboxBusyError",
    "InboxUnavailableError",
    "chat_key",
    "customer_chat",
    "media_group",
    "update_kind",
]


async def listen(engine: AsyncEngine, wake: Callable[[], None]) -> None:
    """Call `wake` on every inbox notification, reconnecting while the database is away.

    The workers poll as well; this only makes another process's update start at once.
    """
    await listen_forever(
        engine, CHANNEL, lambda _payload: wake(), application_name="kramar-inbox-listener"
    )
