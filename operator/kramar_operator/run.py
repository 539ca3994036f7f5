"""`kramar operator`: the kopf operator with the app's settings (`KRAMAR_OPERATOR_*`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import kopf

if TYPE_CHECKING:
    import asyncio
    import threading
    from collections.abc import Sequence

    from app.config import Settings


async def run_operator(
    settings: Settings,
    *,
    namespaces: Sequence[str] = (),
    clusterwide: bool = False,
    stop_flag: asyncio.Event | threading.Event | None = None,
) -> None:
    """Watch catalog ConfigMaps in `namespaces` (or everywhere) until SIGTERM or `stop_flag`."""
    # Imported here: importing registers the handlers with kopf's default registry.
    import kramar_operator.handlers  # noqa: F401

    peering = settings.operator.peering
    await kopf.operator(
        clusterwide=clusterwide,
        namespaces=[] if clusterwide else list(namespaces),
        standalone=not peering,
        peering_name=peering or None,
        liveness_endpoint=settings.operator.liveness_url or None,
        stop_flag=stop_flag,
    )
