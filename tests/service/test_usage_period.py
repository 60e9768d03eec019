"""The period of a usage query (pure)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from service import InvalidRequest, parse_period
from service.usage import Period, storage_cost

NOW = datetime(2024, 2, 10, 15, 30, tzinfo=UTC)


def test_default_is_the_current_calendar_month() -> None:
    period = parse_period(None, None, now=NOW)
    assert period.start == datetime(2024, 2, 1, tzinfo=UTC)
    assert period.end == datetime(2024, 3, 1, tzinfo=UTC) - timedelta(microseconds=1)
    december = parse_period(None, None, now=datetime(2023, 12, 31, 23, 0, tzinfo=UTC))
    assert december.end == datetime(2024, 1, 1, tzinfo=UTC) - timedelta(microseconds=1)


def test_dates_cover_whole_days_and_times_are_taken_in_utc() -> None:
    period = parse_period("2024-01-01", "2024-01-31", now=NOW)
    assert period.start == datetime(2024, 1, 1, tzinfo=UTC)
    assert period.end == datetime(2024, 2, 1, tzinfo=UTC) - timedelta(microseconds=1)
    period = parse_period("2024-01-01T10:00:00+02:00", "2024-01-02T00:00:00Z", now=NOW)
    assert period.start == datetime(2024, 1, 1, 8, tzinfo=UTC)
    assert period.end == datetime(2024, 1, 2, tzinfo=UTC)
    naive = parse_period("2024-01-01T10:00:00", None, now=NOW)
    assert naive.start == datetime(2024, 1, 1, 10, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "words"),
    [
        ("last week", None, "start_date is not an ISO 8601"),
        (None, "2024-02-30", "end_date is not an ISO 8601"),
        ("2024-03-01", "2024-02-01", "start_date is after end_date"),
    ],
)
def test_bad_periods_are_invalid_requests(start: str | None, end: str | None, words: str) -> None:
    with pytest.raises(InvalidRequest, match=words):
        parse_period(start, end, now=NOW)


def test_storage_is_charged_for_the_part_of_the_period_each_snapshot_was_held() -> None:
    period = Period(start=datetime(2026, 11, 1, tzinfo=UTC), end=datetime(2026, 11, 30, 23, 59, tzinfo=UTC))
    now = datetime(2026, 11, 21, tzinfo=UTC)
    gib = 1024**3
    held = [
        (gib, datetime(2026, 10, 1, tzinfo=UTC), None),  # held since before the period: 20 days until now
        (2 * gib, datetime(2026, 11, 11, tzinfo=UTC), datetime(2026, 11, 16, tzinfo=UTC)),  # 5 days
        (gib, datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 10, 2, tzinfo=UTC)),  # deleted before: nothing
    ]
    cost = storage_cost(held, period, now, price_per_gb_month=3.0)
    assert cost == pytest.approx((20 + 2 * 5) / 30 * 3.0)
    assert storage_cost([], period, now, price_per_gb_month=3.0) == 0.0
