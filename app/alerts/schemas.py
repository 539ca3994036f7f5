"""Alertmanager's webhook payload (version 4), as its docs and `notify/webhook` define it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# Alertmanager writes Go's zero time for "no end yet" (a firing alert).
GO_ZERO_YEAR = 1


class Alert(BaseModel):
    """One alert of a notification."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["firing", "resolved"]
    labels: dict[str, str]
    annotations: dict[str, str] = Field(default_factory=dict)
    starts_at: datetime = Field(alias="startsAt")
    ends_at: datetime | None = Field(default=None, alias="endsAt")
    generator_url: str = Field(default="", alias="generatorURL")
    fingerprint: str = ""

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "(no alertname)")

    @property
    def ended(self) -> datetime | None:
        """When a resolved alert ended; None for a firing one (or Go's zero time)."""
        if self.ends_at is None or self.ends_at.year <= GO_ZERO_YEAR:
            return None
        return self.ends_at.astimezone(UTC)


class Notification(BaseModel):
    """What Alertmanager posts to a webhook receiver: one alert group."""

    model_config = ConfigDict(extra="ignore")

    version: str = "4"
    receiver: str = ""
    status: Literal["firing", "resolved"]
    alerts: list[Alert] = Field(min_length=1)
    group_labels: dict[str, str] = Field(default_factory=dict, alias="groupLabels")
    common_labels: dict[str, str] = Field(default_factory=dict, alias="commonLabels")
    common_annotations: dict[str, str] = Field(default_factory=dict, alias="commonAnnotations")
    external_url: str = Field(default="", alias="externalURL")
    group_key: str = Field(alias="groupKey")
    truncated_alerts: int = Field(default=0, alias="truncatedAlerts", ge=0)
