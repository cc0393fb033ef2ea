"""Reads of prices: the latest per symbol (cache), history (database).

`tick_at_or_before` is what the predictions app uses (with markets.trust);
`prices_latest` builds the items of /api/prices/ and of the /ws/prices/ messages.
"""

from datetime import datetime, timedelta

from django.conf import settings

from goldsocial.timefmt import iso_ms
from markets.cache import Cached, prices_read, stored_read, stored_write
from markets.models import PriceTick
from markets.price import Price


def tick_at_or_before(*, symbol: str, at: datetime, max_age: timedelta) -> PriceTick | None:
    """The last stored tick of `symbol` at or before `at`, if it is no older than `max_age`."""
    return (
        PriceTick.objects.filter(symbol=symbol, timestamp__lte=at, timestamp__gte=at - max_age)
        .order_by("-timestamp")
        .first()
    )


def ticks_between(*, symbol: str, start: datetime, end: datetime, limit: int) -> list[PriceTick]:
    """Ticks of `symbol` with start <= timestamp <= end, oldest first, at most `limit`."""
    return list(PriceTick.objects.filter(symbol=symbol, timestamp__gte=start, timestamp__lte=end)
                .order_by("timestamp")[:limit])


def price_item(*, price: Price, stale: bool, now: datetime) -> dict:
    """One price as an /api/prices/ item; stale when told so or older than PRICE_STALENESS_SECONDS."""
    age = max((now - price.timestamp).total_seconds(), 0.0)
    return {
        "symbol": price.symbol,
        "bid": float(price.bid),
        "ask": float(price.ask),
        "price": float(price.mid),
        "timestamp": iso_ms(price.timestamp),
        "source": price.source,
        "age_seconds": round(age, 3),
        "stale": stale or age > settings.PRICE_STALENESS_SECONDS,
    }


def price_items(*, entries: dict[str, Cached], symbols: list[str], now: datetime) -> list[dict]:
    """The items of `symbols`, in that order, from each one's cached pair; a symbol without a price is left out."""
    items = []
    for symbol in symbols:
        latest, last = entries.get(symbol, (None, None))
        price = latest or last
        if price is not None:
            # No latest value (its short TTL ran out): the last known one, marked stale.
            items.append(price_item(price=price, stale=latest is None, now=now))
    return items


def prices_latest(*, now: datetime, symbols: list[str] | None = None) -> list[dict]:
    """The items of /api/prices/ and of /ws/prices/ messages, in MARKET_SYMBOLS order.

    Symbols with no price in the cache (Redis was flushed) fall back to their last stored tick
    within the retention, shown stale; a symbol never priced is left out.
    """
    symbols = [s for s in settings.MARKET_SYMBOLS if symbols is None or s in symbols]
    entries = prices_read(symbols=symbols)
    missing = [s for s in symbols if entries[s] == (None, None)]
    for symbol, price in last_stored_prices(symbols=missing).items():
        entries[symbol] = Cached(None, price)
    return price_items(entries=entries, symbols=symbols, now=now)


def last_stored_prices(*, symbols: list[str]) -> dict[str, Price]:
    """The last stored tick of each of `symbols`, for those that have one.

    Every WebSocket connect asks for the latest prices: the database's answer (a tick, or
    none) is kept in the cache for PRICE_CACHE_TTL_SECONDS, so a symbol never priced or a
    flushed cache costs one query per symbol that often, not one per connect.
    """
    if not symbols:
        return {}
    remembered = stored_read(symbols=symbols)
    found, learned = {}, {}
    for symbol in symbols:
        if remembered is not None and symbol in remembered:
            price = remembered[symbol]
        else:
            tick = PriceTick.objects.filter(symbol=symbol).order_by("-timestamp").first()
            price = learned[symbol] = Price.from_tick(tick) if tick else None
        if price is not None:
            found[symbol] = price
    if learned and remembered is not None:
        stored_write(prices=learned)
    return found
