"""When a market trades. One rule, in UTC, kept deliberately simple:

metals and FX close from Friday 22:00 UTC to Sunday 22:00 UTC (the retail FX week, which
follows New York 17:00 and shifts by an hour with US daylight saving: the fixed UTC rule is
off by that hour half the year, and knows no holidays). Crypto (BTC) never closes.

A closed market is still polled now and then (MARKET_CLOSED_POLL_SECONDS): a fresh quote
during "closed" hours is accepted like any other, so the rule only decides how often to ask
and whether a missing price is reported as "closed" or as a failure.
"""

from datetime import UTC, datetime

ALWAYS_OPEN = frozenset({"BTCUSD"})
FRIDAY, SATURDAY, SUNDAY = 4, 5, 6
CLOSE_HOUR = OPEN_HOUR = 22


def market_is_open(*, symbol: str, at: datetime) -> bool:
    if symbol in ALWAYS_OPEN:
        return True
    at = at.astimezone(UTC)
    weekday = at.weekday()
    if weekday == FRIDAY:
        return at.hour < CLOSE_HOUR
    if weekday == SATURDAY:
        return False
    if weekday == SUNDAY:
        return at.hour >= OPEN_HOUR
    return True
