"""All settings of kramar: one `Settings` object built from `KRAMAR_*` environment variables.

Nothing else in the code base reads the environment. Every field documents its unit in a one-line
docstring; `kramar config` prints them all as the table in the README.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _group(prefix: str) -> SettingsConfigDict:
    return SettingsConfigDict(
        env_prefix=prefix,
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        use_attribute_docstrings=True,
    )


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


class RedisSettings(BaseSettings):
    """Redis for caches and sessions; unset means in-process caches."""

    model_config = _group("KRAMAR_REDIS_")

    url: SecretStr | None = None
    """Redis URL, e.g. redis://host:6379/0; unset: in-process caches."""


class CacheSettings(BaseSettings):
    """Lifetimes of the caches."""

    model_config = _group("KRAMAR_CACHE_")

    product_ttl: int = Field(default=3600, ge=1)
    """Seconds a product card stays cached (writes invalidate it at once)."""
    vision_ttl: int = Field(default=86400, ge=1)
    """Seconds a photo identification result stays cached."""
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
    """Seconds one HTTP request to this link may take."""
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

    embedder: Literal["hashing", "openai"] = "hashing"
    """hashing: local character n-grams, no network; openai: an OpenAI-compatible endpoint."""
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

    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    redis: RedisSettings = Field(default_factory=RedisSettings)
    cache: CacheSettings = Field(default_factory=CacheSettings)
    vision: VisionSettings = Field(default_factory=VisionSettings)
    llm: LLMSettings = Field(default_factory=LLMSettings)
    rag: RagSettings = Field(default_factory=RagSettings)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read from the environment once."""
    return Settings()


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
