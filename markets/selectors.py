"""Reads of prices: the latest per symbol (cache), history (database).

`tick_at_or_before` is what the predictions app uses (with markets.trust);
`prices_latest` builds the items of /api/prices/ and of the /ws/prices/ messages.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import FullResultSet
from django.db import connection
from django.utils.dateparse import parse_datetime

from goldsocial.timefmt import iso_ms
from markets.cache import Cached, prices_read, stored_read, stored_write
from markets.models import PriceCandle, PriceTick
from markets.price import Price
from markets.trust import trustworthy_ticks


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
        return {symbol: _moment(stamp) for symbol, stamp in cursor.fetchall() if stamp is not None}


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


# Candle intervals a client may ask for, in seconds. Buckets start at multiples of the
# interval since 1970-01-01 UTC, so a 1d candle is a UTC day and two clients agree on edges.
CANDLE_INTERVALS = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}

# One statement over the minute roll-ups (markets.models.PriceCandle, kept by triggers) for
# the whole minutes of the range, plus the raw ticks of the minute that holds `end` (only
# those up to `end` count). Each part is a small candle; a bucket's open is the open of its
# earliest part and its close the close of its latest (ties on the timestamp broken by id).
# 30 days of 5 s ticks as 1 h candles reads 43,200 roll-ups instead of 518,400 ticks.
_PARTS_SQL = """
WITH parts AS (
    SELECT start AS at, open, high, low, close, ticks, first_tick_at, last_tick_at, first_tick_id, last_tick_id
    FROM markets_pricecandle
    WHERE symbol = %s AND start >= %s AND start < %s{trust_candle}
    UNION ALL
    SELECT timestamp, mid, mid, mid, mid, 1, timestamp, timestamp, id, id
    FROM markets_pricetick
    WHERE symbol = %s AND timestamp >= %s AND timestamp <= %s{trust_tick}
)"""
# PostgreSQL: one hash aggregate, no sort of the parts: the min (max) of the arrays
# [first (last) tick time, its id, price] is compared element by element, so its third element
# is the price of the earliest (latest) part.
_PG_CANDLES = """
SELECT date_bin(make_interval(secs => %s), at, TIMESTAMPTZ '1970-01-01 00:00:00+00') AS bucket,
       (MIN(ARRAY[EXTRACT(EPOCH FROM first_tick_at), first_tick_id, open]))[3], MAX(high), MIN(low),
       (MAX(ARRAY[EXTRACT(EPOCH FROM last_tick_at), last_tick_id, close]))[3],
       SUM(ticks), MIN(first_tick_at), MAX(last_tick_at)
FROM parts
GROUP BY 1
ORDER BY 1
"""
# SQLite (3.25+ for window functions, 3.38+ for unixepoch): the first and last part by rank.
_SQLITE_CANDLES = """,
bucketed AS (SELECT (unixepoch(at) / %s) * %s AS bucket, parts.* FROM parts),
ranked AS (
    SELECT bucketed.*,
           ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY first_tick_at, first_tick_id) AS first_rank,
           ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY last_tick_at DESC, last_tick_id DESC) AS last_rank
    FROM bucketed
)
SELECT bucket, MAX(CASE WHEN first_rank = 1 THEN open END), MAX(high), MIN(low),
       MAX(CASE WHEN last_rank = 1 THEN close END), SUM(ticks), MIN(first_tick_at), MAX(last_tick_at)
FROM ranked
GROUP BY bucket
ORDER BY bucket
"""
_CANDLES_SQL = {"postgresql": _PARTS_SQL + _PG_CANDLES, "sqlite": _PARTS_SQL + _SQLITE_CANDLES}


@dataclass(frozen=True)
class Candle:
    start: datetime
    open: Decimal | float
    high: Decimal | float
    low: Decimal | float
    close: Decimal | float
    ticks: int
    first_tick_at: datetime
    last_tick_at: datetime


def candle_start(moment: datetime, *, seconds: int) -> datetime:
    """The start of the bucket of `seconds` that holds `moment` (aware, UTC)."""
    epoch = int(moment.timestamp() // seconds) * seconds
    return datetime.fromtimestamp(epoch, tz=UTC)


def candles_between(*, symbol: str, seconds: int, start: datetime, end: datetime) -> list[Candle]:
    """Candles of `symbol`'s trustworthy ticks with start <= timestamp <= end, oldest first.

    `start` must be a whole minute. Buckets without a tick are left out. The caller bounds the
    number of buckets; the database does the work (PostgreSQL `date_bin`, SQLite integer
    division of unixepoch).
    """
    bucket_params = [seconds] if connection.vendor == "postgresql" else [seconds, seconds]
    trust_candle, candle_params = _trusted_sql(PriceCandle)
    trust_tick, tick_params = _trusted_sql(PriceTick)
    sql = _CANDLES_SQL[connection.vendor].format(trust_candle=trust_candle, trust_tick=trust_tick)
    last_minute = candle_start(end, seconds=60)
    adapt = connection.ops.adapt_datetimefield_value
    params = [symbol, adapt(start), adapt(last_minute), *candle_params,
              symbol, adapt(max(start, last_minute)), adapt(end), *tick_params, *bucket_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [Candle(start=_moment(bucket_at), open=open_, high=high, low=low, close=close, ticks=int(ticks),
                   first_tick_at=_moment(first_at), last_tick_at=_moment(last_at))
            for bucket_at, open_, high, low, close, ticks, first_at, last_at in rows]


def _trusted_sql(model: type[PriceTick] | type[PriceCandle]) -> tuple[str, list]:
    """markets.trust's rule for stored ticks as SQL on `model`'s table: a chart shows only the
    prices a prediction may be judged on (no simulated price outside demo mode)."""
    query = model.objects.filter(trustworthy_ticks()).query
    try:
        where, params = query.get_compiler(connection=connection).compile(query.where)
    except FullResultSet:
        return "", []
    return (f" AND {where}", list(params)) if where else ("", [])


def _moment(value: datetime | str | int) -> datetime:
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
