"""Bitstamp public ticker: bitcoin's best bid and ask in USD, stamped by Bitstamp.

GET {base}/api/v2/ticker/btcusd/ answers `{"timestamp": "1790337600", "open": "...",
"high": "...", "low": "...", "last": "83966", "volume": "...", "vwap": "...", "bid": "83965",
"ask": "83967", "side": "0", "open_24": "...", "percent_change_24": "..."}`: every number a
string, the time in Unix seconds. Keyless. A refused request answers `{"status": "error",
"reason": ..., "code": ...}`, the reason a string or a dict of messages per field.
"""

from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from markets.price import Price
from markets.providers.base import HttpProvider, ProviderError, decimal_field, get_json

PAIRS = {"BTCUSD": "btcusd"}
# A ticker late by minutes is stale, and the trust rules say so in the tick's provenance. A
# time a day away from ours is no ticker of now: a field whose meaning changed (milliseconds
# read as seconds), a zero, a broken clock. That is the answer's shape, not a late quote.
MAX_CLOCK_OFFSET = timedelta(days=1)


class BitstampClient(HttpProvider):
    name = "bitstamp"
    symbols = frozenset(PAIRS)
    follows_market_hours = True

    def fetch(self, symbol: str, *, now: datetime) -> Price:
        body = get_json(source=self.name, now=now, config=self.http,
                        url=f"{self.base_url}/api/v2/ticker/{PAIRS[symbol]}/")
        return parse(symbol, body, now=now)


def _reason(body: dict) -> str:
    reason = body.get("reason")
    if isinstance(reason, dict):
        # {"__all__": ["Invalid currency pair."]}: Django-form style messages per field.
        reason = "; ".join(f"{field}: {', '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                           for field, msgs in reason.items())
    code = body.get("code")
    return f"error{f' {code}' if code else ''}: {reason or 'no reason given'}"[:200]


def _timestamp(value: Any, *, now: datetime) -> datetime:
    source = BitstampClient.name
    try:
        seconds = value if isinstance(value, Decimal) else Decimal(str(value))
        if isinstance(value, bool) or not seconds.is_finite():
            raise ValueError
        stamped = datetime.fromtimestamp(int(seconds), tz=UTC)
    except (InvalidOperation, ValueError, OverflowError, OSError):
        raise ProviderError(source, f"timestamp is not Unix seconds: {value!r}", permanent=True) from None
    if abs(stamped - now) > MAX_CLOCK_OFFSET:
        raise ProviderError(source, f"timestamp {stamped.isoformat()} is more than a day from now "
                                    f"({now.isoformat()})", permanent=True)
    return stamped


def parse(symbol: str, body: Any, *, now: datetime) -> Price:
    source = BitstampClient.name
    if not isinstance(body, dict):
        raise ProviderError(source, f"expected a JSON object, got {type(body).__name__}", permanent=True)
    if body.get("status") == "error":
        raise ProviderError(source, _reason(body), permanent=True)
    missing = [key for key in ("bid", "ask", "timestamp") if key not in body]
    if missing:
        raise ProviderError(source, f"expected bid, ask and timestamp; missing {', '.join(missing)}",
                            permanent=True)
    bid = decimal_field(source, body["bid"], "bid")
    ask = decimal_field(source, body["ask"], "ask")
    # NaN, zero and negative prices go on to the trust rules with every provider's. A crossed
    # ticker is Bitstamp's own snapshot caught between two book updates: gone next cycle.
    if bid.is_finite() and ask.is_finite() and bid > ask:
        raise ProviderError(source, f"crossed ticker (bid {bid} > ask {ask})")
    return Price.from_bid_ask(source=source, symbol=symbol, bid=bid, ask=ask,
                              timestamp=_timestamp(body["timestamp"], now=now))
