"""The price snapshot a client receives on connect: the realtime app's one seam onto markets."""

from datetime import datetime

from markets.selectors import prices_latest


def prices_snapshot(*, now: datetime, symbols: list[str] | None) -> list[dict]:
    """The latest prices as /api/prices/ items."""
    return prices_latest(now=now, symbols=symbols)
