"""Which path identified each customer photo, counted per day for the panel's overview."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from app.vision.pipeline import PhotoIdentifier

if TYPE_CHECKING:
    from app.activity.counts import DailyCounts
    from app.vision.pipeline import Identification

PHOTO_PREFIX = "photo:"


class CountingIdentifier(PhotoIdentifier):
    """A `PhotoIdentifier` that also counts, per UTC day, the path that answered (`cache`,
    `photo_index`, `model`, ... or `none`) in `DailyCounts` under `photo:<path>`."""

    def __init__(self, *, counts: DailyCounts, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._counts = counts

    async def identify(self, photo: bytes, *args: Any, **kwargs: Any) -> Identification:
        found = await super().identify(photo, *args, **kwargs)
        await self._counts.add(PHOTO_PREFIX + found.source)
        return found
