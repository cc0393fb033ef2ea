"""Kraken public ticker: best bid and ask of bitcoin and of the fiat pairs, all in one request.

GET {base}/0/public/Ticker?pair=XXBTZUSD,ZEURZUSD,ZGBPZUSD,ZUSDZJPY answers `{"error": [],
"result": {"XXBTZUSD": {"a": [ask, ...], "b": [bid, ...], ...}, "ZEURZUSD": {...}, ...}}`.
Errors come inside HTTP 200 in `error` (one unknown pair fails the whole request), and the
result is keyed by Kraken's own pair names: asked by its short name (XBTUSD) a pair still
answers as XXBTZUSD. No timestamp: stamped with the fetch time.
"""

from datetime import datetime
from typing import Any

from markets.price import Price
from markets.providers.base import HttpProvider, ProviderError, decimal_field, get_json

# Our symbol -> (Kraken's pair name, its short name); both are accepted as result keys.
PAIRS = {
    "BTCUSD": ("XXBTZUSD", "XBTUSD"),
    "EURUSD": ("ZEURZUSD", "EURUSD"),
    "GBPUSD": ("ZGBPZUSD", "GBPUSD"),
    "USDJPY": ("ZUSDZJPY", "USDJPY"),
}
# Kraken's error prefixes that describe the service's state rather than our request.
TRANSIENT_ERRORS = ("EService:", "EAPI:Rate limit", "EGeneral:Temporary", "EGeneral:Internal")


class KrakenClient(HttpProvider):
    name = "kraken"
    symbols = frozenset(PAIRS)
    follows_market_hours = True
    # A crypto exchange trades its fiat pairs at the weekend too: that is not the FX market's
    # price, so these quotes are not used while the market is closed (markets.hours).
    off_hours_symbols = frozenset({"EURUSD", "GBPUSD", "USDJPY"})

    def fetch(self, symbol: str, *, now: datetime) -> Price:
        result = self.fetch_many([symbol], now=now)[symbol]
        if isinstance(result, ProviderError):
            raise result
        return result

    def fetch_many(self, symbols: list[str], *, now: datetime) -> dict[str, Price | ProviderError]:
        """Every symbol's quote from one request (a failed request raises ProviderError)."""
        # Commas as they are (Kraken's own examples), not percent-encoded as `params=` would.
        pairs = ",".join(PAIRS[s][0] for s in symbols)
        body = get_json(source=self.name, now=now, config=self.http,
                        url=f"{self.base_url}/0/public/Ticker?pair={pairs}")
        return parse(symbols, body, now=now)


def parse(symbols: list[str], body: Any, *, now: datetime) -> dict[str, Price | ProviderError]:
    """Each symbol's quote, or the error of that symbol alone (a pair missing from the answer)."""
    source = KrakenClient.name
    if not isinstance(body, dict):
        raise ProviderError(source, "expected a JSON object", permanent=True)
    errors = body.get("error") or []
    if errors:
        message = "; ".join(str(e) for e in errors)
        permanent = not any(str(e).startswith(TRANSIENT_ERRORS) for e in errors)
        raise ProviderError(source, f"error: {message}", permanent=permanent)
    result = body.get("result")
    if not isinstance(result, dict) or not result:
        raise ProviderError(source, "expected the pairs in result", permanent=True)
    quotes: dict[str, Price | ProviderError] = {}
    for symbol in symbols:
        ticker = next((result[name] for name in PAIRS[symbol] if name in result), None)
        try:
            if ticker is None:
                raise ProviderError(source, f"{PAIRS[symbol][0]} missing from result", permanent=True)
            quotes[symbol] = _quote(symbol, ticker, now=now)
        except ProviderError as exc:
            quotes[symbol] = exc
    return quotes


def _quote(symbol: str, ticker: Any, *, now: datetime) -> Price:
    source = KrakenClient.name
    try:
        ask, bid = ticker["a"][0], ticker["b"][0]
    except (KeyError, IndexError, TypeError):
        raise ProviderError(source, "expected a[0] (ask) and b[0] (bid) in the ticker", permanent=True) from None
    return Price.from_bid_ask(source=source, symbol=symbol, timestamp=now,
                              bid=decimal_field(source, bid, "bid"), ask=decimal_field(source, ask, "ask"))
