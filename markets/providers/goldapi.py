"""gold-api.com: gold and silver spot in USD, one price with its update time.

GET {base}/price/XAU answers `{"currency": "USD", "name": "Gold", "price": 4392.0,
"symbol": "XAU", "updatedAt": "2026-08-18T13:29:35Z", ...}`. Keyless; no bid/ask, so the
quote's bid and ask are the price.
"""

from datetime import UTC, datetime
from typing import Any

from markets.price import Price
from markets.providers.base import HttpProvider, ProviderError, decimal_field, get_json

METALS = {"XAUUSD": "XAU", "XAGUSD": "XAG"}


class GoldApiClient(HttpProvider):
    name = "goldapi"
    symbols = frozenset(METALS)
    follows_market_hours = True

    def fetch(self, symbol: str, *, now: datetime) -> Price:
        body = get_json(source=self.name, now=now, config=self.http,
                        url=f"{self.base_url}/price/{METALS[symbol]}")
        return parse(symbol, body)


def parse(symbol: str, body: Any) -> Price:
    source = GoldApiClient.name
    if not isinstance(body, dict) or "price" not in body or "updatedAt" not in body:
        raise ProviderError(source, "expected {\"price\": ..., \"updatedAt\": ...}", permanent=True)
    if body.get("symbol") != METALS[symbol] or body.get("currency", "USD") != "USD":
        raise ProviderError(source, f"answered {body.get('symbol')} in {body.get('currency')} for {symbol}",
                            permanent=True)
    try:
        updated = datetime.fromisoformat(str(body["updatedAt"]).replace("Z", "+00:00"))
    except ValueError:
        raise ProviderError(source, f"updatedAt is not ISO-8601: {body['updatedAt']!r}", permanent=True) from None
    if updated.tzinfo is None:
        updated = updated.replace(tzinfo=UTC)
    price = decimal_field(source, body["price"], "price")
    return Price.from_bid_ask(source=source, symbol=symbol, bid=price, ask=price, timestamp=updated)
