"""Nothing secret reaches the logs: the real `kramar serve` at DEBUG, a photo downloaded through
the file URL (which contains the bot token), every line of its output grepped."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.bot.conftest import HEADERS, SECRET
from tests.fixtures_app import ADMIN_TOKEN
from tests.fixtures_demo import demo_photo
from tests.servers.redis import free_port
from tests.servers.telegram import TOKEN

ROOT = Path(__file__).resolve().parents[2]


def test_a_debug_run_with_a_photo_logs_no_secret(database_url, db, telegram, tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAMAR_")}
    env.update(
        KRAMAR_DATABASE_URL=database_url.render_as_string(hide_password=False),
        KRAMAR_TELEGRAM_BOT_TOKEN=TOKEN,
        KRAMAR_TELEGRAM_WEBHOOK_SECRET=SECRET,
        KRAMAR_TELEGRAM_API_URL=telegram.url,
        KRAMAR_PUBLIC_URL="https://shop.example",
        KRAMAR_ADMIN_TOKEN=ADMIN_TOKEN,
        KRAMAR_LOG_LEVEL="DEBUG",
        KRAMAR_LOG_FORMAT="json",
    )
    log = tmp_path / "kramar.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.1)
            update = telegram.message_update(7, photo=demo_photo("KR-HD-001.png"))
            assert httpx.post(f"{base}/telegram/webhook", json=update, headers=HEADERS).is_success
            telegram.wait_for(1, 20)
            wrong = {"X-Telegram-Bot-Api-Secret-Token": "guess"}
            assert (
                httpx.post(f"{base}/telegram/webhook", json=update, headers=wrong).status_code
                == 403
            )
            admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
            httpx.get(f"{base}/api/v1/admin/orders", headers=admin)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    text = log.read_text(encoding="utf-8", errors="replace")
    assert telegram.calls_to("getFile")  # the photo was downloaded through the file URL
    # Every line is ours (JSON, redacted): no library installed a handler of its own.
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    assert any(r["level"] == "DEBUG" for r in records)
    for secret in (TOKEN, TOKEN.split(":", 1)[1], SECRET, ADMIN_TOKEN):
        assert secret not in text, f"{secret!r} leaked into the logs"
