"""Recorded provider bodies (tests/fixtures/prices), re-stamped with the time a test wants.

`quote_bodies` is every provider's answer for all six symbols, agreeing so that each symbol
gets a price: `serve_all` serves them at a fixed time, `quote_body` at the current time for the
servers real processes fetch from (tests/quote_server.py, tests/faults/services.py).
"""

import json
import re
from datetime import datetime
from pathlib import Path

from tests.markets.factories import NOW, NOW_MS

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "prices"

SWISSQUOTE_XAU = "swissquote_bboquotes_XAU-USD_fixture-2026-10-06.json"
SWISSQUOTE_XAG = "swissquote_bboquotes_XAG-USD_2024-10-10.json"
SWISSQUOTE_XAU_TRUNCATED = "swissquote_bboquotes_XAU-USD_live-2026-08-18_TRUNCATED.txt"
GOLDAPI_XAU = "gold-api_price-XAU_live-2026-08-18.json"
COINBASE = "live-2026-09-25_coinbase_v2-prices-BTC-USD-spot.json"
KRAKEN = "live-2026-09-25_kraken_0-public-Ticker_XBTUSD.json"
# The recorded bitcoin entry plus the fiat pairs in its shape: one answer to the cycle's request.
KRAKEN_MULTI = "kraken_0-public-Ticker_multi-pair_SHAPED.json"
KRAKEN_ALL_PAIRS = "pair=ZEURZUSD,ZGBPZUSD,ZUSDZJPY,XXBTZUSD"  # in MARKET_SYMBOLS order
# Written from Bitstamp's documented ticker format (not recorded live); its prices sit between
# the recorded Coinbase and Kraken ones, within 0.1 % of each.
BITSTAMP = "bitstamp_api-v2-ticker-btcusd_DOCUMENTED-2026-12-04.json"
BINANCE_451 = "binance_api.binance.com_HTTP451_geoblock-body.json"
STOOQ_CHALLENGE = "stooq_q-d-l_xauusd_live-2026-08-18_HTTP200-JS-challenge_TRUNCATED.html"
BYBIT_403 = "live-2026-09-25_bybit_HTTP403_cloudfront-geoblock.txt"

SQ_PATH = "/public-quotes/bboquotes/instrument/{}/{}"
COINBASE_PATH = "/v2/prices/BTC-USD/spot"
KRAKEN_PATH = "/0/public/Ticker"
BITSTAMP_PATH = "/api/v2/ticker/btcusd/"

# What the serving helpers answer: recorded metals bodies; FX prices in the XAU body's shape
# (no FX body was recorded); gold-api prices agreeing with Swissquote's.
SWISSQUOTE_RECORDED = {("XAU", "USD"): SWISSQUOTE_XAU, ("XAG", "USD"): SWISSQUOTE_XAG}
SWISSQUOTE_SHAPED = {("EUR", "USD"): ("1.15610", "1.15622"), ("GBP", "USD"): ("1.32010", "1.32030"),
                     ("USD", "JPY"): ("155.102", "155.118")}
GOLDAPI_PRICES = {"XAU": "4161.0", "XAG": "31.04"}
QUOTE_PATHS = [*(SQ_PATH.format(*pair) for pair in (*SWISSQUOTE_RECORDED, *SWISSQUOTE_SHAPED)),
               *(f"/price/{metal}" for metal in GOLDAPI_PRICES), COINBASE_PATH, KRAKEN_PATH, BITSTAMP_PATH]


def recorded(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def swissquote_at(name: str, *, ts_ms: int) -> bytes:
    """A recorded Swissquote body with its platforms' `ts` moved to `ts_ms` (offsets kept)."""
    body = json.loads(recorded(name))
    newest = max(platform["ts"] for platform in body)
    for platform in body:
        platform["ts"] = ts_ms - (newest - platform["ts"])
    return json.dumps(body).encode()


def swissquote_shaped(*, bid: str, ask: str, ts_ms: int) -> bytes:
    """The recorded XAU body's shape with other prices."""
    text = swissquote_at(SWISSQUOTE_XAU, ts_ms=ts_ms).decode()
    text = re.sub(r'"bid": [0-9.]+', f'"bid": {bid}', text)
    text = re.sub(r'"ask": [0-9.]+', f'"ask": {ask}', text)
    return text.encode()


def goldapi_at(*, updated: datetime, price: str | None = None, symbol: str = "XAU") -> bytes:
    body = json.loads(recorded(GOLDAPI_XAU))
    body["updatedAt"] = updated.strftime("%Y-%m-%dT%H:%M:%SZ")
    body["symbol"] = symbol
    text = json.dumps(body)
    if price is not None:
        text = text.replace('"price": 4392.0', f'"price": {price}')
    return text.encode()


def kraken_shaped(prices: dict[str, tuple[str, str]] | None = None) -> bytes:
    """The multi-pair Kraken body with other (bid, ask) for some of its pairs, keyed by Kraken's names."""
    body = json.loads(recorded(KRAKEN_MULTI))
    for pair, (bid, ask) in (prices or {}).items():
        body["result"][pair]["b"][0], body["result"][pair]["a"][0] = bid, ask
    return json.dumps(body, separators=(",", ":")).encode()


def bitstamp_at(*, updated: datetime, bid: str | None = None, ask: str | None = None) -> bytes:
    """The Bitstamp ticker stamped `updated` (whole seconds, as Bitstamp sends), with other bid and ask if given."""
    body = json.loads(recorded(BITSTAMP))
    body["timestamp"] = str(int(updated.timestamp()))
    body.update({key: value for key, value in (("bid", bid), ("ask", ask)) if value is not None})
    return json.dumps(body).encode()


def quote_bodies(*, ts_ms: int, updated: datetime, goldapi_prices: dict[str, str] = GOLDAPI_PRICES,
                 swissquote_fx: dict | None = None, kraken: dict | None = None,
                 bitstamp: tuple[str, str] | None = None) -> dict:
    """Every provider's answer for all six symbols, by path: Swissquote stamped `ts_ms`, the others `updated`.

    `swissquote_fx` ({("EUR", "USD"): (bid, ask)}) and `kraken` ({"ZEURZUSD": (bid, ask)}) change FX
    quotes; `kraken` ({"XXBTZUSD": ...}) and `bitstamp` ((bid, ask)) bitcoin's.
    """
    bodies = {SQ_PATH.format(*pair): swissquote_at(name, ts_ms=ts_ms) for pair, name in SWISSQUOTE_RECORDED.items()}
    bodies.update({SQ_PATH.format(*pair): swissquote_shaped(bid=bid, ask=ask, ts_ms=ts_ms)
                   for pair, (bid, ask) in {**SWISSQUOTE_SHAPED, **(swissquote_fx or {})}.items()})
    bodies.update({f"/price/{metal}": goldapi_at(updated=updated, price=price, symbol=metal)
                   for metal, price in goldapi_prices.items()})
    bodies[COINBASE_PATH] = recorded(COINBASE)
    bodies[KRAKEN_PATH] = kraken_shaped(kraken)
    bid, ask = bitstamp or (None, None)
    bodies[BITSTAMP_PATH] = bitstamp_at(updated=updated, bid=bid, ask=ask)
    return bodies


def quote_body(path: str, *, now: datetime) -> bytes | None:
    """A provider's answer to `path` (its query ignored), stamped `now`; None where none answers."""
    return quote_bodies(ts_ms=int(now.timestamp() * 1000), updated=now).get(path.split("?")[0])


def serve_all(httpserver, *, ts_ms: int = NOW_MS, updated: datetime = NOW,
              xau_goldapi_price: str = "4161.0", xag_goldapi_price: str = "31.04",
              swissquote_fx: dict | None = None, kraken: dict | None = None,
              bitstamp: tuple[str, str] | None = None) -> None:
    """Every provider answering for all six symbols with fresh, agreeing recorded bodies (see quote_bodies)."""
    bodies = quote_bodies(ts_ms=ts_ms, updated=updated,
                          goldapi_prices={"XAU": xau_goldapi_price, "XAG": xag_goldapi_price},
                          swissquote_fx=swissquote_fx, kraken=kraken, bitstamp=bitstamp)
    for path, body in bodies.items():
        httpserver.expect_request(path).respond_with_data(body, content_type="application/json")
