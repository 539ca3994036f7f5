"""The app served on a real port (uvicorn, in the test's event loop) and Debian's Chromium
driven by Playwright, for the panel's browser tests."""

from __future__ import annotations

import asyncio
import os
import socket
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import uvicorn

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from litestar import Litestar

CHROMIUM = "/usr/bin/chromium"  # Debian's build (make system-deps); no `playwright install`
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(os.environ.get("KRAMAR_TEST_ARTIFACTS", ".kramar/test-artifacts")) / "admin"
"""Where the browser tests leave their screenshots (a CI job keeps this folder)."""


@asynccontextmanager
async def served(app: Litestar) -> AsyncIterator[str]:
    """Serve `app` on a free local port until the block ends; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_config=None, lifespan="on"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:
            if task.done():
                task.result()  # the start-up failed: raise its error here
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()
