"""Starting servers for benchmarks: the real `kramar serve` (embedded Postgres) and the bare app."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from contextlib import AbstractContextManager

    from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

    Scratch = tuple[AsyncEngine, async_sessionmaker[AsyncSession]]

ROOT = Path(__file__).resolve().parent.parent
SERVER_CPU = "0"  # the server on one core, the load generator on the other
LOAD_CPU = "1"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _pinned(cmd: list[str], cpu: str) -> list[str]:
    taskset = shutil.which("taskset")
    return [taskset, "-c", cpu, *cmd] if taskset and (os.cpu_count() or 1) > 1 else cmd


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"{url} did not come up in {timeout} s")


@contextmanager
def process(
    cmd: list[str], env: dict[str, str], ready_url: str, root: Path = ROOT
) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(_pinned(cmd, SERVER_CPU), env=env, cwd=root)
    try:
        wait_http(ready_url, timeout=180)  # a loaded shared machine starts slowly
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


def kramar_env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KRAMAR_")}
    env.update(KRAMAR_DATA_DIR=str(data_dir), KRAMAR_LOG_LEVEL="WARNING", **extra)
    return env


def kramar_server(
    companion: dict[str, str] | None = None, **extra_env: str
) -> AbstractContextManager[str]:
    """`kramar serve` on the demo catalog in a fresh embedded Postgres; yields the base URL.

    `companion`: settings of a second `kramar serve` sharing that Postgres (e.g. the inbox
    workers of a web-only first process), started after the first and stopped before it.
    """
    return kramar_server_at(ROOT, companion, extra_env)


def _children(pid: int) -> list[int]:
    children = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:  # gone meanwhile
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(entry.name))
    return children


def move_database(data_dir: Path) -> None:
    """The embedded Postgres of `data_dir` onto the load CPU at nice 10: off the server's CPU,
    as a database pod is off a web pod's, and below the load generator there, so that it takes
    the CPU the generator leaves and never delays a scheduled send. Its backends fork from the
    postmaster, so the ones opened later inherit both."""
    if (os.cpu_count() or 1) < 2:
        return
    postmaster = int((data_dir / "pg" / "postmaster.pid").read_text().split()[0])
    for pid in [postmaster, *_children(postmaster)]:
        try:
            os.sched_setaffinity(pid, {int(LOAD_CPU)})
            os.setpriority(os.PRIO_PROCESS, pid, 10)
        except ProcessLookupError:  # a backend that ended meanwhile
            pass


@contextmanager
def kramar_server_at(
    root: Path,
    companion: dict[str, str] | None,
    extra_env: dict[str, str],
    *,
    database_apart: bool = False,
) -> Iterator[str]:
    """`kramar_server` running the `app` of the source tree `root` (a before/after row);
    `database_apart`: its Postgres off the server CPU once started (see `move_database`)."""
    data_dir = Path(tempfile.mkdtemp(prefix="kramar-bench-", dir="/tmp"))
    env = kramar_env(data_dir, **extra_env)
    port = free_port()
    try:
        kramar = [sys.executable, "-m", "app.cli"]
        subprocess.run([*kramar, "migrate"], env=env, cwd=root, check=True, capture_output=True)
        subprocess.run(
            [*kramar, "catalog", "import"], env=env, cwd=root, check=True, capture_output=True
        )
        base = f"http://127.0.0.1:{port}"
        with process([*kramar, "serve", "--port", str(port)], env, f"{base}/health/ready", root):
            if database_apart:
                move_database(data_dir)
            if companion is None:
                yield base
                return
            other = free_port()
            # Niced: on this one CPU it stands in for a worker replica with its own CPU limit,
            # so it cannot starve the web process's acknowledgements.
            with process(
                ["nice", "-n", "10", *kramar, "serve", "--port", str(other)],
                {**env, **companion},
                f"http://127.0.0.1:{other}/health/ready",
            ):
                yield base
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


@contextmanager
def checkout(ref: str) -> Iterator[Path]:
    """The tree of `ref` exported to /tmp (`git archive`: no worktree, no change to the repo)."""
    where = Path(tempfile.mkdtemp(prefix="kramar-baseline-", dir="/tmp"))
    try:
        archive = subprocess.run(
            ["git", "archive", "--format=tar", ref], cwd=ROOT, check=True, capture_output=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(where)], input=archive, check=True)
        yield where
    finally:
        shutil.rmtree(where, ignore_errors=True)


@contextmanager
def bare_server() -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable, "-m", "uvicorn", "benchmarks.bare_app:app",
        "--port", str(port), "--log-level", "warning", "--timeout-keep-alive", "65",
    ]  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    with process(cmd, dict(os.environ), f"{base}/bare/x"):
        yield base


def wrk(url: str, seconds: int = 8, connections: int = 32) -> float:
    """Requests per second that wrk sustains against `url` (after a 1 s warm-up)."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk not found: run `make system-deps` (Debian package wrk)")
    subprocess.run(
        _pinned([binary, "-t1", "-c8", "-d1s", url], LOAD_CPU), check=True, capture_output=True
    )
    out = subprocess.run(
        _pinned([binary, "-t1", f"-c{connections}", f"-d{seconds}s", url], LOAD_CPU),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if errors:
        raise RuntimeError(f"{url}: {errors.group(1)} error responses during the run:\n{out}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if match is None:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    return float(match.group(1))


def wrk_latency(url: str, seconds: int = 8, connections: int = 200) -> tuple[float, float, int]:
    """(requests/s, p99 latency in ms, non-2xx responses) of wrk at `connections` (closed
    loop: each connection waits for its answer, so the p99 is of answered requests)."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk not found: run `make system-deps` (Debian package wrk)")
    subprocess.run(
        _pinned([binary, "-t1", "-c8", "-d1s", url], LOAD_CPU), check=True, capture_output=True
    )
    out = subprocess.run(
        _pinned(
            [
                binary,
                "-t1",
                f"-c{connections}",
                f"-d{seconds}s",
                "--latency",
                "--timeout",
                "10s",
                url,
            ],
            LOAD_CPU,
        ),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    p99 = re.search(r"^\s+99%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    if rate is None or p99 is None:
        raise RuntimeError(f"cannot read wrk output:\n{out}")
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}[p99.group(2)]
    return float(rate.group(1)), float(p99.group(1)) * scale, int(errors.group(1)) if errors else 0


@asynccontextmanager
async def demo_database() -> AsyncIterator[Scratch]:
    """A fresh embedded Postgres holding the demo catalog with photo hashes and RAG vectors."""
    from app.catalog.importer import import_catalog, load_catalog
    from app.config import VisionSettings
    from app.rag.embedders import HashingEmbedder
    from app.rag.indexer import reindex
    from app.vision.pipeline import catalog_photo_hasher
    from tests.servers.postgres import migrated_database

    async with migrated_database() as (engine, session_factory):
        demo = ROOT / "data" / "catalog" / "products_master.yaml"
        items = load_catalog(demo, max_catalog_bytes=20_000_000, max_photo_bytes=5_000_000)
        hasher = catalog_photo_hasher(VisionSettings())
        await import_catalog(session_factory, items, photo_hasher=hasher)
        await reindex(session_factory, HashingEmbedder())
        yield engine, session_factory
