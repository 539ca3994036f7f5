"""The deployment under test, as the chart runs it, on loopback: a web process that only
acknowledges (`KRAMAR_TELEGRAM_WORKERS=0`), a worker process that works the inbox off, their own
Postgres (pgvector) and Redis, and the Telegram stand-in. Each part can be killed, stopped and
started again while the load runs.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tests.servers.postgres import TestPostgres
from tests.servers.redis import RedisServer, free_port
from tests.servers.telegram import TOKEN, TelegramServer

if TYPE_CHECKING:
    from types import TracebackType

    from sqlalchemy.engine import URL

ROOT = Path(__file__).resolve().parents[2]
SECRET = "reliability-webhook-secret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
MANAGERS = -100777
WEB_PORT_SETTINGS = {"KRAMAR_TELEGRAM_WORKERS": "0"}


class Process:
    """One `kramar serve` on a fixed port, so a restart comes back where the load expects it."""

    def __init__(self, name: str, env: dict[str, str], logs: Path) -> None:
        self.name = name
        self.env = env
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log = logs / f"{name}.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def start(self, timeout: float = 90) -> None:
        self.spawn()
        self.wait_ready(timeout)

    def spawn(self) -> None:
        """Start the process without waiting for it to serve (see `wait_ready`)."""
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "app.cli", "serve", "--port", str(self.port)],
                env=self.env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def wait_ready(self, timeout: float = 90) -> None:
        """Until the process answers its liveness probe."""
        assert self.proc is not None, "spawn() first"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited: see {self.log}")
            try:
                if httpx.get(f"{self.base}/health/live", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not come up in {timeout} s: see {self.log}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, leases stay held until they run out."""
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def rss_kib(self) -> int:
        """Resident memory of the process, in KiB (0 when it is not running)."""
        if self.proc is None:
            return 0
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


class Stack:
    """Postgres, Redis, the Telegram stand-in, and the web and worker processes."""

    def __init__(self, *, workers: int = 8, lease_seconds: float = 4, **settings: str) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="kramar-reliab-", dir="/tmp"))
        self.postgres = TestPostgres()
        self.redis = RedisServer()
        self.telegram = TelegramServer()
        self.workers = workers
        self.lease_seconds = lease_seconds
        self.settings = settings
        self._postgres_restarted = False
        self.web: Process
        self.worker: Process
        self.database_url: URL

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KRAMAR_")}
        env.update(
            KRAMAR_DATA_DIR=str(self.dir / "data"),
            KRAMAR_DATABASE_URL=self.database_url.render_as_string(hide_password=False),
            KRAMAR_REDIS_URL=self.redis.url,
            KRAMAR_TELEGRAM_BOT_TOKEN=TOKEN,
            KRAMAR_TELEGRAM_WEBHOOK_SECRET=SECRET,
            KRAMAR_TELEGRAM_API_URL=self.telegram.url,
            KRAMAR_PUBLIC_URL="https://shop.example",
            KRAMAR_MANAGER_CHAT_ID=str(MANAGERS),
            KRAMAR_LOG_LEVEL="WARNING",
            # Telegram's flood limits would make the limiter, not the app, the figure.
            KRAMAR_TELEGRAM_PER_CHAT_INTERVAL_SECONDS="0",
            KRAMAR_TELEGRAM_GLOBAL_INTERVAL_SECONDS="0",
            KRAMAR_TELEGRAM_POLL_INTERVAL_SECONDS="0.5",
            KRAMAR_TELEGRAM_LEASE_SECONDS=f"{self.lease_seconds:g}",
            # A photo the offline matcher is unsure of offers its candidates instead of a
            # hand-off: a chat with a manager is answered in the managers' chat, which this
            # load does not follow.
            KRAMAR_DIALOG_LOW_CONFIDENCE="0",
            # Each update is its own turn, so "answered exactly once" is checked per update:
            # the generator sends a chat's next message before the last is answered, which the
            # bot would fold into one turn (tests/bot/test_alive.py tests that); no holding
            # message, which would count as a second answer.
            KRAMAR_TELEGRAM_BURST_MAX="1",
            KRAMAR_TELEGRAM_HOLDING_SECONDS="0",
        )
        env.update(self.settings)
        return env

    def __enter__(self) -> Stack:
        try:
            self.postgres.start()
            self.database_url = self.postgres.create_database("kramar")
            self.redis.start()
            self.telegram.start()
            env = self._env()
            kramar = [sys.executable, "-m", "app.cli"]
            for command in (["migrate"], ["catalog", "import"]):
                subprocess.run(
                    [*kramar, *command], env=env, cwd=ROOT, check=True, capture_output=True
                )
            self.web = Process("web", {**env, **WEB_PORT_SETTINGS}, self.dir)
            self.worker = Process(
                "worker", {**env, "KRAMAR_TELEGRAM_WORKERS": str(self.workers)}, self.dir
            )
            # Side by side: each takes seconds to import and warm up.
            self.web.spawn()
            self.worker.spawn()
            self.web.wait_ready()
            self.worker.wait_ready()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        for process in (getattr(self, "worker", None), getattr(self, "web", None)):
            if process is not None:
                process.stop()
        self.telegram.stop()
        self.redis.close()
        if self._postgres_restarted:
            # pgserver knows the first postmaster only: it would leave this one running.
            self._pg_ctl("-m", "fast", "stop")
        self.postgres.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    # --- faults ---------------------------------------------------------------------------

    def stop_postgres(self) -> None:
        """Stop the database server (fast shutdown: open connections are cut)."""
        self._pg_ctl("-m", "fast", "stop")
        self._postgres_restarted = True

    def start_postgres(self) -> None:
        """Start it again on the same data and socket, as pgserver does."""
        socket_dir = self.database_url.query["host"]
        # pg_ctl runs as pgserver's system user: its own log file is one it may write.
        log = str(self._pgserver().log)
        self._pg_ctl("-o", '-h ""', "-o", f"-k {socket_dir}", "-l", log, "start")

    def _pgserver(self) -> Any:
        from pgserver import get_server  # type: ignore[attr-defined]

        return get_server(str(self.postgres._server.pgdata), cleanup_mode="stop")

    def _pg_ctl(self, *args: str) -> None:
        from pgserver._commands import pg_ctl  # type: ignore[attr-defined]

        server = self._pgserver()
        pg_ctl(["-w", *args], pgdata=server.pgdata, user=server.system_user, timeout=30)
