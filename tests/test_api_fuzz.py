"""Schema-driven fuzzing of the whole HTTP API (schemathesis): no input gets a 5xx.

Every operation of `/schema/openapi.json` is called in-process with generated valid and invalid
requests (schemathesis' examples, coverage and fuzzing phases: boundary values, NUL characters,
huge integers, non-numbers), signed in, against the demo catalog in the test Postgres.
`not_a_server_error` is always checked (a 4xx is a fine answer to nonsense, a 5xx never is);
`KRAMAR_FUZZ_CHECKS` adds more (`make reliability`: response_schema_conformance).

`make test` runs a few dozen cases per operation (`KRAMAR_FUZZ_EXAMPLES`, default 20);
`make fuzz` runs a longer one and prints the figures.
"""

from __future__ import annotations

import os
from collections import Counter
from typing import Any

import pytest
import schemathesis
from pydantic import SecretStr
from schemathesis.config import HealthCheck, SchemathesisConfig
from schemathesis.core.result import Ok
from schemathesis.engine import events, from_schema
from schemathesis.python.asgi import shutdown_lifespans

from app.config import AlertSettings, TelegramSettings
from app.server import create_app
from tests.fixtures_app import ADMIN, ADMIN_TOKEN, app_settings
from tests.servers.telegram import TOKEN

EXAMPLES = int(os.environ.get("KRAMAR_FUZZ_EXAMPLES", "20"))
SEED = int(os.environ.get("KRAMAR_FUZZ_SEED", "1"))
# Checks besides "no 5xx" (`make reliability` adds response_schema_conformance: every answer
# matches the schema's model for its status).
CHECKS = tuple(c for c in os.environ.get("KRAMAR_FUZZ_CHECKS", "").split(",") if c)


def fuzz(
    app: Any, examples: int, checks: tuple[str, ...] = CHECKS
) -> tuple[set[str], int, dict[str, list[str]]]:
    """(operations tested, requests made, failures by operation) of one run: server errors,
    and the findings of `checks` besides `not_a_server_error`."""
    config = SchemathesisConfig()
    config.update(max_failures=None, suppress_health_check=[HealthCheck.all], seed=SEED)
    project = config.projects.override
    project.update(headers=ADMIN, continue_on_failure=True, workers=1)
    project.phases.update(phases=["examples", "coverage", "fuzzing"])
    project.checks.update(included_check_names=["not_a_server_error", *checks])
    project.generation.update(max_examples=examples)
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app, config=config)
    # Every operation the schema declares; one it cannot even describe is a finding too.
    declared = {
        result.ok().label if isinstance(result, Ok) else f"invalid: {result.err()}"
        for result in schema.get_all_operations()
    }
    operations: set[str] = set()
    requests = 0
    errors: dict[str, list[str]] = {}
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            operations.add(event.recorder.label)
            for case_id, nodes in event.recorder.checks.items():
                for node in nodes:
                    if node.name == "not_a_server_error" or node.failure_info is None:
                        continue  # server errors are listed from the responses below
                    interaction = event.recorder.interactions.get(case_id)
                    errors.setdefault(event.recorder.label, []).append(
                        f"{node.name}: {node.failure_info.failure.title}"
                        f" {interaction.request.uri if interaction else ''}"
                    )
            for interaction in event.recorder.interactions.values():
                requests += 1
                response = interaction.response
                if response is not None and response.status_code >= 500:
                    errors.setdefault(event.recorder.label, []).append(
                        f"not_a_server_error: {response.status_code} {interaction.request.uri}"
                        f" {(interaction.request.body or b'')[:300]!r}"
                        f" -> {(response.content or b'')[:200]!r}"
                    )
        elif isinstance(event, events.FatalError):
            raise event.exception
    for label in declared - operations:
        errors.setdefault(label, []).append("untested: the run never called it")
    return operations, requests, errors


@pytest.fixture(name="fuzz_app")
def fx_fuzz_app(database_url, db, demo_catalog, telegram):
    # The alerts token equals the admin token, so one header signs every route in; alerts go
    # to the Telegram stand-in (the bot long-polls it: no public URL).
    settings = app_settings(
        database_url,
        alerts=AlertSettings(token=SecretStr(ADMIN_TOKEN)),
        oncall_chat_id=-100777,
        telegram=TelegramSettings(
            bot_token=SecretStr(TOKEN),
            api_url=telegram.url,
            per_chat_interval_seconds=0,
            global_interval_seconds=0,
        ),
    )
    app = create_app(settings)
    yield app
    shutdown_lifespans()


def test_no_generated_request_gets_a_server_error(fuzz_app):
    operations, requests, errors = fuzz(fuzz_app, EXAMPLES)
    found = sum(len(uris) for uris in errors.values())
    checks = ", ".join(("not_a_server_error", *CHECKS))
    print(
        f"\nfuzz: {len(operations)} operations, {requests} requests, checks {checks}:"
        f" {found} findings"
    )
    by_check = Counter(e.split(":", 1)[0] for found in errors.values() for e in found)
    print(f"  findings by check: {dict(by_check) or 0}")
    for label in sorted(operations):
        print(f"  {label}: {len(errors.get(label, []))} findings")
    for label, uris in errors.items():
        print(f"  {label}: {len(uris)}, e.g. {uris[0]}")
    assert len(operations) >= 19  # every one is checked below: an untested one is a finding
    assert errors == {}
