"""Every Prometheus metric of kramar, defined in one place.

Label values are bounded sets (no chat ids, no SKUs), so the series count stays small.
"""

from __future__ import annotations

from typing import Literal, get_args

from prometheus_client import Counter, Gauge, Histogram

# The bounded label sets; their series are created at 0 on import (_init_series below).
EscalationLevel = Literal["L1", "L2"]
EscalationReason = Literal["unsure", "asked", "model_down", "complaint", "payment", "delivery"]
UpdateKind = Literal["message", "photo", "album", "callback", "contact", "command", "other"]
UpdateOutcome = Literal["ok", "error", "duplicate", "poisoned"]
OrderStatusLabel = Literal["new", "confirmed", "paid", "shipped", "done", "cancelled"]
FunnelStage = Literal["init", "discovery", "identified", "variant_chosen", "checkout", "ordered"]
SendOutcome = Literal["ok", "retry_after", "error"]
AlertStatus = Literal["firing", "resolved", "duplicate", "error"]
SyncTrigger = Literal["configmap", "notify", "reconcile"]
SyncOutcome = Literal["synced", "skipped", "invalid", "error"]

CACHE_REQUESTS = Counter(
    "cache_requests_total",
    "Cache lookups by cache (product, page, vision, session) and result (hit, miss)",
    ["cache", "result"],
)
CACHE_BACKEND_ERRORS = Counter(
    "cache_backend_errors_total",
    "Cache operations that failed because the backend was unreachable (served as a miss)",
    ["backend"],
)
VISION_REQUESTS = Counter(
    "vision_requests_total",
    "Photo identifications by the source that answered (cache, photo_index, features, model, none)",
    ["source"],
)
VISION_LATENCY = Histogram(
    "vision_latency_seconds",
    "Time from photo bytes to an identification answer",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20),
)
VISION_CONFIDENCE = Histogram(
    "vision_confidence",
    "Confidence of photo identifications that named a product",
    buckets=(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 1.0),
)
# The catalog photo index of the second stage (issue 17), per replica.
VISION_INDEX_PHOTOS = Gauge(
    "vision_index_photos",
    "Catalog photos in this replica's photo index",
    multiprocess_mode="livemax",
)
VISION_INDEX_BYTES = Gauge(
    "vision_index_bytes",
    "Memory of this replica's photo index: visual words and resident features, in bytes",
    multiprocess_mode="livemax",
)
VISION_INDEX_REFRESH = Histogram(
    "vision_index_refresh_seconds",
    "Time to bring the photo index up to date after photos changed (or at start-up)",
    buckets=(0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60),
)

LLM_REQUESTS = Counter(
    "llm_requests_total",
    "Model chain requests by the model that answered (none if no link did) and outcome",
    ["model", "outcome"],
)
LLM_TOKENS = Counter(
    "llm_tokens_total", "Tokens used by model and direction (in, out)", ["model", "direction"]
)
LLM_COST = Counter("llm_cost_usd_total", "Model spend in US dollars by model", ["model"])
LLM_FALLBACKS = Counter(
    "llm_fallbacks_total", "Moves from one model link to the next (failure, breaker or budget)"
)
LLM_BREAKER_OPEN = Gauge(
    "llm_breaker_open",
    "1 while the circuit breaker of a model link is open",
    ["model"],
    # An idle worker has no evidence about a link; the one that tried it and failed has.
    multiprocess_mode="livemax",
)
LLM_DAILY_BUDGET = Gauge(
    "llm_daily_budget_usd",
    "KRAMAR_LLM_DAILY_BUDGET_USD in US dollars (+Inf: no limit); the spend alert compares to it",
    multiprocess_mode="livemax",
)

ESCALATIONS = Counter(
    "escalations_total",
    "Conversations handed to a person, by level (L1, L2) and reason",
    ["level", "reason"],
)
TELEGRAM_UPDATES = Counter(
    "telegram_updates_total",
    "Telegram updates by kind and outcome (ok, error, duplicate, poisoned)",
    ["kind", "outcome"],
)
TELEGRAM_SENDS = Counter(
    "telegram_sends_total",
    "Bot API calls that send something, by method and outcome (ok, retry_after, error)",
    ["method", "outcome"],
)
INBOX_OLDEST_PENDING = Gauge(
    "inbox_oldest_pending_seconds",
    "Age in seconds of the oldest inbox update not processed yet (0: none pending)",
    # Every worker measures the same shared inbox; the largest live reading is the truth.
    multiprocess_mode="livemax",
)
INBOX_PENDING = Gauge(
    "inbox_pending",
    "Inbox updates not processed yet",
    multiprocess_mode="livemax",
)
ORDERS = Counter(
    "orders_total",
    "Order status changes, by the status entered (new, confirmed, paid, shipped, done, cancelled)",
    ["status"],
)
CONVERSATION_STAGE = Counter(
    "conversation_stage_total",
    "Conversations that reached a sales stage (the conversion funnel)",
    ["stage"],
)
ANSWER_LATENCY = Histogram(
    "answer_latency_seconds",
    "Time from a Telegram update received to the bot's reply sent",
    # 15 is a bound because the latency alert is at 15 s: its p95 is then exact at the threshold.
    buckets=(0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 20, 30),
)
WEBHOOK_ACK = Histogram(
    "webhook_ack_seconds",
    "Time from a webhook request received to its 200 (the update is stored, not yet processed)",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5),
)
BOT_HANDLER_ERRORS = Counter(
    "bot_handler_errors_total",
    "Updates whose handler failed unexpectedly, by kind; the chat got an apology, no retry",
    ["kind"],
)
ALERTS_FORWARDED = Counter(
    "alerts_forwarded_total",
    "Alertmanager notifications forwarded to the staff chat, by status",
    ["status"],
)

# Catalog and RAG index sync (the operator, and `kramar serve` with KRAMAR_RAG_SYNC=inprocess).
CATALOG_SYNCS = Counter(
    "catalog_syncs_total",
    "Catalog syncs by trigger (configmap, notify, reconcile) and outcome (synced; skipped: "
    "already imported; invalid: the catalog has problems; error: database or embedder failed)",
    ["trigger", "outcome"],
)
CATALOG_SYNC_EMBEDDED = Counter(
    "catalog_sync_embedded_products_total",
    "Products (re-)embedded into the text index by a sync, by trigger",
    ["trigger"],
)
CATALOG_SYNC_DURATION = Histogram(
    "catalog_sync_duration_seconds",
    "Time one sync took (import and re-embedding), by trigger",
    ["trigger"],
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
)
CATALOG_INDEX_LAG = Histogram(
    "catalog_index_lag_seconds",
    "Time from a catalog change notification received to the text index updated (debounce "
    "included)",
    buckets=(0.1, 0.25, 0.5, 1, 2, 2.5, 3, 5, 10, 30, 60),
)
CATALOG_SYNC_LAST_SUCCESS = Gauge(
    "catalog_sync_last_success_timestamp_seconds",
    "Unix time of the last sync that succeeded, by trigger",
    ["trigger"],
    multiprocess_mode="livemax",
)

# Reliability under load and hostile clients (issue 18).
HTTP_CLIENTS_CUT = Counter(
    "http_clients_cut_total",
    "HTTP connections closed for the client's fault: timeout (a request not sent within "
    "KRAMAR_HTTP_REQUEST_TIMEOUT_SECONDS) or head_too_large",
    ["reason"],
)
TELEGRAM_REPLAYS_SKIPPED = Counter(
    "telegram_replays_skipped_total",
    "Messages a repeated turn did not send again because the send journal had them",
)


def set_llm_daily_budget(usd: float | None) -> None:
    """Publish the daily model budget (None: no limit) for the spend alert to compare with."""
    LLM_DAILY_BUDGET.set(float("inf") if usd is None else usd)


def _init_series() -> None:
    """Create every series of the bounded label sets at 0.

    A counter that has never been incremented has no series, so `rate()` of it is empty rather
    than 0 and ratio alerts and funnel panels show "no data" instead of zero.
    """
    for level in get_args(EscalationLevel):
        for reason in get_args(EscalationReason):
            ESCALATIONS.labels(level, reason)
    for kind in get_args(UpdateKind):
        BOT_HANDLER_ERRORS.labels(kind)
        for outcome in get_args(UpdateOutcome):
            TELEGRAM_UPDATES.labels(kind, outcome)
    for status in get_args(OrderStatusLabel):
        ORDERS.labels(status)
    for stage in get_args(FunnelStage):
        CONVERSATION_STAGE.labels(stage)
    for alert_status in get_args(AlertStatus):
        ALERTS_FORWARDED.labels(alert_status)
    for trigger in get_args(SyncTrigger):
        CATALOG_SYNC_EMBEDDED.labels(trigger)
        for sync_outcome in get_args(SyncOutcome):
            CATALOG_SYNCS.labels(trigger, sync_outcome)


_init_series()
# Until the settings are applied the budget is unknown, which must not read as a budget of $0.
set_llm_daily_budget(None)
