"""Catalog files between their dry run and "apply": kept in Postgres for an hour.

The panel shows the importer's plan first; the file (and its photos) waits here, so "apply"
imports exactly what was shown, on whichever replica the click lands. Applying plans again and
compares: a catalog changed meanwhile gives a new preview instead of a surprise.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import zipfile
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select, update

from app.admin.errors import UploadNotFoundError
from app.admin.models import PendingUpload

if TYPE_CHECKING:
    from collections.abc import Mapping

    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

    from app.catalog.importer import ImportPlan

KEEP_FOR = timedelta(hours=1)


def plan_digest(plan: ImportPlan) -> str:
    """A fingerprint of what an import would do (not of the counts alone)."""
    shape = {
        "added": sorted(plan.added),
        "changed": {sku: sorted(fields) for sku, fields in sorted(plan.changed.items())},
        "deactivated": sorted(plan.deactivated),
        "short": sorted((s.sku, s.size, s.colour, s.on_hand, s.reserved) for s in plan.shortfalls),
    }
    return hashlib.sha256(json.dumps(shape, ensure_ascii=False).encode()).hexdigest()


def _zip(photos: Mapping[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, content in photos.items():
            archive.writestr(name, content)
    return buffer.getvalue()


def _unzip(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


@dataclass(frozen=True)
class Upload:
    id: str
    filename: str
    content: bytes
    photos: dict[str, bytes]
    prune: bool
    plan_digest: str


class PendingUploads:
    def __init__(self, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self._session_factory = session_factory

    async def keep(
        self,
        user_id: int,
        filename: str,
        content: bytes,
        photos: Mapping[str, bytes],
        *,
        prune: bool,
        digest: str,
    ) -> str:
        """Store an upload for `user_id`; its id (random: it names the upload in a form)."""
        upload_id = secrets.token_urlsafe(24)
        async with self._session_factory() as session, session.begin():
            await session.execute(
                delete(PendingUpload).where(PendingUpload.created_at < func.now() - KEEP_FOR)
            )
            session.add(
                PendingUpload(
                    id=upload_id,
                    user_id=user_id,
                    filename=filename[:255],
                    content=content,
                    photos=_zip(photos),
                    prune=prune,
                    plan_digest=digest,
                )
            )
        return upload_id

    async def get(self, upload_id: str, user_id: int) -> Upload:
        """The user's own upload; `UploadNotFoundError` when gone, expired or another's."""
        async with self._session_factory() as session:
            row = await session.scalar(
                select(PendingUpload).where(
                    PendingUpload.id == upload_id,
                    PendingUpload.user_id == user_id,
                    PendingUpload.created_at >= func.now() - KEEP_FOR,
                )
            )
            if row is None:
                raise UploadNotFoundError
            return Upload(
                row.id, row.filename, row.content, _unzip(row.photos), row.prune, row.plan_digest
            )

    async def replanned(self, upload_id: str, digest: str) -> None:
        async with self._session_factory() as session, session.begin():
            await session.execute(
                update(PendingUpload)
                .where(PendingUpload.id == upload_id)
                .values(plan_digest=digest, created_at=func.now())
            )

    async def drop(self, upload_id: str) -> None:
        async with self._session_factory() as session, session.begin():
            await session.execute(delete(PendingUpload).where(PendingUpload.id == upload_id))
