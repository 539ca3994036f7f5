"""Splitting replies to Telegram's limits."""

from __future__ import annotations

import pytest

from app.bot.text import split_message, telegram_length
from tests.servers.telegram import parse_html


def test_short_text_is_one_piece():
    assert split_message("Привіт!") == ["Привіт!"]


def test_empty_text_is_no_pieces():
    assert split_message("") == []
    assert split_message("  \n\n ", 1) == []


def test_paragraph_breaks_are_preferred_over_lines_and_words():
    text = "first para\nstill first\n\nsecond para"

    assert split_message(text, 25) == ["first para\nstill first", "second para"]


def test_lines_then_words_when_a_paragraph_is_too_long():
    assert split_message("one two\nthree four", 12) == ["one two", "three four"]
    assert split_message("one two three four", 9) == ["one two", "three", "four"]


def test_only_a_single_overlong_word_is_cut():
    assert split_message("ok supercalifragilistic ok", 10) == [
        "ok",
        "supercalif",
        "ragilistic",
        "ok",
    ]


def test_length_is_counted_in_utf16_code_units_as_telegram_does():
    emoji = "😀" * 5  # 5 characters, 10 UTF-16 code units

    pieces = split_message(emoji, 4)

    assert telegram_length(emoji) == 10
    assert pieces == ["😀😀", "😀😀", "😀"]
    assert all(telegram_length(p) <= 4 for p in pieces)


def test_an_entity_is_never_cut_in_half():
    pieces = split_message("a&amp;&amp;&amp;b", 7, html=True)

    assert "".join(pieces) == "a&amp;&amp;&amp;b"
    assert all(p.count("&") == p.count(";") for p in pieces)


def test_an_open_tag_is_closed_and_reopened_across_a_cut():
    assert split_message("<b>one two three</b> four", 17, html=True) == [
        "<b>one two</b>",
        "<b>three</b> four",
    ]


def test_a_cut_never_falls_inside_a_tag_even_at_a_space():
    link = '<a href="https://x.ua/a b">link</a>'

    assert split_message(f"see {link}", 38, html=True) == ["see", link]


def test_a_limit_too_small_for_the_open_tags_is_an_error():
    with pytest.raises(ValueError, match="too small"):
        split_message('<a href="https://x.ua/long/path">a b c d</a>', 20, html=True)


@pytest.mark.parametrize("limit", [50, 64, 100, 4096])
def test_every_piece_is_valid_telegram_html_within_the_limit(limit):
    text = (
        "<b>Сукня <i>лляна</i></b> — 1 200 &lt;грн&gt; &amp; знижка 😀\n\n"
        '<pre><code class="language-text">розмір M\nколір синій</code></pre>\n'
        "<u>Доставка</u> <s>завтра</s> <code>NP-123</code>"
    )

    pieces = split_message(text, limit, html=True)

    assert all(telegram_length(p) <= limit for p in pieces)
    visible = [parse_html(p) for p in pieces]  # raises where Telegram would refuse
    assert "".join(visible).replace(" ", "").replace("\n", "") == parse_html(text).replace(
        " ", ""
    ).replace("\n", "")


def test_plain_mode_leaves_angle_brackets_alone():
    assert split_message("a <b> c", 4) == ["a", "<b>", "c"]
