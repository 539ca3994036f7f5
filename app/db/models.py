"""Imports every table module, so `metadata` knows all tables (for Alembic and tests)."""

from __future__ import annotations

from app.activity import models as activity_models
from app.admin import models as admin_models
from app.alerts import models as alert_models
from app.bot import models as bot_models
from app.catalog import models as catalog_models
from app.db.base import Base
from app.dialog import models as dialog_models
from app.notices import models as notice_models
from app.orders import models as order_models
from app.rag import models as rag_models
from app.shop import models as shop_models

metadata = Base.metadata

__all__ = [
    "activity_models",
    "admin_models",
    "alert_models",
    "bot_models",
    "catalog_models",
    "dialog_models",
    "metadata",
    "notice_models",
    "order_models",
    "rag_models",
    "shop_models",
]
