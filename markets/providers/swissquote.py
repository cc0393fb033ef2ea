"""Swissquote public quotes: metals and FX, bid/ask per platform and spread profile.

GET {base}/public-quotes/bboquotes/instrument/{BASE}/{QUOTE} answers a JSON array of
platforms, each `{"topo": {...}, "spreadProfilePrices": [{"spreadProfile", "bid", "ask"}],
"ts": <epoch ms>}`. Unofficial, keyless, no published limit; profile names vary in case.
"""

from datetime import datetime
from typing import Any

from markets.price import Price
from markets.providers.base import HttpProvider, ProviderError, decimal_field, get_json, utc_from_ms

INSTRUMENTS = {
    "XAUUSD": ("XAU", "USD"),
    "XAGUSD": ("XAG", "USD"),
    "EURUSD": ("EUR", "USD"),
    "GBPUSD": ("GBP", "USD"),
    "USDJPY": ("USD", "JPY"),
}
# The retail "prime" profile is present on every platform recorded; others are fallbacks.
PROFILE_PREFERENCE = ("prime", "premium", "standard", "elite")


class SwissquoteClient(HttpProvider):
    name = "swissquote"
    symbols = frozenset(INSTRUMENTS)
    follows_market_hours = True

    def fetch(self, symbol: str, *, now: datetime) -> Price:
        base, quote = INSTRUMENTS[symbol]
        body = get_json(source=self.name, now=now, config=self.http,
                        url=f"{self.base_url}/public-quotes/bboquotes/instrument/{base}/{quote}")
        return parse(symbol, body)


def _rank(profile: dict) -> int:
    name = str(profile.get("spreadProfile", "")).lower()
    return PROFILE_PREFERENCE.index(name) if name in PROFILE_PREFERENCE else len(PROFILE_PREFERENCE)


def parse(symbol: str, body: Any) -> Price:
    source = SwissquoteClient.name
    if not isinstance(body, list) or not body:
        raise ProviderError(source, f"expected a non-empty array of platforms, got {type(body).__name__}",
                            permanent=True)
    candidates = []
    for platform in body:
        if not isinstance(platform, dict):
            continue
        profiles = [p for p in platform.get("spreadProfilePrices") or [] if isinstance(p, dict)
                    and "bid" in p and "ask" in p]
        if not profiles or "ts" not in platform:
            continue
        candidates.append((platform["ts"], min(profiles, key=_rank)))
    if not candidates:
        raise ProviderError(source, "no platform with spreadProfilePrices[bid, ask] and ts", permanent=True)
    # The newest platform's quote: platforms differ by milliseconds, and by a spread profile.
    ts, profile = max(candidates, key=lambda item: utc_from_ms(source, item[0]))
    return Price.from_bid_ask(source=source, symbol=symbol, timestamp=utc_from_ms(source, ts),
                      bid=decimal_field(source, profile["bid"], "bid"),
                      ask=decimal_field(source, profile["ask"], "ask"))
