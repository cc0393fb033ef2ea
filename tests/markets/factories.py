"""The markets tests' clock, prices, HTTP settings and the trust rules they are judged by."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from markets.price import Price
from markets.providers import HttpConfig
from markets.trust import Rules, price_combine

# A Wednesday: metals and FX open.
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
# Timeouts with room for a busy machine: no test waits for one to run out except on purpose;
# one retry, as in production.
HTTP = HttpConfig(connect_timeout=1.0, read_timeout=2.0, retries=1, pool_size=8)
# The real providers (production's default list), whose recorded bodies tests/markets/recorded.py
# serves, and the settings that point each at a server.
PROVIDERS = ["swissquote", "goldapi", "coinbase", "kraken", "bitstamp"]
BASE_URL_SETTINGS = [f"{name.upper()}_BASE_URL" for name in PROVIDERS]
# One bound of 5 % for both jumps and agreement: the rules' own tests are about their logic; the
# per-symbol bounds have theirs (test_trust's "bounds per market").
RULES = Rules(quote_max_age=timedelta(seconds=30), max_jump_percent=Decimal("5"),
              jump_reference_age=timedelta(seconds=120), agree_percent=Decimal("5"))


def price(symbol="XAUUSD", mid="4161.0", *, age=1, source="swissquote", now=NOW) -> Price:
    """An accepted price, `age` seconds old at `now`, one either side of `mid`."""
    mid = Decimal(mid)
    return Price(symbol=symbol, bid=mid - 1, ask=mid + 1, mid=mid, timestamp=now - timedelta(seconds=age),
                 source=source)


def quote(mid, source="a", *, bid=None, ask=None, age=0) -> Price:
    """A provider's gold quote at `mid` (or between `bid` and `ask`), `age` seconds old at NOW."""
    mid = Decimal(str(mid))
    bid = Decimal(str(bid)) if bid is not None else mid
    ask = Decimal(str(ask)) if ask is not None else mid
    return Price.from_bid_ask(symbol="XAUUSD", bid=bid, ask=ask, timestamp=NOW - timedelta(seconds=age),
                              source=source)


def reference(mid, *, age=5) -> Price:
    """The last accepted gold price, `age` seconds old at NOW."""
    mid = Decimal(str(mid))
    return Price(symbol="XAUUSD", bid=mid, ask=mid, mid=mid, timestamp=NOW - timedelta(seconds=age), source="a")


def combine(quotes, reference=None):
    """price_combine on gold at NOW under RULES."""
    return price_combine(symbol="XAUUSD", quotes=quotes, reference=reference, now=NOW, rules=RULES)


def providers_point_at(settings, base_url: str) -> None:
    """Every provider pointed at the local server, every symbol asked for, fast timeouts."""
    for name in BASE_URL_SETTINGS:
        setattr(settings, name, base_url)
    settings.MARKET_DATA_PROVIDERS = list(PROVIDERS)
    settings.MARKET_SYMBOLS = ["XAUUSD", "XAGUSD", "EURUSD", "GBPUSD", "USDJPY", "BTCUSD"]
    settings.MARKET_HTTP_CONNECT_TIMEOUT = HTTP.connect_timeout
    settings.MARKET_HTTP_READ_TIMEOUT = HTTP.read_timeout
    settings.MARKET_HTTP_RETRIES = HTTP.retries
    settings.MARKET_HTTP_WORKERS = HTTP.pool_size
