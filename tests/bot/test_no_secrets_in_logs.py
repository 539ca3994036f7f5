"""Nothing secret reaches the logs: the real `kramar serve` at DEBUG, a photo downloaded through
the file URL (which contains the bot token), every line of its output grepped."""

from __future__ import annotations

import json

import httpx

from tests.bot.conftest import HEADERS, SECRET
from tests.bot.processes import serve
from tests.fixtures_app import ADMIN_TOKEN
from tests.fixtures_demo import demo_photo
from tests.servers.telegram import TOKEN


def test_a_debug_run_with_a_photo_logs_no_secret(database_url, db, telegram, tmp_path):
    log = tmp_path / "kramar.log"
    with log.open("wb") as out:
        proc, base = serve(
            database_url,
            telegram,
            output=out,
            KRAMAR_ADMIN_TOKEN=ADMIN_TOKEN,
            KRAMAR_LOG_LEVEL="DEBUG",
            KRAMAR_LOG_FORMAT="json",
        )
        try:
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
