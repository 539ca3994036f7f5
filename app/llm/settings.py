"""Settings of the model chain: `KRAMAR_LLM_*`; no links (the default) means no model, offline."""

from __future__ import annotations

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
