"""Kubernetes probes: live = the process answers; ready = the database answers at our schema."""

from __future__ import annotations

from typing import Any

from litestar import Response, get
from litestar.datastructures import State

from app.db.migrate import SchemaBehindError, ensure_current


@get("/health/live", operation_id="Live", tags=["health"], summary="The process is up")
async def live() -> dict[str, str]:
    return {"status": "live"}


@get("/health/ready", operation_id="Ready", tags=["health"], summary="Ready to serve traffic")
async def ready(state: State) -> Response[dict[str, Any]]:
    try:
        await ensure_current(state.db.engine)
    except SchemaBehindError as error:
        return Response({"status": "not ready", "reason": str(error)}, status_code=503)
    except Exception as error:  # any failure to reach the DB means "not ready", not a 500
        return Response(
            {"status": "not ready", "reason": f"database unreachable: {type(error).__name__}"},
            status_code=503,
        )
    return Response({"status": "ready"}, status_code=200)
