"""`KRAMAR_LLM_*` settings, as an operator writes them."""

from __future__ import annotations

import json

from app.llm.settings import LLMSettings


def test_links_are_read_from_json_in_the_environment(monkeypatch):
    links = [
        {
            "name": "primary",
            "model": "grok-4",
            "base_url": "https://api.x.ai/v1",
            "api_key": "xai-secret",
            "timeout": 20,
            "max_retries": 2,
            "input_usd_per_mtok": 3,
            "output_usd_per_mtok": 15,
            "expensive": True,
        },
        {"name": "cheap", "model": "gpt-4o-mini", "api_key": "sk-secret"},
    ]
    monkeypatch.setenv("KRAMAR_LLM_LINKS", json.dumps(links))
    monkeypatch.setenv("KRAMAR_LLM_DAILY_BUDGET_USD", "12.5")

    settings = LLMSettings(_env_file=None)

    primary, cheap = settings.links
    assert (primary.model, primary.expensive, primary.output_usd_per_mtok) == ("grok-4", True, 15)
    assert primary.api_key.get_secret_value() == "xai-secret"
    assert "xai-secret" not in repr(settings)
    assert (cheap.base_url, cheap.expensive) == ("https://api.openai.com/v1", False)
    assert settings.daily_budget_usd == 12.5


def test_no_links_by_default_means_offline(monkeypatch):
    monkeypatch.delenv("KRAMAR_LLM_LINKS", raising=False)

    settings = LLMSettings(_env_file=None)

    assert settings.links == []
    assert settings.daily_budget_usd is None


def test_every_field_documents_itself():
    for model in (LLMSettings, LLMSettings.model_fields["links"].annotation.__args__[0]):  # type: ignore[union-attr]
        for name, field in model.model_fields.items():
            assert field.description, name
