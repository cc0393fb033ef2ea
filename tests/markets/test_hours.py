from datetime import UTC, datetime

import pytest

from markets.hours import last_close_before, market_is_open


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(("at", "open_"), [
    ("2026-11-27T21:59:59", True),   # Friday, last second (17:00 New York is 22:00 UTC in winter)
    ("2026-11-27T22:00:00", False),  # Friday close
    ("2026-11-28T12:00:00", False),  # Saturday
    ("2026-11-29T21:59:59", False),  # Sunday, before the open
    ("2026-11-29T22:00:00", True),   # Sunday open
    ("2026-11-25T03:00:00", True),   # Wednesday night
])
def test_it_closes_metals_and_fx_from_friday_to_sunday_17_new_york_in_winter(at, open_):
    assert market_is_open(symbol="XAUUSD", at=utc(at)) is open_
    assert market_is_open(symbol="USDJPY", at=utc(at)) is open_


@pytest.mark.parametrize(("at", "open_"), [
    # Summer (EDT): 17:00 New York is 21:00 UTC; the hour 21:00-22:00 UTC is the one that moves.
    ("2026-07-10T20:59:59", True),
    ("2026-07-10T21:00:00", False),   # Friday close, an hour earlier in UTC than in winter
    ("2026-07-10T21:30:00", False),
    ("2026-07-12T20:59:59", False),
    ("2026-07-12T21:00:00", True),    # Sunday open
    # The Sunday US clocks go forward (8 March 2026; Europe only on 29 March): open at 21:00 UTC.
    ("2026-03-08T20:59:59", False),
    ("2026-03-08T21:30:00", True),
    # The Sunday they go back (1 November 2026): open at 22:00 UTC again.
    ("2026-11-01T21:30:00", False),
    ("2026-11-01T22:00:00", True),
    # The Friday before it still closes on summer time.
    ("2026-10-30T21:30:00", False),
])
def test_it_follows_new_york_daylight_saving(at, open_):
    assert market_is_open(symbol="EURUSD", at=utc(at)) is open_


@pytest.mark.parametrize(("at", "open_"), [
    # Christmas Day 2026 is a Friday: closed from Thursday 17:00 New York into the weekend.
    ("2026-12-24T21:59:59", True),
    ("2026-12-24T22:00:00", False),
    ("2026-12-25T12:00:00", False),
    ("2026-12-27T22:00:00", True),
    # New Year's Day 2027 (a Friday), Good Friday 2027 (26 March, summer time: 21:00 UTC).
    ("2027-01-01T12:00:00", False),
    ("2026-12-31T21:59:59", True),
    ("2027-03-26T12:00:00", False),
    ("2027-03-25T21:00:00", False),
    # Holidays only one of the two calendars keeps are trading days.
    ("2026-11-26T12:00:00", True),   # Thanksgiving (CME only)
    ("2027-03-29T12:00:00", True),   # Easter Monday (TARGET2 only)
    ("2027-12-24T12:00:00", True),   # Christmas 2027 is a Saturday: CME's "observed" Friday trades
])
def test_it_closes_for_a_whole_day_on_the_holidays_of_both_calendars(at, open_):
    assert market_is_open(symbol="XAGUSD", at=utc(at)) is open_


def test_it_never_closes_btc():
    assert market_is_open(symbol="BTCUSD", at=utc("2026-11-28T12:00:00"))
    assert market_is_open(symbol="BTCUSD", at=utc("2026-12-25T12:00:00"))
    assert last_close_before(symbol="BTCUSD", at=utc("2026-12-25T12:00:00")) is None


@pytest.mark.parametrize(("at", "close"), [
    ("2026-11-28T12:00:00", "2026-11-27T22:00:00"),  # Saturday: Friday 17:00 New York, winter
    ("2026-11-27T22:00:00", "2026-11-27T22:00:00"),  # at the close itself
    ("2026-07-11T12:00:00", "2026-07-10T21:00:00"),  # Saturday in summer
    ("2026-12-25T12:00:00", "2026-12-24T22:00:00"),  # Christmas: Thursday 17:00 New York
    ("2026-12-26T12:00:00", "2026-12-24T22:00:00"),  # the weekend after it: the same close
    ("2027-03-26T12:00:00", "2027-03-25T21:00:00"),  # Good Friday
    ("2026-11-25T12:00:00", "2026-11-20T22:00:00"),  # open: the previous week's close
])
def test_it_finds_the_last_close_at_or_before_a_moment(at, close):
    assert last_close_before(symbol="XAUUSD", at=utc(at)) == utc(close)
