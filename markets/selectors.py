"""Reads of prices: the latest per symbol (cache), history (database); candles are markets.candles.

`tick_at_or_before` is what the predictions app uses (with markets.trust);
`prices_latest` builds the items of /api/prices/ and of the /ws/prices/ messages.
"""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection
from django.utils.dateparse import parse_datetime

from goldsocial.timefmt import iso_ms
from markets.cache import Cached, last_stored_prices, prices_read
from markets.models import PriceTick
from markets.price import Price


def tick_at_or_before(*, symbol: str, at: datetime, max_age: timedelta) -> PriceTick | None:
    """The last stored tick of `symbol` at or before `at`, if it is no older than `max_age`."""
    return (
        PriceTick.objects.filter(symbol=symbol, timestamp__lte=at, timestamp__gte=at - max_age)
        .order_by("-timestamp")
        .first()
    )


def last_stamps(*, symbols: list[str]) -> dict[str, datetime]:
    """The time of each symbol's newest stored tick (symbols with none are absent), in one query.

    One `MAX(timestamp) WHERE symbol = S` per symbol: a single step down the (symbol,
    -timestamp) index each on PostgreSQL and SQLite, however long the history (a GROUP BY would
    read it all). Plain SQL: the ORM's compile of six subqueries cost more than running them.
    """
    if not symbols:
        return {}
    tick = PriceTick._meta.db_table
    # The table name is ours; the symbols are parameters.
    one = f"SELECT %s, (SELECT MAX(timestamp) FROM {tick} WHERE symbol = %s)"  # noqa: S608
    sql = " UNION ALL ".join([one] * len(symbols))
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for symbol in symbols for value in (symbol, symbol)])
        return {symbol: stored_moment(stamp) for symbol, stamp in cursor.fetchall() if stamp is not None}


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


def stored_moment(value: datetime | str | int) -> datetime:
    """A timestamp as a raw query answers it (markets.candles too), as an aware UTC datetime."""
    # PostgreSQL answers aware datetimes; SQLite answers text (Django's storage format, UTC)
    # and the bucket as seconds since the epoch.
    if isinstance(value, datetime):
        return value.astimezone(UTC)
    if isinstance(value, int):
        return datetime.fromtimestamp(value, tz=UTC)
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(f"not a stored timestamp: {value!r}")
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
