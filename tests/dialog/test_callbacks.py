"""Callback data: values within Telegram's 64 bytes, and strict reading of whatever comes back."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.dialog import callbacks
from app.dialog.callbacks import LIMIT, StaleButtonError

skus = st.from_regex(r"\A[A-Z0-9][A-Z0-9-]{2,31}\Z")
# What the catalog accepts as a size or colour: 1-60 characters, no space at either end.
labels = st.text(min_size=1, max_size=60).map(str.strip).filter(bool)


@given(sku=skus, size=labels, colour=labels, others=st.lists(labels, max_size=5))
def test_a_variant_button_fits_and_reads_back_as_the_same_variant(sku, size, colour, others):
    data = callbacks.reserve(sku, size, colour)
    assert len(data.encode()) <= LIMIT
    pressed = callbacks.parse(data)
    assert isinstance(pressed, callbacks.Reserve) and pressed.sku == sku
    others = [o for o in others if o not in (size, colour)]
    assert callbacks.resolve(pressed.size, [*others, size]) == size
    assert callbacks.resolve(pressed.colour, [colour, *others]) == colour


@given(sku=skus, size=labels)
def test_a_size_button_fits_and_reads_back(sku, size):
    data = callbacks.choose_colour(sku, size)
    assert len(data.encode()) <= LIMIT
    pressed = callbacks.parse(data)
    assert isinstance(pressed, callbacks.ChooseColour) and pressed.sku == sku
    assert callbacks.resolve(pressed.size, [size]) == size


@given(data=st.text(max_size=100))
def test_any_callback_data_is_an_action_or_stale_never_another_error(data):
    with contextlib.suppress(StaleButtonError):
        callbacks.parse(data)


def test_a_long_colour_travels_as_its_hash():
    colour = "темно-синій з переходом у фіолетовий, меланж"
    data = callbacks.reserve("KR-KS-001", "XL", colour)
    assert len(data.encode()) <= LIMIT and colour not in data
    pressed = callbacks.parse(data)
    assert isinstance(pressed, callbacks.Reserve)
    assert callbacks.resolve(pressed.colour, ["чорний", colour]) == colour


@pytest.mark.parametrize(
    ("data", "action"),
    [
        ("p:KR-KS-001", callbacks.Show("KR-KS-001")),
        ("o:KR-KS-001", callbacks.ChooseSize("KR-KS-001")),
        ("s:KR-KS-001:M", callbacks.ChooseColour("KR-KS-001", "M")),
        ("c:KR-KS-001:M:бежевий", callbacks.Reserve("KR-KS-001", "M", "бежевий")),
        ("d:np", callbacks.Delivery("np")),
        ("ok:12", callbacks.Confirm(12)),
        ("ok", callbacks.Confirm(None)),
        ("x:12", callbacks.Cancel(12)),
        ("h", callbacks.Manager()),
    ],
)
def test_buttons_read_as_what_they_name(data, action):
    assert callbacks.parse(data) == action


@pytest.mark.parametrize(
    "data", ["", "zzz", "c:KR-KS-001:S", "p:kr-ks-001", "ok:0", "x:-1", "d:pigeon", "h:1"]
)
def test_malformed_buttons_are_stale(data):
    with pytest.raises(StaleButtonError):
        callbacks.parse(data)
