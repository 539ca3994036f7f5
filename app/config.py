"""All settings of kramar: one `Settings` object built from `KRAMAR_*` environment variables.

Nothing else in the code base reads the environment. Every field documents its unit in a one-line
docstring; `kramar config` prints them all as the table in the README.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    YamlConfigSettingsSource,
)


def _group(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        use_attribute_docstrings=True,
    )


def refuse_blank_secret(value: SecretStr | None, variable: str) -> SecretStr | None:
    """`value`, unless it is set but empty or whitespace: that would switch authentication off.

    Unset (None) stays allowed: it turns the feature off, visibly.
    """
    if value is not None and not value.get_secret_value().strip():
        raise ValueError(
            f"{variable} is set but empty; give it a value, or unset it to turn the feature off"
        )
    return value


# What Telegram accepts as a webhook secret_token (setWebhook refuses anything else).
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class DatabaseSettings(BaseSettings):
    """The PostgreSQL (with pgvector) database."""

    model_config = _group("KRAMAR_DATABASE_")

    url: SecretStr | None = None
    """SQLAlchemy URL, e.g. postgresql+asyncpg://user:pass@host/db; unset: embedded Postgres."""
    pool_size: int = Field(default=10, ge=1)
    """Connections kept open per process."""
    pool_timeout: float = Field(default=10.0, gt=0)
    """Seconds to wait for a free connection before failing."""
    echo: bool = False
    """Log every SQL statement (development only)."""


class HttpSettings(BaseSettings):
    """Limits `kramar serve` puts on HTTP clients (slow or oversized requests, too many)."""

    model_config = _group("KRAMAR_HTTP_")

    request_timeout_seconds: float = Field(default=60.0, gt=0)
    """Seconds a client may take to send one whole request (headers and body); then 408, closed."""
    keep_alive_seconds: int = Field(default=65, ge=1)
    """Seconds an idle keep-alive connection stays open (longer than a proxy's usual 60 s)."""
    max_connections: int = Field(default=1000, ge=1)
    """Open connections per process; past it new requests get 503 at once instead of a queue."""
    max_head_bytes: int = Field(default=64 * 1024, ge=1024)
    """Largest request line and headers accepted, in bytes; larger is 431 and closed."""


class RedisSettings(BaseSettings):
    """Redis for caches and sessions; unset means in-process caches."""

    model_config = _group("KRAMAR_REDIS_")

    url: SecretStr | None = None
    """Redis URL, e.g. redis://host:6379/0; unset: in-process caches."""
    max_connections: int = Field(default=32, ge=1)
    """Open connections per Redis client of a process; past them a command waits for one."""


class CacheSettings(BaseSettings):
    """Lifetimes of the caches."""

    model_config = _group("KRAMAR_CACHE_")

    product_ttl: int = Field(default=3600, ge=1)
    """Seconds a product card stays cached (writes invalidate it at once)."""
    vision_ttl: int = Field(default=86400, ge=1)
    """Seconds a photo identification result stays cached."""
    page_ttl: int = Field(default=300, ge=1)
    """Seconds a catalog list or search page stays cached (writes invalidate it at once)."""
    session_ttl: int = Field(default=1800, ge=1)
    """Seconds of inactivity after which a chat session is forgotten (sliding)."""
    vision_max_distance: int = Field(default=6, ge=0, le=7)
    """pHash bits (of 64, at most 7) within which a cached photo counts as the same photo."""


class VisionSettings(BaseSettings):
    """Customer photo intake and identification."""

    model_config = _group("KRAMAR_VISION_")

    max_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    """Largest photo accepted, in bytes, checked before download and before decode."""
    max_pixels: int = Field(default=40_000_000, ge=10_000)
    """Largest decoded image in pixels (decompression-bomb guard)."""
    max_side: int = Field(default=1024, ge=64)
    """Longest side in pixels of a photo as the model gets it (the one downscale at intake)."""
    match_max_distance: int = Field(default=14, ge=0, le=64)
    """Largest pHash distance (bits of 64) to a catalog photo that still counts as a match."""
    match_max_color_distance: int = Field(default=6, ge=0, le=64)
    """Largest colour-hash distance (bits of 64) for a photo to match or hit the cache."""
    # The second stage: local features and geometric verification (issue 17).
    features: bool = True
    """Match local features (crops, mirror images, screenshots) when the hashes give no card."""
    feature_memory_mb: int = Field(default=96, ge=1)
    """MB of catalog photo features kept in memory per replica; others are read when needed."""
    feature_workers: int = Field(default=2, ge=1, le=32)
    """Threads per replica that prepare and verify customer photos (bounds CPU and memory)."""


class LinkSettings(BaseModel):
    """One OpenAI-compatible model in the chain."""

    model_config = {"use_attribute_docstrings": True}

    name: str = Field(min_length=1)
    """Short name of the link for logs and reports, e.g. primary."""
    model: str = Field(min_length=1)
    """Model id the provider knows, e.g. grok-4."""
    base_url: str = "https://api.openai.com/v1"
    """Base URL of the OpenAI-compatible API, up to and including /v1."""
    api_key: SecretStr = SecretStr("")
    """API key of the provider."""
    timeout: float = Field(default=20.0, gt=0)
    """Seconds one HTTP request to this link may take, its whole answer included."""
    max_retries: int = Field(default=2, ge=0, le=10)
    """Retries after a retryable failure (timeout, 429, 5xx, connection error), after the first."""
    input_usd_per_mtok: float = Field(default=0.0, ge=0)
    """Price of input (prompt) tokens, in US dollars per million tokens."""
    output_usd_per_mtok: float = Field(default=0.0, ge=0)
    """Price of output (completion) tokens, in US dollars per million tokens."""
    expensive: bool = False
    """Skip this link once today's spend reaches the daily budget."""


class LLMSettings(BaseSettings):
    """The model chain: ordered links, breaker, budget and deadline."""

    model_config = _group("KRAMAR_LLM_")

    links: list[LinkSettings] = Field(default_factory=list)
    """Ordered links as JSON, primary first; empty: no model (offline agent only)."""
    daily_budget_usd: float | None = Field(default=None, ge=0)
    """US dollars of spend per UTC day after which expensive links are skipped; unset: no limit."""
    breaker_failures: int = Field(default=5, ge=1)
    """Consecutive failed requests after which a link's circuit breaker opens."""
    breaker_reset_seconds: float = Field(default=30.0, gt=0)
    """Seconds an open breaker waits before letting one probe request through."""
    deadline_seconds: float = Field(default=40.0, gt=0)
    """Seconds one `complete` call may take over all links, retries and back-off."""
    backoff_seconds: float = Field(default=0.5, ge=0)
    """Seconds of the first back-off between retries (doubled per retry, with jitter)."""
    retry_after_max_seconds: float = Field(default=30.0, ge=0)
    """Longest Retry-After of a 429 that is waited out, in seconds; longer: next link at once."""


class RagSettings(BaseSettings):
    """Text retrieval: which embedder makes the product vectors."""

    model_config = _group("KRAMAR_RAG_")

    embedder: Literal["hashing", "e5", "openai"] = "hashing"
    """hashing: character n-grams; e5: local multilingual-e5-small (kramar[e5]); openai: an API."""
    openai_model: str = "text-embedding-3-small"
    """Embedding model when embedder=openai."""
    openai_dim: int = Field(default=1536, ge=1, le=16000)
    """Dimensions of that model's vectors."""
    openai_base_url: str = "https://api.openai.com/v1"
    """OpenAI-compatible base URL of the embedding endpoint."""
    openai_api_key: SecretStr | None = None
    """API key of the embedding endpoint."""
    top_k: int = Field(default=3, ge=1, le=20)
    """Products put into a prompt (the RAG top-k)."""
    sync: Literal["inprocess", "operator", "off"] = "inprocess"
    """Who re-embeds products after catalog writes: inprocess (kramar serve), operator, or off."""
    sync_debounce_seconds: float = Field(default=2.0, ge=0, le=60)
    """Seconds catalog notifications are gathered before the products they name are re-embedded."""
    sync_reconcile_seconds: float = Field(default=300.0, ge=1)
    """Seconds between full content-hash checks of the index that heal a missed notification."""


class OperatorSettings(BaseSettings):
    """The kopf operator (`kramar operator`): catalog ConfigMaps and the RAG index sync."""

    model_config = _group("KRAMAR_OPERATOR_")

    namespaces: list[str] = Field(default_factory=list)
    """Namespaces watched for ConfigMaps labelled kramar.io/catalog, as JSON; or --namespace."""
    liveness_url: str = "http://0.0.0.0:8080/healthz"
    """URL kopf serves its liveness probe on; empty: no probe."""
    metrics_port: int = Field(default=9090, ge=0, le=65535)
    """Port of the operator's Prometheus /metrics; 0: not served."""
    peering: str = "kramar"
    """kopf peering name (one active operator at a time); empty: standalone, no peering objects."""
    retry_seconds: float = Field(default=5.0, gt=0)
    """Seconds before the first retry of a sync the database or embedder failed (then doubled)."""


class TelegramSettings(BaseSettings):
    """The Telegram bot: token, webhook, and how updates are worked off."""

    model_config = _group("KRAMAR_TELEGRAM_")

    bot_token: SecretStr | None = None
    """Bot token from @BotFather; unset: no Telegram (`kramar chat` still works)."""
    webhook_secret: SecretStr | None = None
    """Secret Telegram sends in X-Telegram-Bot-Api-Secret-Token; required with a public URL."""
    api_url: str = "https://api.telegram.org"
    """Bot API server: Telegram's, a self-hosted telegram-bot-api, or a test stand-in."""
    workers: int = Field(default=8, ge=0, le=256)
    """Chats processed at once per app process; 0: this process only acknowledges updates."""
    lease_seconds: float = Field(default=120.0, gt=0)
    """Seconds an update is held by a worker before another may take it up (crash recovery)."""
    max_attempts: int = Field(default=5, ge=1)
    """Attempts before an update is set aside as poison (status dead) for a person to look at."""
    album_wait_seconds: float = Field(default=1.0, ge=0)
    """Seconds the parts of an album are waited for before it is handled as one request."""
    poll_interval_seconds: float = Field(default=1.0, gt=0)
    """Seconds between inbox polls when no notification arrives (other replicas' updates)."""
    per_chat_interval_seconds: float = Field(default=1.0, ge=0)
    """Seconds between two messages to one chat (Telegram allows about one per second)."""
    global_interval_seconds: float = Field(default=1 / 30, ge=0)
    """Seconds between two messages overall, shared by replicas through Redis (30/s)."""
    download_timeout_seconds: float = Field(default=20.0, gt=0)
    """Seconds one photo download may take (tried twice) before the customer is asked to resend."""
    retention_days: int = Field(default=30, ge=1)
    """Days a processed update (names, phones, file ids) stays in the inbox before deletion."""
    dead_retention_days: int = Field(default=90, ge=1)
    """Days a dead or rejected update is kept for a person to read before deletion."""
    typing_interval_seconds: float = Field(default=4.0, gt=0, le=5)
    """Seconds between typing indicators while a customer's turn runs (Telegram shows one 5 s)."""
    holding_seconds: float = Field(default=4.0, ge=0)
    """Seconds a turn may take before the customer is told to wait a moment; 0: never."""
    burst_max: int = Field(default=10, ge=1, le=100)
    """Text messages of one chat waiting in the inbox that are answered as one turn, at most."""

    @field_validator("webhook_secret")
    @classmethod
    def _webhook_secret_usable(cls, value: SecretStr | None) -> SecretStr | None:
        value = refuse_blank_secret(value, "KRAMAR_TELEGRAM_WEBHOOK_SECRET")
        if value is not None and not _WEBHOOK_SECRET.fullmatch(value.get_secret_value()):
            raise ValueError(
                "KRAMAR_TELEGRAM_WEBHOOK_SECRET may hold only A-Z, a-z, 0-9, _ and -"
                " (1-256 characters): Telegram refuses any other secret"
            )
        return value


class OrderSettings(BaseSettings):
    """Orders and stock reservations."""

    model_config = _group("KRAMAR_ORDERS_")

    reservation_minutes: int = Field(default=30, ge=1)
    """Minutes a chosen variant stays reserved while the customer checks out."""


THRESHOLDS_FILE = Path("data/thresholds.yaml")
"""Dialog thresholds derived by `kramar eval --write-thresholds` (relative to the working
directory, like the catalog file); its `dialog:` section gives the defaults below."""


class DialogSettings(BaseSettings):
    """The conversation: confidence bands of photo answers and hand-off timing.

    Defaults come from THRESHOLDS_FILE when it exists (measured, see evals/README.md), else from
    the code; KRAMAR_DIALOG_* variables override both.
    """

    model_config = _group("KRAMAR_DIALOG_")

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources = (init_settings, env_settings, dotenv_settings)
        if not THRESHOLDS_FILE.is_file():
            return sources
        thresholds = YamlConfigSettingsSource(
            settings_cls,
            yaml_file=THRESHOLDS_FILE,
            yaml_file_encoding="utf-8",
            yaml_config_section="dialog",
        )
        return (*sources, thresholds)

    high_confidence: float = Field(default=0.8, ge=0, le=1)
    """From this confidence a photo answer is the product card."""
    low_confidence: float = Field(default=0.5, ge=0, le=1)
    """From this confidence (below high) the customer is asked "is it one of these?"."""
    text_card_min_score: float = Field(default=0.0325, ge=0)
    """Retrieval score (fused ranks) from which a text message gets a product card; below: ask."""
    handoff_repost_minutes: int = Field(default=10, ge=1)
    """Minutes after which a hand-off nobody took is posted to the manager chat again."""
    shop_contacts: str | None = Field(default=None, max_length=500)
    """Fallback for the shop section's contacts: told on a hand-off with no manager chat."""


class AdminSettings(BaseSettings):
    """The manager's web panel at /admin (accounts: `kramar admin create-user`)."""

    model_config = _group("KRAMAR_ADMIN_")

    panel: bool = True
    """Serve the web panel at /admin; false: no panel routes at all."""
    session_idle_seconds: int = Field(default=1800, ge=1)
    """Seconds without a request after which a panel session ends (sign in again)."""
    session_absolute_seconds: int = Field(default=12 * 3600, ge=1)
    """Seconds after sign-in after which a panel session ends, however active."""
    secure_cookies: bool | None = None
    """Mark the panel's cookies Secure (HTTPS only); unset: when KRAMAR_PUBLIC_URL is https."""
    secret_key: SecretStr | None = None
    """Key that signs the panel's CSRF tokens; unset: generated once and kept in the database."""
    account_failures: int = Field(default=5, ge=1)
    """Failed sign-ins to one account within the window after which it is locked until then."""
    address_failures: int = Field(default=20, ge=1)
    """Failed sign-ins from one IP address within the window after which it is refused."""
    failure_window_seconds: int = Field(default=900, ge=1)
    """Seconds over which failed sign-ins are counted (and a lock lasts)."""

    @field_validator("secret_key")
    @classmethod
    def _secret_not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        return refuse_blank_secret(value, "KRAMAR_ADMIN_SECRET_KEY")


class AlertRoute(BaseModel):
    """Alerts whose labels all equal `match` go to `chat_ids`."""

    match: dict[str, str]
    chat_ids: list[int]


class AlertSettings(BaseSettings):
    """Alertmanager → Telegram: who gets which alert, and who may silence it."""

    model_config = _group("KRAMAR_ALERTS_")

    token: SecretStr | None = None
    """Bearer token Alertmanager sends to /alerts/alertmanager; unset: the endpoint is off."""
    routes: list[AlertRoute] = Field(default_factory=list)
    """JSON list of {"match": {label: value}, "chat_ids": [...]}; first match wins."""
    alertmanager_url: str | None = None
    """Alertmanager base URL for silences, e.g. http://alertmanager:9093; unset: no buttons."""
    silence_users: list[int] = Field(default_factory=list)
    """Telegram user ids allowed to press the silence buttons."""

    @field_validator("token")
    @classmethod
    def _token_not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        return refuse_blank_secret(value, "KRAMAR_ALERTS_TOKEN")


class Settings(BaseSettings):
    """Everything kramar can be told, grouped by part."""

    model_config = _group("KRAMAR_")

    data_dir: Path = Path(".kramar")
    """Folder for the embedded Postgres and other local state."""
    host: str = "127.0.0.1"
    """Address `kramar serve` listens on."""
    port: int = Field(default=8000, ge=1, le=65535)
    """Port `kramar serve` listens on."""
    admin_token: SecretStr | None = None
    """Bearer token of the admin API (/api/v1/admin/...); unset: admin routes are disabled."""
    catalog_file: Path = Path("data/catalog/products_master.yaml")
    """Catalog file `kramar catalog import` reads when given no file."""
    max_catalog_bytes: int = Field(default=20 * 1024 * 1024, ge=1024)
    """Largest catalog file (YAML/CSV) accepted, in bytes."""
    max_photo_bytes: int = Field(default=5 * 1024 * 1024, ge=1024)
    """Largest catalog photo file accepted at import, in bytes."""
    log_level: str = "INFO"
    """Log level: DEBUG, INFO, WARNING or ERROR."""
    public_url: str | None = None
    """HTTPS base the Telegram webhook is registered under; unset: long polling."""
    manager_chat_id: int | None = None
    """Telegram chat of the shop's managers: new orders and hand-offs go there."""
    oncall_chat_id: int | None = None
    """Telegram chat that gets alerts no route in KRAMAR_ALERTS_ROUTES claims."""
    otlp_endpoint: str | None = None
    """OTLP/HTTP endpoint for traces, e.g. http://otel-collector:4318; unset: tracing off."""
    log_format: Literal["text", "json"] = "text"
    """Log lines as text (for a terminal) or JSON (for a log collector)."""

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    http: HttpSettings = Field(default_factory=HttpSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    vision: VisionSettings = Field(default_factory=VisionSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    rag: RagSettings = Field(default_factory=RagSettings)
    operator: OperatorSettings = Field(default_factory=OperatorSettings)
    telegram: TelegramSettings = Field(default_factory=TelegramSettings)
    orders: OrderSettings = Field(default_factory=OrderSettings)
    dialog: DialogSettings = Field(default_factory=DialogSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    admin: AdminSettings = Field(default_factory=AdminSettings)

    @field_validator("admin_token")
    @classmethod
    def _admin_token_not_blank(cls, value: SecretStr | None) -> SecretStr | None:
        return refuse_blank_secret(value, "KRAMAR_ADMIN_TOKEN")

    @model_validator(mode="after")
    def _webhook_needs_a_secret(self) -> Settings:
        # Without the secret anyone who finds the URL could post updates as Telegram.
        if self.telegram.bot_token and self.public_url and self.telegram.webhook_secret is None:
            raise ValueError("KRAMAR_PUBLIC_URL needs KRAMAR_TELEGRAM_WEBHOOK_SECRET")
        return self


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()


def _groups() -> list[type[BaseSettings]]:
    """`Settings` and every nested group of it."""
    groups: list[type[BaseSettings]] = [Settings]
    for field in Settings.model_fields.values():
        if isinstance(field.annotation, type) and issubclass(field.annotation, BaseSettings):
            groups.append(field.annotation)
    return groups


def explain_invalid(error: ValidationError) -> str:
    """A `ValidationError` of the settings as lines a person can act on, one per variable."""
    prefixes = {g.__name__: str(g.model_config.get("env_prefix", "")) for g in _groups()}
    prefix = prefixes.get(error.title, "KRAMAR_")
    lines = []
    for problem in error.errors(include_url=False, include_input=False):
        message = str(problem["msg"]).removeprefix("Value error, ")
        where = "_".join(str(part) for part in problem["loc"])
        variable = (prefix + where).upper() if where else prefix.rstrip("_")
        lines.append(message if variable in message else f"{variable}: {message}")
    return "invalid configuration:\n" + "\n".join(f"  - {line}" for line in lines)


def describe_settings() -> list[tuple[str, str, str]]:
    """(variable, default, description) of every setting, for the README and `kramar config`."""
    rows: list[tuple[str, str, str]] = []

    def walk(model: type[BaseSettings]) -> None:
        prefix = str(model.model_config.get("env_prefix", ""))
        for name, field in model.model_fields.items():
            annotation = field.annotation
            if isinstance(annotation, type) and issubclass(annotation, BaseSettings):
                walk(annotation)
                continue
            default = field.get_default(call_default_factory=True)
            shown = "" if default is None else str(default)
            rows.append(((prefix + name).upper(), shown, field.description or ""))

    walk(Settings)
    return rows
