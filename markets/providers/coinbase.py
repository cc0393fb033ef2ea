"""Coinbase spot price: BTC-USD, one number, no bid/ask, no timestamp.

GET {base}/v2/prices/BTC-USD/spot answers `{"data": {"amount": "83894.035", "base": "BTC",
"currency": "USD"}}`. With no provider time, the quote is stamped with the fetch time.
"""

from datetime import datetime
from typing import Any

from markets.price import Price
from markets.providers.base import HttpProvider, ProviderError, decimal_field, get_json

PAIRS = {"BTCUSD": ("BTC", "USD")}


class CoinbaseClient(HttpProvider):
    name = "coinbase"
    symbols = frozenset(PAIRS)
    follows_market_hours = True

    def fetch(self, symbol: str, *, now: datetime) -> Price:
        base, quote = PAIRS[symbol]
        body = get_json(source=self.name, now=now, config=self.http,
                        url=f"{self.base_url}/v2/prices/{base}-{quote}/spot")
        return parse(symbol, body, now=now)


def parse(symbol: str, body: Any, *, now: datetime) -> Price:
    source = CoinbaseClient.name
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or "amount" not in data:
        raise ProviderError(source, "expected {\"data\": {\"amount\": ...}}", permanent=True)
    base, quote = PAIRS[symbol]
    if (data.get("base"), data.get("currency")) != (base, quote):
        raise ProviderError(source, f"answered {data.get('base')}-{data.get('currency')} for {symbol}",
                            permanent=True)
    price = decimal_field(source, data["amount"], "amount")
    return Price.from_bid_ask(source=source, symbol=symbol, bid=price, ask=price, timestamp=now)
