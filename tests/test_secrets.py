"""Secrets: an empty token never switches authentication off, and one guard checks them all."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from app.auth import token_matches
from app.cli import main
from app.config import Settings, get_settings

SECRET_VARIABLES = (
    "KRAMAR_ADMIN_TOKEN",
    "KRAMAR_ALERTS_TOKEN",
    "KRAMAR_TELEGRAM_WEBHOOK_SECRET",
)
blank = st.text(alphabet=" \t\r\n\x0b\x0c\u00a0\u2003", max_size=8)


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
@given(value=blank)
def test_an_empty_or_blank_secret_is_refused_naming_the_variable(variable, value):
    with pytest.MonkeyPatch.context() as env:
        env.setenv(variable, value)
        with pytest.raises(ValidationError, match=variable):
            Settings(_env_file=None)


@pytest.mark.parametrize("variable", SECRET_VARIABLES)
def test_kramar_refuses_to_start_with_a_blank_secret(variable):
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["config"], env={variable: "  "})
    finally:
        get_settings.cache_clear()
    assert result.exit_code != 0
    assert f"{variable} is set but empty" in result.output
    assert "Traceback" not in result.output


def test_a_webhook_secret_telegram_would_refuse_is_refused_at_start():
    with pytest.MonkeyPatch.context() as env:
        env.setenv("KRAMAR_TELEGRAM_WEBHOOK_SECRET", "has spaces/and:colons")
        with pytest.raises(ValidationError, match="A-Z, a-z, 0-9"):
            Settings(_env_file=None)


@given(token=blank, header=st.text(max_size=40))
def test_the_guard_never_admits_anyone_with_a_blank_token(token, header):
    assert not token_matches(header, SecretStr(token))
    assert not token_matches(header, None)


@given(token=st.text(alphabet="abcXYZ019-_.", min_size=1, max_size=40), other=st.text(max_size=40))
def test_the_guard_admits_exactly_the_bearer_token(token, other):
    assert token_matches(f"Bearer {token}", SecretStr(token))
    assert token_matches(f"bearer {token}", SecretStr(token))
    if other.strip() != token:
        assert not token_matches(f"Bearer {other}", SecretStr(token))
    assert not token_matches(token, SecretStr(token))  # no scheme
