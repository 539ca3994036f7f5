"""Imports every table module, so `metadata` knows all tables (for Alembic and tests)."""

from __future__ import annotations

from app.catalog import models as catalog_models
from app.db.base import Base
from app.rag import models as rag_models

metadata = Base.metadata

__all__ = ["catalog_models", "metadata", "rag_models"]
