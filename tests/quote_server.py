"""Recorded quote-API bodies served live over loopback, with the current time in them.

Providers' timestamps must be fresh (PRICE_QUOTE_MAX_AGE_SECONDS), so a long-running test
server rewrites them on every request. Used where real processes fetch prices (end-to-end
and fault tests); the markets unit tests pin the time instead.
"""

import time
from datetime import UTC, datetime

from werkzeug import Response

from tests.markets.conftest import (
    COINBASE,
    KRAKEN,
    SQ_PATH,
    SWISSQUOTE_XAG,
    SWISSQUOTE_XAU,
    goldapi_at,
    recorded,
    swissquote_at,
    swissquote_shaped,
)

JSON = "application/json"


def _swissquote(name=None, **shaped):
    def handler(request):
        ts_ms = int(time.time() * 1000)
        body = swissquote_at(name, ts_ms=ts_ms) if name else swissquote_shaped(ts_ms=ts_ms, **shaped)
        return Response(body, content_type=JSON)
    return handler


def _goldapi(symbol, price):
    def handler(request):
        return Response(goldapi_at(updated=datetime.now(UTC), price=price, symbol=symbol), content_type=JSON)
    return handler


def serve_live_quotes(httpserver) -> str:
    """Answer every provider's endpoint for all six symbols; return the base URL."""
    routes = {
        SQ_PATH.format("XAU", "USD"): _swissquote(SWISSQUOTE_XAU),
        SQ_PATH.format("XAG", "USD"): _swissquote(SWISSQUOTE_XAG),
        SQ_PATH.format("EUR", "USD"): _swissquote(bid="1.15610", ask="1.15622"),
        SQ_PATH.format("GBP", "USD"): _swissquote(bid="1.32010", ask="1.32030"),
        SQ_PATH.format("USD", "JPY"): _swissquote(bid="155.102", ask="155.118"),
        "/price/XAU": _goldapi("XAU", "4161.0"),
        "/price/XAG": _goldapi("XAG", "31.04"),
        "/v2/prices/BTC-USD/spot": lambda request: Response(recorded(COINBASE), content_type=JSON),
        "/0/public/Ticker": lambda request: Response(recorded(KRAKEN), content_type=JSON),
    }
    for path, handler in routes.items():
        httpserver.expect_request(path).respond_with_handler(handler)
    return httpserver.url_for("").rstrip("/")


def provider_env(base_url: str) -> dict:
    """Child-process settings pointing every provider at the local server."""
    return {
        "SWISSQUOTE_BASE_URL": base_url, "GOLDAPI_BASE_URL": base_url,
        "COINBASE_BASE_URL": base_url, "KRAKEN_BASE_URL": base_url,
        "MARKET_DATA_PROVIDERS": "swissquote,goldapi,coinbase,kraken",
        # Metals and FX close at the weekend; the test must not depend on the weekday.
        "MARKET_CLOSED_POLL_SECONDS": "1",
    }
