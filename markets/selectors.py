"""Reads of prices: the latest per symbol (cache), history (database), trust.

`tick_at_or_before` and `tick_is_trustworthy` are what the predictions app uses;
`prices_latest` builds the items of /api/prices/ and of the /ws/prices/ messages.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from redis import RedisError

from goldsocial.timefmt import iso_ms
from markets.models import PriceTick

logger = logging.getLogger(__name__)

SIMULATED = "simulated"


def tick_at_or_before(*, symbol: str, at: datetime, max_age: timedelta) -> PriceTick | None:
    """The last stored tick of `symbol` at or before `at`, if it is no older than `max_age`."""
    return (
        PriceTick.objects.filter(symbol=symbol, timestamp__lte=at, timestamp__gte=at - max_age)
        .order_by("-timestamp")
        .first()
    )


def tick_is_trustworthy(tick: PriceTick, *, demo_mode: bool | None = None) -> bool:
    """Whether a stored tick may decide a prediction: simulated prices only in demo mode."""
    demo = settings.DEMO_MODE if demo_mode is None else demo_mode
    return demo or SIMULATED not in tick.source


def ticks_between(*, symbol: str, start: datetime, end: datetime, limit: int) -> list[PriceTick]:
    """Ticks of `symbol` with start <= timestamp <= end, oldest first, at most `limit`."""
    return list(PriceTick.objects.filter(symbol=symbol, timestamp__gte=start, timestamp__lte=end)
                .order_by("timestamp")[:limit])


# --- the cache -----------------------------------------------------------------------------

def latest_key(symbol: str) -> str:
    return f"markets:price:{symbol}"


def last_key(symbol: str) -> str:
    return f"markets:last:{symbol}"


def stored_key(symbol: str) -> str:
    return f"markets:stored:{symbol}"


@dataclass(frozen=True)
class CacheEntry:
    symbol: str
    bid: Decimal
    ask: Decimal
    mid: Decimal
    timestamp: datetime
    source: str

    def to_cache(self) -> dict:
        return {"symbol": self.symbol, "bid": str(self.bid), "ask": str(self.ask), "mid": str(self.mid),
                "timestamp": self.timestamp.isoformat(), "source": self.source}

    @classmethod
    def from_cache(cls, data: dict) -> "CacheEntry":
        return cls(symbol=data["symbol"], bid=Decimal(data["bid"]), ask=Decimal(data["ask"]),
                   mid=Decimal(data["mid"]), timestamp=datetime.fromisoformat(data["timestamp"]),
                   source=data["source"])


def entry_from_tick(tick: PriceTick) -> CacheEntry:
    return CacheEntry(symbol=tick.symbol, bid=tick.bid, ask=tick.ask, mid=tick.mid, timestamp=tick.timestamp,
                      source=tick.source)


def cache_entries(*, symbols: list[str]) -> dict[str, tuple[CacheEntry | None, CacheEntry | None]]:
    """(latest, last known) per symbol, in one cache round trip."""
    keys = [key for s in symbols for key in (latest_key(s), last_key(s))]
    try:
        found = cache.get_many(keys)
    except RedisError as exc:
        # Redis away: callers fall back to the stored history, as after a flush.
        logger.warning("latest prices unavailable from the cache: %s", exc)
        found = {}
    result = {}
    for symbol in symbols:
        latest, last = found.get(latest_key(symbol)), found.get(last_key(symbol))
        result[symbol] = (CacheEntry.from_cache(latest) if latest else None,
                          CacheEntry.from_cache(last) if last else None)
    return result


def price_item(*, entry: CacheEntry, stale: bool, now: datetime) -> dict:
    age = max((now - entry.timestamp).total_seconds(), 0.0)
    return {
        "symbol": entry.symbol,
        "bid": float(entry.bid),
        "ask": float(entry.ask),
        "price": float(entry.mid),
        "timestamp": iso_ms(entry.timestamp),
        "source": entry.source,
        "age_seconds": round(age, 3),
        "stale": stale or age > settings.PRICE_STALENESS_SECONDS,
    }


def price_items(*, entries: dict[str, tuple[CacheEntry | None, CacheEntry | None]], symbols: list[str],
                now: datetime) -> list[dict]:
    items = []
    for symbol in symbols:
        latest, last = entries.get(symbol, (None, None))
        entry = latest or last
        if entry is not None:
            # No latest value (its short TTL ran out): the last known one, marked stale.
            items.append(price_item(entry=entry, stale=latest is None, now=now))
    return items


def prices_latest(*, now: datetime, symbols: list[str] | None = None) -> list[dict]:
    """The items of /api/prices/ and of /ws/prices/ messages, in MARKET_SYMBOLS order.

    Symbols with no price in the cache (Redis was flushed) fall back to their last stored tick
    within the retention, shown stale; a symbol never priced is left out.
    """
    symbols = [s for s in settings.MARKET_SYMBOLS if symbols is None or s in symbols]
    entries = cache_entries(symbols=symbols)
    missing = [s for s in symbols if entries[s] == (None, None)]
    for symbol, entry in stored_entries(symbols=missing).items():
        entries[symbol] = (None, entry)
    return price_items(entries=entries, symbols=symbols, now=now)


def stored_entries(*, symbols: list[str]) -> dict[str, CacheEntry]:
    """The last stored tick of each of `symbols`, for those that have one.

    Every WebSocket connect asks for the latest prices: the database's answer (a tick, or
    none) is kept in the cache for PRICE_CACHE_TTL_SECONDS, so a symbol never priced or a
    flushed cache costs one query per symbol that often, not one per connect.
    """
    if not symbols:
        return {}
    try:
        remembered = cache.get_many([stored_key(s) for s in symbols])
    except RedisError:
        remembered = None  # Redis away: ask the database, remember nothing
    found, learned = {}, {}
    for symbol in symbols:
        if remembered is not None and stored_key(symbol) in remembered:
            data = remembered[stored_key(symbol)]
        else:
            tick = PriceTick.objects.filter(symbol=symbol).order_by("-timestamp").first()
            data = learned[stored_key(symbol)] = entry_from_tick(tick).to_cache() if tick else {}
        if data:
            found[symbol] = CacheEntry.from_cache(data)
    if learned and remembered is not None:
        try:
            cache.set_many(learned, timeout=settings.PRICE_CACHE_TTL_SECONDS)
        except RedisError as exc:
            logger.warning("stored prices not cached: %s", exc)
    return found
