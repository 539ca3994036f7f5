"""`GET /metrics` serves the exposition format, from one process or added up over workers."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from prometheus_client import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families

from app.observability.api import MULTIPROC_DIR_ENV, metrics_router
from app.observability.metrics import LLM_DAILY_BUDGET, TELEGRAM_UPDATES, set_llm_daily_budget

ROOT = Path(__file__).resolve().parents[2]

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(monkeypatch: pytest.MonkeyPatch, multiproc_dir: Path | None = None) -> Samples:
    if multiproc_dir is None:
        monkeypatch.delenv(MULTIPROC_DIR_ENV, raising=False)
    else:
        monkeypatch.setenv(MULTIPROC_DIR_ENV, str(multiproc_dir))
    with TestClient(Litestar(route_handlers=[metrics_router])) as client:
        response = client.get("/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == CONTENT_TYPE_LATEST
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def run_worker(multiproc_dir: Path, code: str) -> None:
    """Run `code` in a fresh interpreter that writes its metrics to `multiproc_dir`, as a worker."""
    env = {**os.environ, MULTIPROC_DIR_ENV: str(multiproc_dir)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


def test_a_single_process_serves_its_own_counters(monkeypatch):
    key = ("telegram_updates_total", labels(kind="photo", outcome="ok"))
    before = scrape(monkeypatch)[key]

    TELEGRAM_UPDATES.labels("photo", "ok").inc()

    assert scrape(monkeypatch)[key] == before + 1


def test_counters_of_bounded_labels_exist_at_zero_before_any_event(monkeypatch):
    samples = scrape(monkeypatch)

    assert ("escalations_total", labels(level="L2", reason="payment")) in samples
    assert ("orders_total", labels(status="cancelled")) in samples
    assert ("conversation_stage_total", labels(stage="ordered")) in samples


def test_the_budget_reads_as_no_limit_until_set(monkeypatch):
    set_llm_daily_budget(None)
    assert math.isinf(scrape(monkeypatch)[("llm_daily_budget_usd", labels())])

    set_llm_daily_budget(12.5)
    try:
        assert scrape(monkeypatch)[("llm_daily_budget_usd", labels())] == 12.5
    finally:
        set_llm_daily_budget(None)
    assert math.isinf(LLM_DAILY_BUDGET._value.get())


def test_with_a_multiprocess_dir_the_scrape_adds_up_every_worker(monkeypatch, tmp_path):
    for oldest in (42, 7):
        run_worker(
            tmp_path,
            "from app.observability.metrics import ESCALATIONS, INBOX_OLDEST_PENDING, "
            "ANSWER_LATENCY\n"
            "ESCALATIONS.labels('L1', 'asked').inc()\n"
            f"INBOX_OLDEST_PENDING.set({oldest})\n"
            "ANSWER_LATENCY.observe(2.5)\n",
        )

    samples = scrape(monkeypatch, tmp_path)

    assert samples[("escalations_total", labels(level="L1", reason="asked"))] == 2
    assert samples[("answer_latency_seconds_count", labels())] == 2
    assert samples[("answer_latency_seconds_bucket", labels(le="3.0"))] == 2
    assert samples[("inbox_oldest_pending_seconds", labels())] == 42
