"""Reads of recorded prices, shared with the predictions app."""

from datetime import datetime, timedelta

from markets.models import PriceTick


def tick_at_or_before(*, symbol: str, at: datetime, max_age: timedelta) -> PriceTick | None:
    """The last stored tick of `symbol` at or before `at`, if it is no older than `max_age`."""
    return (
        PriceTick.objects.filter(symbol=symbol, timestamp__lte=at, timestamp__gte=at - max_age)
        .order_by("-timestamp")
        .first()
    )
