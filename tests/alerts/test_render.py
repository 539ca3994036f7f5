from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.alerts.render import _eu_offset, duration, kyiv_time, silence_url
from app.alerts.service import parse_callback, silence_keyboard


def test_kyiv_time_follows_summer_time_with_and_without_a_tz_database():
    winter, summer = datetime(2026, 1, 10, 12, tzinfo=UTC), datetime(2026, 7, 10, 12, tzinfo=UTC)
    assert kyiv_time(winter) == "10.01 14:00" and kyiv_time(summer) == "10.07 15:00"
    # The fallback for an image without tzdata agrees, on both sides of both switches.
    for moment in (winter, summer, datetime(2026, 3, 29, 0, 59, tzinfo=UTC),
                   datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
                   datetime(2026, 10, 25, 0, 59, tzinfo=UTC),
                   datetime(2026, 10, 25, 1, 0, tzinfo=UTC)):  # fmt: skip
        assert kyiv_time(moment) == (moment + _eu_offset(moment)).strftime("%d.%m %H:%M")


def test_durations_read_naturally():
    assert duration(timedelta(minutes=4, seconds=59)) == "5 хв"
    assert duration(timedelta(hours=2)) == "2 год"
    assert duration(timedelta(days=1, hours=3, minutes=7)) == "1 д 3 год 7 хв"


def test_the_silence_link_prefills_alertmanagers_filter():
    url = silence_url("http://am:9093/", {"alertname": "X", "pod": 'a"b'})
    assert url == (
        "http://am:9093/#/silences/new?filter=%7Balertname%3D%22X%22%2Cpod%3D%22a%5C%22b%22%7D"
    )
    assert silence_url("", {"alertname": "X"}) is None


def test_button_data_fits_telegram_and_parses_back():
    [row] = silence_keyboard("AbCdEfGhIjKl").inline_keyboard
    data = [b.callback_data for b in row]
    assert all(d is not None and len(d.encode()) <= 64 for d in data)
    assert [parse_callback(d or "") for d in data] == [
        ("AbCdEfGhIjKl", 1), ("AbCdEfGhIjKl", 4), ("AbCdEfGhIjKl", 24)
    ]  # fmt: skip
    assert parse_callback("o:KR-HD-001") is None
    assert parse_callback("am:s:x:forever") is None
