"""`kramar serve` as a real process against the test database and the Telegram stand-in."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from typing import IO, Any

import httpx

from tests.bot.conftest import SECRET
from tests.servers.redis import free_port
from tests.servers.telegram import TOKEN

ROOT = Path(__file__).resolve().parents[2]


def serve(
    database_url: Any, telegram: Any, *, output: IO[bytes] | None = None, **settings: str
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `kramar serve` in webhook mode; returns the process and its base URL once ready."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAMAR_")}
    env.update(
        KRAMAR_DATABASE_URL=database_url.render_as_string(hide_password=False),
        KRAMAR_TELEGRAM_BOT_TOKEN=TOKEN,
        KRAMAR_TELEGRAM_WEBHOOK_SECRET=SECRET,
        KRAMAR_TELEGRAM_API_URL=telegram.url,
        KRAMAR_PUBLIC_URL="https://shop.example",
        KRAMAR_LOG_LEVEL="WARNING",
    )
    env.update(settings)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("kramar serve did not come up")
