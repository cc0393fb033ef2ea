"""Kraken public ticker: BTC/USD best bid and ask.

GET {base}/0/public/Ticker?pair=XBTUSD answers `{"error": [], "result": {"XXBTZUSD": {"a":
[ask, ...], "b": [bid, ...], ...}}}`. Errors come inside HTTP 200 in `error`, and the result
key is Kraken's own name for the pair, not the one asked. No timestamp: stamped with the
fetch time.
"""

from datetime import datetime
from typing import Any

from markets.price import Price
from markets.providers.base import HttpProvider, ProviderError, decimal_field, get_json

PAIRS = {"BTCUSD": "XBTUSD"}
# Kraken's error prefixes that describe the service's state rather than our request.
TRANSIENT_ERRORS = ("EService:", "EAPI:Rate limit", "EGeneral:Temporary", "EGeneral:Internal")


class KrakenClient(HttpProvider):
    name = "kraken"
    symbols = frozenset(PAIRS)
    follows_market_hours = True

    def fetch(self, symbol: str, *, now: datetime) -> Price:
        body = get_json(source=self.name, now=now, config=self.http,
                        url=f"{self.base_url}/0/public/Ticker", params={"pair": PAIRS[symbol]})
        return parse(symbol, body, now=now)


def parse(symbol: str, body: Any, *, now: datetime) -> Price:
    source = KrakenClient.name
    if not isinstance(body, dict):
        raise ProviderError(source, "expected a JSON object", permanent=True)
    errors = body.get("error") or []
    if errors:
        message = "; ".join(str(e) for e in errors)
        permanent = not any(str(e).startswith(TRANSIENT_ERRORS) for e in errors)
        raise ProviderError(source, f"error: {message}", permanent=permanent)
    result = body.get("result")
    if not isinstance(result, dict) or len(result) != 1:
        raise ProviderError(source, "expected one pair in result", permanent=True)
    (ticker,) = result.values()
    try:
        ask, bid = ticker["a"][0], ticker["b"][0]
    except (KeyError, IndexError, TypeError):
        raise ProviderError(source, "expected a[0] (ask) and b[0] (bid) in the ticker", permanent=True) from None
    return Price.from_bid_ask(source=source, symbol=symbol, timestamp=now,
                      bid=decimal_field(source, bid, "bid"), ask=decimal_field(source, ask, "ask"))
