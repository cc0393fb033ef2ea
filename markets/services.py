"""Writes of the markets app: one price cycle (fetch, judge, store, cache, broadcast), pruning.

A cycle asks every provider for every symbol at once (a thread pool over one pooled HTTP
session), judges the quotes (markets.services.price_combine), stores the accepted prices in
one INSERT, then after commit writes the cache and sends one broadcast.
"""

import logging
import os
import statistics
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Subquery
from redis import RedisError

from markets.breaker import CircuitBreaker
from markets.hours import market_is_open
from markets.models import PriceTick
from markets.providers import Provider, ProviderError, Quote
from markets.selectors import (
    SIMULATED,
    CacheEntry,
    cache_entries,
    entry_from_tick,
    last_key,
    latest_key,
    price_items,
    tick_at_or_before,
)
from realtime import events
from realtime.broadcast import broadcast_on_commit

logger = logging.getLogger(__name__)

# A provider clock a few seconds ahead of ours is normal; further ahead is a wrong clock, and
# a tick "from the future" would be found by "the last tick at or before T" too early.
FUTURE_TOLERANCE = timedelta(seconds=5)
# The column holds 12 integer digits; a larger "price" is garbage and would fail the insert.
MAX_PRICE = Decimal(10) ** 11
QUANTUM = Decimal("0.00000001")
PRUNE_EVERY_SECONDS = 60
PRUNE_BATCH = 20_000

FRESH, CLOSED, FAILED = "fresh", "closed", "failed"


class PricesUnavailable(Exception):
    """No open market got a price this cycle: the job run is recorded as failed."""


@dataclass(frozen=True)
class Rules:
    quote_max_age: timedelta
    max_jump_percent: Decimal
    jump_reference_age: timedelta

    @classmethod
    def from_settings(cls) -> "Rules":
        return cls(quote_max_age=timedelta(seconds=settings.PRICE_QUOTE_MAX_AGE_SECONDS),
                   max_jump_percent=Decimal(str(settings.PRICE_MAX_JUMP_PERCENT)),
                   jump_reference_age=timedelta(seconds=settings.PRICE_JUMP_REFERENCE_SECONDS))


@dataclass(frozen=True)
class Price:
    """An accepted price: what is stored, cached and shown."""

    symbol: str
    bid: Decimal
    ask: Decimal
    mid: Decimal
    timestamp: datetime
    source: str


@dataclass
class SymbolResult:
    symbol: str
    status: str
    price: Price | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class CycleResult:
    results: list[SymbolResult]
    pruned: int = 0

    def count(self, status: str) -> int:
        return sum(1 for r in self.results if r.status == status)

    @property
    def prices(self) -> list[Price]:
        return [r.price for r in self.results if r.price is not None]

    def summary(self) -> str:
        parts = [f"{self.count(s)} {s}" for s in (FRESH, CLOSED, FAILED) if self.count(s)]
        text = f"{len(self.results)} prices: {', '.join(parts) or 'none'}"
        failed = [f"{r.symbol} ({'; '.join(r.problems) or 'no quote'})" for r in self.results
                  if r.status == FAILED]
        if failed:
            text += "; failed: " + ", ".join(failed)
        if self.pruned:
            text += f"; pruned {self.pruned} old ticks"
        return text[:1000]


# --- judging quotes ----------------------------------------------------------------------

def quote_problem(*, quote: Quote, now: datetime, max_age: timedelta) -> str | None:
    """Why this quote must not be used, or None."""
    values = (quote.bid, quote.ask, quote.mid)
    if not all(v.is_finite() for v in values):
        return f"not a number (bid {quote.bid}, ask {quote.ask})"
    if quote.bid <= 0 or quote.ask <= 0:
        return f"non-positive price (bid {quote.bid}, ask {quote.ask})"
    if quote.ask >= MAX_PRICE:
        return f"price out of range ({quote.ask})"
    if quote.bid > quote.ask:
        return f"crossed (bid {quote.bid} > ask {quote.ask})"
    if quote.timestamp < now - max_age:
        age = (now - quote.timestamp).total_seconds()
        return f"stale (quote {age:.0f} s old, limit {max_age.total_seconds():.0f} s)"
    if quote.timestamp > now + FUTURE_TOLERANCE:
        return f"timestamp {(quote.timestamp - now).total_seconds():.0f} s in the future"
    return None


def _percent(a: Decimal, b: Decimal) -> Decimal:
    return abs(a - b) / b * 100


def price_combine(*, symbol: str, quotes: list[Quote], reference: CacheEntry | None,
                  now: datetime, rules: Rules) -> tuple[Price | None, list[str]]:
    """The price to trust from this cycle's quotes of one symbol, and what was set aside.

    Median of the valid quotes, after setting aside: a jump beyond the bound from the last
    accepted price that no second source confirms, then (3+ sources) a quote far from the
    median of a majority that agrees. Sources that disagree beyond the bound with nothing to
    arbitrate give no price: better no price than a wrong one.
    """
    problems: list[str] = []
    bound = rules.max_jump_percent
    valid = []
    for quote in quotes:
        problem = quote_problem(quote=quote, now=now, max_age=rules.quote_max_age)
        if problem:
            problems.append(f"{quote.source}: {problem}")
        else:
            valid.append(quote)

    if reference is not None and any((SIMULATED in q.source) != (SIMULATED in reference.source) for q in valid):
        # Switching between the demo feed and real providers is not a market move.
        reference = None
    if valid and reference is not None and now - reference.timestamp <= rules.jump_reference_age:
        ref = reference.mid
        near = [q for q in valid if _percent(q.mid, ref) <= bound]
        far = [q for q in valid if _percent(q.mid, ref) > bound]
        confirmed = [q for q in far if any(
            other.source != q.source and (other.mid > ref) == (q.mid > ref)
            and _percent(other.mid, q.mid) <= bound for other in far)]
        for q in far:
            if q not in confirmed:
                problems.append(f"{q.source}: jump of {_percent(q.mid, ref):.2f}% from the last accepted "
                                f"{ref} not confirmed by a second source")
        if near and confirmed:
            if len(near) == len(confirmed):
                problems.append("sources disagree about a jump: no price")
                return None, problems
            valid = near if len(near) > len(confirmed) else confirmed
        else:
            valid = near or confirmed

    if len(valid) >= 3:
        center = statistics.median(q.mid for q in valid)
        outliers = [q for q in valid if _percent(q.mid, center) > bound]
        if 2 * (len(valid) - len(outliers)) <= len(valid):
            # No majority agrees: the median would sit between camps.
            problems.append("sources disagree: no price")
            return None, problems
        for q in outliers:
            problems.append(f"{q.source}: outlier ({q.mid} vs median {center})")
        valid = [q for q in valid if q not in outliers]

    if len(valid) == 2 and _percent(valid[0].mid, valid[1].mid) > bound:
        problems.append(f"{valid[0].source} ({valid[0].mid}) and {valid[1].source} ({valid[1].mid}) "
                        "disagree: no price")
        return None, problems
    if not valid:
        return None, problems

    sources = sorted({q.source for q in valid})
    price = Price(
        symbol=symbol,
        bid=statistics.median(q.bid for q in valid).quantize(QUANTUM),
        ask=statistics.median(q.ask for q in valid).quantize(QUANTUM),
        mid=statistics.median(q.mid for q in valid).quantize(QUANTUM),
        # The oldest quote in the median: the price is no fresher than its oldest part.
        timestamp=min(q.timestamp for q in valid),
        source=sources[0] if len(sources) == 1 else f"median({','.join(sources)})",
    )
    return price, problems


# --- fetching ------------------------------------------------------------------------------

_executor_lock = threading.Lock()
_executors: dict[tuple[int, int], ThreadPoolExecutor] = {}


def shared_executor(workers: int) -> ThreadPoolExecutor:
    """One thread pool per process (threads do not survive django-q2's fork)."""
    key = (os.getpid(), workers)
    with _executor_lock:
        if key not in _executors:
            _executors[key] = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="quotes")
        return _executors[key]


@dataclass
class Fetched:
    quotes: dict[str, list[Quote]] = field(default_factory=dict)
    problems: dict[str, list[str]] = field(default_factory=dict)


def quotes_fetch(*, providers: list[Provider], symbols: list[str], now: datetime,
                 breaker: CircuitBreaker, executor: ThreadPoolExecutor) -> Fetched:
    """Ask every provider for each of `symbols` it serves, all requests at once."""
    fetched = Fetched(quotes={s: [] for s in symbols}, problems={s: [] for s in symbols})
    pending: list[tuple[Provider, str, Future]] = []
    for provider in providers:
        wanted = [s for s in symbols if s in provider.symbols]
        if not wanted:
            continue
        until = breaker.open_until(provider.name, now=now)
        if until is not None:
            for symbol in wanted:
                fetched.problems[symbol].append(f"{provider.name}: circuit open until {until:%H:%M:%S}")
            continue
        for symbol in wanted:
            pending.append((provider, symbol, executor.submit(provider.fetch, symbol, now=now)))

    outcomes: dict[str, list[ProviderError | None]] = {}
    for provider, symbol, future in pending:
        try:
            fetched.quotes[symbol].append(future.result())
            outcomes.setdefault(provider.name, []).append(None)
        except ProviderError as exc:
            fetched.problems[symbol].append(str(exc))
            outcomes.setdefault(provider.name, []).append(exc)
        except Exception as exc:
            # A bug in a parser must cost one quote, not the cycle.
            logger.exception("%s failed on %s", provider.name, symbol)
            error = ProviderError(provider.name, f"unexpected {type(exc).__name__}: {exc}")
            fetched.problems[symbol].append(str(error))
            outcomes.setdefault(provider.name, []).append(error)

    for name, results in outcomes.items():
        errors = [e for e in results if e is not None]
        retry_after = [e.retry_after for e in errors if e.retry_after is not None]
        # A rate limit is on us, not on one instrument: a Retry-After holds off the whole
        # provider even when its other requests of the cycle got through.
        if len(errors) < len(results) and not retry_after:
            breaker.record_success(name)
            continue
        state = breaker.record_failure(name, now=now, permanent=all(e.permanent for e in errors),
                                       retry_after=max(retry_after) if retry_after else None)
        if state.open_until and state.open_until > now:
            logger.warning("%s: circuit open until %s after %d failed cycles (%s)",
                           name, state.open_until.isoformat(), state.failures, errors[0])
    return fetched


# --- the cycle -------------------------------------------------------------------------------

def _closed_poll_due(symbol: str) -> bool:
    # cache.add succeeds for one caller per period: the closed market's rare poll.
    try:
        return cache.add(f"markets:closed-poll:{symbol}", 1, timeout=settings.MARKET_CLOSED_POLL_SECONDS)
    except RedisError:
        return True  # Redis away: no throttle, poll (a few extra requests while it lasts)


def _references(*, symbols: list[str], now: datetime, max_age: timedelta) -> dict[str, CacheEntry]:
    """The last accepted price per symbol, from the cache, else from history."""
    entries = cache_entries(symbols=symbols)
    references = {}
    for symbol in symbols:
        latest, last = entries.get(symbol, (None, None))
        entry = latest or last
        if entry is None:
            tick = tick_at_or_before(symbol=symbol, at=now, max_age=max_age)
            entry = entry_from_tick(tick) if tick else None
        if entry is not None:
            references[symbol] = entry
    return references


def prices_cycle(*, now: datetime, providers: list[Provider], symbols: list[str],
                 breaker: CircuitBreaker | None = None, executor: ThreadPoolExecutor | None = None,
                 rules: Rules | None = None) -> CycleResult:
    """One fetch cycle: fetch, judge, store (one INSERT), then cache and broadcast on commit."""
    rules = rules or Rules.from_settings()
    breaker = breaker or CircuitBreaker(store=cache, threshold=settings.MARKET_BREAKER_FAILURES,
                                        cooldown=timedelta(seconds=settings.MARKET_BREAKER_COOLDOWN_SECONDS))
    executor = executor or shared_executor(settings.MARKET_HTTP_WORKERS)

    closed = set()
    for symbol in symbols:
        serving = [p for p in providers if symbol in p.symbols]
        if not market_is_open(symbol=symbol, at=now) and any(p.follows_market_hours for p in serving):
            closed.add(symbol)
    due = [s for s in symbols if s not in closed or _closed_poll_due(s)]

    fetched = quotes_fetch(providers=providers, symbols=due, now=now, breaker=breaker, executor=executor)
    references = _references(symbols=due, now=now, max_age=rules.jump_reference_age)

    results = []
    for symbol in symbols:
        if symbol not in due:
            results.append(SymbolResult(symbol, CLOSED))
            continue
        problems = list(fetched.problems[symbol])
        if not any(symbol in p.symbols for p in providers):
            problems.append("no configured provider serves it")
        price, judged = price_combine(symbol=symbol, quotes=fetched.quotes[symbol],
                                      reference=references.get(symbol), now=now, rules=rules)
        problems += judged
        if price is not None:
            results.append(SymbolResult(symbol, FRESH, price, problems))
        else:
            results.append(SymbolResult(symbol, CLOSED if symbol in closed else FAILED, None, problems))
        if problems:
            logger.info("%s: %s", symbol, "; ".join(problems))

    cycle = CycleResult(results)
    prices_store(prices=cycle.prices, now=now, symbols=symbols)
    if _prune_due():
        cycle.pruned = price_ticks_prune(now=now)
    if not cycle.prices and cycle.count(FAILED):
        raise PricesUnavailable(cycle.summary())
    return cycle


def prices_store(*, prices: list[Price], now: datetime, symbols: list[str]) -> None:
    """Insert the cycle's prices in one statement; after commit: cache, then one broadcast."""
    fresh = {p.symbol: CacheEntry(symbol=p.symbol, bid=p.bid, ask=p.ask, mid=p.mid, timestamp=p.timestamp,
                                  source=p.source) for p in prices}
    with transaction.atomic():
        if prices:
            PriceTick.objects.bulk_create([
                PriceTick(symbol=p.symbol, bid=p.bid, ask=p.ask, mid=p.mid, timestamp=p.timestamp,
                          source=p.source, fetched_at=now) for p in prices])
        # Cache first, broadcast second: on_commit callbacks run in the order registered, so a
        # client reacting to the update and asking the REST API reads the same prices.
        transaction.on_commit(lambda: cache_write(entries=list(fresh.values())))
        cached = cache_entries(symbols=symbols)
        current = {}
        for symbol in symbols:
            latest, last = cached.get(symbol, (None, None))
            if symbol in fresh:
                current[symbol] = (fresh[symbol], fresh[symbol])
            elif latest or last:
                current[symbol] = (latest, last)
        broadcast_on_commit(events.PRICES, events.price_update(price_items(entries=current, symbols=symbols, now=now)))


def cache_write(*, entries: list[CacheEntry]) -> None:
    if not entries:
        return
    data = {entry.symbol: entry.to_cache() for entry in entries}
    try:
        cache.set_many({latest_key(s): v for s, v in data.items()}, timeout=settings.PRICE_CACHE_TTL_SECONDS)
        cache.set_many({last_key(s): v for s, v in data.items()}, timeout=settings.PRICE_LAST_KNOWN_TTL_SECONDS)
    except RedisError as exc:
        # Runs after commit: the ticks are stored, readers fall back to them.
        logger.warning("latest prices not cached: %s", exc)


def _prune_due() -> bool:
    try:
        return cache.add("markets:prune", 1, timeout=PRUNE_EVERY_SECONDS)
    except RedisError:
        return False  # Redis away: pruning can wait; several workers must not all prune


def price_ticks_prune(*, now: datetime, batch: int = PRUNE_BATCH) -> int:
    """Delete ticks older than the retention horizon, at most `batch` per symbol per call.

    Per symbol so each DELETE walks the (symbol, timestamp) index; bounded so that a backlog
    (a shortened retention) is worked off over several cycles instead of stalling one.
    """
    horizon = now - timedelta(days=settings.PRICE_HISTORY_RETENTION_DAYS)
    deleted = 0
    for symbol in settings.SYMBOLS_ALL:
        old = PriceTick.objects.filter(symbol=symbol, timestamp__lt=horizon).order_by("timestamp")
        count, _ = PriceTick.objects.filter(pk__in=Subquery(old.values("pk")[:batch])).delete()
        deleted += count
    return deleted
