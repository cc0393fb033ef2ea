"""Recorded quote-API bodies served live over loopback, with the current time in them.

Providers' timestamps must be fresh (PRICE_QUOTE_MAX_AGE_SECONDS), so a long-running test
server rewrites them on every request. Used where real processes fetch prices (end-to-end
and fault tests); the markets unit tests pin the time instead.
"""

from datetime import UTC, datetime

from werkzeug import Response

from tests.markets.factories import BASE_URL_SETTINGS, PROVIDERS
from tests.markets.recorded import QUOTE_PATHS, quote_body


def _live(request):
    return Response(quote_body(request.path, now=datetime.now(UTC)), content_type="application/json")


def serve_live_quotes(httpserver) -> str:
    """Answer every provider's endpoint for all six symbols; return the base URL."""
    for path in QUOTE_PATHS:
        httpserver.expect_request(path).respond_with_handler(_live)
    return httpserver.url_for("").rstrip("/")


def provider_env(base_url: str) -> dict:
    """Child-process settings pointing every provider at the local server."""
    return {
        **dict.fromkeys(BASE_URL_SETTINGS, base_url),
        "MARKET_DATA_PROVIDERS": ",".join(PROVIDERS),
        # A closed market (weekends, holidays) is still asked every second: the quotes are fresh.
        "MARKET_CLOSED_POLL_SECONDS": "1",
    }
