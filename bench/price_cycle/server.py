"""A local stand-in for the five quote providers that adds a fixed delay to every request.

HTTP/1.1 with keep-alive and one thread per connection, like a real API behind a load
balancer. Bodies are the recorded ones (tests/fixtures/prices), with the provider time set to
the `--at` epoch milliseconds so the cycle accepts them. Prints its port, then serves.
"""

import argparse
import json
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "prices"


def bodies(at_ms: int) -> dict[str, bytes]:
    def swissquote(name, bid=None, ask=None):
        body = json.loads((FIXTURES / name).read_text())
        for platform in body:
            platform["ts"] = at_ms
        text = json.dumps(body)
        if bid:
            text = re.sub(r'"bid": [0-9.]+', f'"bid": {bid}', text)
            text = re.sub(r'"ask": [0-9.]+', f'"ask": {ask}', text)
        return text.encode()

    xau = "swissquote_bboquotes_XAU-USD_fixture-2026-10-06.json"
    gold = json.loads((FIXTURES / "gold-api_price-XAU_live-2026-08-18.json").read_text())
    bitstamp = json.loads((FIXTURES / "bitstamp_api-v2-ticker-btcusd_DOCUMENTED-2026-12-04.json").read_text())
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at_ms / 1000))
    sq = "/public-quotes/bboquotes/instrument/"
    return {
        sq + "XAU/USD": swissquote(xau),
        sq + "XAG/USD": swissquote("swissquote_bboquotes_XAG-USD_2024-10-10.json"),
        sq + "EUR/USD": swissquote(xau, "1.15610", "1.15622"),
        sq + "GBP/USD": swissquote(xau, "1.32010", "1.32030"),
        sq + "USD/JPY": swissquote(xau, "155.102", "155.118"),
        "/price/XAU": json.dumps({**gold, "price": 4161.0, "updatedAt": iso}).encode(),
        "/price/XAG": json.dumps({**gold, "symbol": "XAG", "price": 31.04, "updatedAt": iso}).encode(),
        "/v2/prices/BTC-USD/spot": (FIXTURES / "live-2026-09-25_coinbase_v2-prices-BTC-USD-spot.json").read_bytes(),
        # Bitcoin and the fiat pairs in one answer (Kraken's shape), as the cycle asks for them.
        "/0/public/Ticker": (FIXTURES / "kraken_0-public-Ticker_multi-pair_SHAPED.json").read_bytes(),
        "/api/v2/ticker/btcusd/": json.dumps({**bitstamp, "timestamp": str(at_ms // 1000)}).encode(),
    }


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--delay", type=float, default=0.05)
    parser.add_argument("--at", type=int, required=True)
    args = parser.parse_args()
    table = bodies(args.at)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes: with Nagle on, the body waits for the client's
        # delayed ACK (~40 ms on Linux), which real servers avoid and would skew the figures.
        disable_nagle_algorithm = True

        def do_GET(self):
            time.sleep(args.delay)
            body = table.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            body = body or b"{}"
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    sys.stdout.close()
    server.serve_forever()


if __name__ == "__main__":
    main()
