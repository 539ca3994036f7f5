"""`kramar serve` with no database URL: the embedded Postgres is started once, migrated and seeded
with the demo catalog in the same process (what `make run` and `docker run IMAGE` do)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import pytest

from tests.servers.redis import free_port

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(name="data_dir")
def fx_data_dir():
    # Under /tmp: pgserver opens permissions on every parent of its data folder.
    path = Path(tempfile.mkdtemp(prefix="kramar-embedded-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_serve_without_a_database_url_serves_the_demo_shop(data_dir):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAMAR_")}
    env.update(KRAMAR_DATA_DIR=str(data_dir), KRAMAR_LOG_LEVEL="WARNING")
    proc = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)], env=env, cwd=ROOT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert proc.poll() is None, "kramar serve exited"
            try:
                if httpx.get(f"{base}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        page = httpx.get(f"{base}/api/v1/products", params={"q": "Мрія лайт"}, timeout=5)
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)

    assert page.status_code == 200
    assert "KR-KS-002" in {item["sku"] for item in page.json()["items"]}
