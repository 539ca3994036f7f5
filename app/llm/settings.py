"""Settings of the model chain (`KRAMAR_LLM_*`), defined with all others in `app.config`."""

from __future__ import annotations

from app.config import LinkSettings, LLMSettings

__all__ = ["LLMSettings", "LinkSettings"]
