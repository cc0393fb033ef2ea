"""When a prediction settles on a market's close rather than on the price at its deadline."""

from datetime import datetime

from django.conf import settings

from markets.hours import last_close_before, market_is_open


def deadline_close(*, symbol: str, verify_time: datetime) -> datetime | None:
    """When `symbol`'s market closed before `verify_time`, if it is closed then: the prediction
    settles on that close's price. None: the price at verify_time counts.

    Never in demo mode: the simulated feed ignores market hours, so a weekend demo has prices.
    """
    if settings.DEMO_MODE or market_is_open(symbol=symbol, at=verify_time):
        return None
    return last_close_before(symbol=symbol, at=verify_time)
