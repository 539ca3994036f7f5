"""Ukrainian phone numbers as customers type them, normalised to +380XXXXXXXXX."""

from __future__ import annotations

import re

from app.orders.errors import InvalidPhoneError

# Separators people put in numbers: spaces (also non-breaking), dashes, dots, brackets.
_SEPARATORS = re.compile(r"[\s\-.()\u00a0\u2010-\u2015]")


def normalize_phone(phone: str) -> str:
    """+380XXXXXXXXX from "+380 67 123 45 67", "067-123-45-67", "380671234567" or "8 067 ...".

    Raises `InvalidPhoneError` for anything else, including foreign numbers: the shop delivers
    within Ukraine, and the manager calls the number before shipping.
    """
    compact = _SEPARATORS.sub("", phone.strip())
    digits = compact.removeprefix("+")
    if not digits.isdigit() or not digits.isascii():
        raise InvalidPhoneError(phone)
    if compact.startswith("+") and not digits.startswith("380"):
        raise InvalidPhoneError(phone)
    if len(digits) == 12 and digits.startswith("380"):
        national = digits[3:]
    elif len(digits) == 11 and digits.startswith("80"):  # the old trunk prefix "8 0XX ..."
        national = digits[2:]
    elif len(digits) == 10 and digits.startswith("0"):
        national = digits[1:]
    else:
        raise InvalidPhoneError(phone)
    # After the country code comes an area or operator code, which never starts with 0.
    if national.startswith("0"):
        raise InvalidPhoneError(phone)
    return f"+380{national}"
