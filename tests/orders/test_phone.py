from __future__ import annotations

import pytest

from app.orders.errors import InvalidPhoneError
from app.orders.phone import normalize_phone


@pytest.mark.parametrize(
    "typed",
    [
        "+380 67 123 45 67",
        "+380671234567",
        "380671234567",
        "067-123-45-67",
        "067 123 45 67",
        "(067) 123-45-67",
        "+38 (067) 123-45-67",
        "0671234567",
        "8 067 123 45 67",
        " +380.67.123.45.67 ",
        "+380\u00a067\u00a0123\u00a045\u00a067",
    ],
)
def test_common_ukrainian_forms_are_normalised(typed):
    assert normalize_phone(typed) == "+380671234567"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "12345",
        "+48 601 234 567",  # Polish
        "+7 912 345 67 89",
        "67 123 45 67",  # no trunk prefix: could be anything
        "3800671234567",
        "+3800671234567",
        "0071234567",
        "067 123 45 6",
        "067 123 45 678",
        "067-ABC-45-67",
        "٠٦٧١٢٣٤٥٦٧",  # Arabic-Indic digits are digits, but not ours
        "+ 380 67 123 45 67 ext 2",
    ],
)
def test_other_numbers_are_refused_with_the_expected_form(typed):
    with pytest.raises(InvalidPhoneError, match=r"\+380 67 123 45 67"):
        normalize_phone(typed)
