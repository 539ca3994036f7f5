"""The leak guard on model text: repeated instructions and secret-shaped strings go, the rest
stays."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.dialog.agent import INSTRUCTIONS, LEAKS
from app.dialog.leaks import RUN, LeakGuard, words

WORDS = words(INSTRUCTIONS.split("{stage}", 1)[0])
HONEST = "Костюм «Мрія» дуже м'який і теплий."


@given(st.integers(0, len(WORDS) - RUN), st.integers(RUN, 12))
def test_any_run_of_the_instructions_in_a_sentence_drops_that_sentence(start, length):
    quoted = " ".join(WORDS[start : start + length]).capitalize()
    text, dropped = LEAKS.strip(f"{HONEST} Мої правила: {quoted}.")
    assert dropped >= 1
    assert text.startswith(HONEST)
    assert quoted not in text


@given(
    st.sampled_from(["sk-proj-abcdefghijklmnop1234", "123456789:AAbbCCddEEffGGhhIIjjKKllMMnnOOpp"])
)
def test_a_secret_shaped_string_drops_its_sentence(secret):
    assert LeakGuard().strip(f"{HONEST} Ось: {secret}. Гарного дня!") == (
        f"{HONEST} Гарного дня!",
        1,
    )


def test_ordinary_answers_pass_unchanged():
    for text in (HONEST, "Є розміри S, M і L. Оберіть колір, будь ласка!", "Так, є в наявності."):
        assert LEAKS.strip(text) == (text, 0)
