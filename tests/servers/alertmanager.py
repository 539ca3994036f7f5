"""A real Alertmanager (Debian's prometheus-alertmanager) on free loopback ports.

Clustering is off (`--cluster.listen-address=`), storage lives in a temp dir, and the route
flushes groups within a second, so a test sees a notification about a second after posting an
alert. The webhook receiver is the app under test, reached over real HTTP with a bearer token.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tests.servers.http import Managed
from tests.servers.redis import free_port

if TYPE_CHECKING:
    pass


def _find_binary() -> str:
    for name in ("prometheus-alertmanager", "alertmanager"):
        found = shutil.which(name)
        if found:
            return found
    raise RuntimeError("alertmanager not found: apt-get install prometheus-alertmanager")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class AlertmanagerServer(Managed):
    """One Alertmanager process whose only receiver is `webhook_url` with `token`."""

    def __init__(
        self,
        webhook_url: str,
        token: str,
        *,
        group_by: tuple[str, ...] = ("alertname",),
        repeat_interval: str = "1h",
    ) -> None:
        self.binary = _find_binary()
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="kramar-alertmanager-"))
        self.log = self.dir / "alertmanager.log"
        config = {
            "route": {
                "receiver": "kramar",
                "group_by": list(group_by),
                "group_wait": "1s",
                "group_interval": "1s",
                "repeat_interval": repeat_interval,
            },
            "receivers": [
                {
                    "name": "kramar",
                    "webhook_configs": [
                        {
                            "url": webhook_url,
                            "send_resolved": True,
                            "http_config": {
                                "authorization": {"type": "Bearer", "credentials": token}
                            },
                        }
                    ],
                }
            ],
        }
        (self.dir / "alertmanager.yml").write_text(yaml.safe_dump(config))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [
                    self.binary,
                    f"--config.file={self.dir / 'alertmanager.yml'}",
                    f"--storage.path={self.dir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    f"--web.external-url={self.url}",
                    "--cluster.listen-address=",
                    "--log.level=info",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alertmanager exited: {self.log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/-/ready", timeout=0.5) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                time.sleep(0.05)
        raise RuntimeError(f"alertmanager did not get ready: {self.log.read_text()[-2000:]}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- API v2 ---------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/api/v2{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as response:
            raw = response.read()
        return json.loads(raw) if raw else None

    def post_alert(
        self,
        labels: dict[str, str],
        annotations: dict[str, str] | None = None,
        *,
        starts_at: datetime,
        ends_at: datetime | None = None,
        generator_url: str = "http://prometheus:9090/graph",
    ) -> None:
        """What Prometheus does: POST /api/v2/alerts (an `ends_at` in the past resolves it)."""
        alert: dict[str, Any] = {
            "labels": labels,
            "annotations": annotations or {},
            "startsAt": iso(starts_at),
            "generatorURL": generator_url,
        }
        if ends_at is not None:
            alert["endsAt"] = iso(ends_at)
        self._request("POST", "/alerts", [alert])

    def silences(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self._request("GET", "/silences")
        return result

    def logs(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
