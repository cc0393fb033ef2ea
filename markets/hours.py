"""When a market trades, all year: the FX and metals week in New York time, and its holidays.

Metals and FX trade in "trading days" that roll over at 17:00 New York time: the day D runs
from 17:00 on D-1 to 17:00 on D (America/New_York, so 21:00 or 22:00 UTC as US daylight
saving comes and goes). The week opens on Sunday 17:00 (Monday's trading day) and closes on
Friday 17:00. A weekday is a full-day closure when both the CME (the New York session of gold,
silver and currency futures) and the euro area's TARGET2 settlement (the European session)
are closed on it, as the `holidays` library's maintained financial calendars say: New Year's
Day, Good Friday and Christmas Day, on their real dates; a holiday only one of them keeps
(Thanksgiving, Easter Monday, an "observed" Friday) is a trading day. Crypto (BTC) never closes.

A closed market is still polled now and then (MARKET_CLOSED_POLL_SECONDS): a fresh quote
during "closed" hours is stored like any other, so for prices the rule only decides how often
to ask and whether a missing price is reported as "closed" or as a failure. For predictions
it decides the final price: a deadline while the market is closed settles on the last price
before the close (`last_close_before`).
"""

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

ALWAYS_OPEN = frozenset({"BTCUSD"})
NEW_YORK = ZoneInfo("America/New_York")
ROLLOVER = time(17)  # New York time: the end of one trading day and the start of the next
SATURDAY = 5


@lru_cache(maxsize=64)
def _closures(year: int) -> frozenset[date]:
    """Weekdays of `year` on which the FX and metals market is closed all day."""
    cme = holidays.financial_holidays("XCME", years=year)
    target2 = holidays.financial_holidays("XECB", years=year)
    return frozenset(day for day in cme if day in target2 and day.weekday() < SATURDAY)


def trading_day(at: datetime) -> date:
    """The trading day `at` belongs to: its New York date, the next one from 17:00 on."""
    local = at.astimezone(NEW_YORK)
    return local.date() + timedelta(days=1) if local.time() >= ROLLOVER else local.date()


def _day_is_open(day: date) -> bool:
    return day.weekday() < SATURDAY and day not in _closures(day.year)


def _day_end(day: date) -> datetime:
    # 17:00 never falls in the hour a daylight-saving change skips or repeats (02:00-03:00).
    return datetime.combine(day, ROLLOVER, tzinfo=NEW_YORK).astimezone(UTC)


def market_is_open(*, symbol: str, at: datetime) -> bool:
    if symbol in ALWAYS_OPEN:
        return True
    return _day_is_open(trading_day(at))


def last_close_before(*, symbol: str, at: datetime) -> datetime | None:
    """When `symbol`'s market last closed at or before `at` (UTC); None for a market that never closes.

    While the market is closed this is the start of the closure `at` falls in: the moment of
    its closing price.
    """
    if symbol in ALWAYS_OPEN:
        return None
    # The closure is the end of an open trading day followed by a closed one, at or before `at`.
    day = trading_day(at) - timedelta(days=1)
    for _ in range(366):
        if _day_is_open(day) and not _day_is_open(day + timedelta(days=1)):
            return _day_end(day)
        day -= timedelta(days=1)
    raise AssertionError(f"no close of {symbol} in the year before {at.isoformat()}")  # every week has one
