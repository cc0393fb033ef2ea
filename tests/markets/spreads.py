"""How far honest sources of one symbol are apart, measured on the recorded bodies (tests/fixtures/prices).

The defaults of PRICE_AGREE_PERCENT per asset class (goldsocial/settings.py) are set above
these gaps with room for a fast market, and far below a broken feed's (docs/markets.md,
"Bounds per market"). Run `.venv/bin/python -m tests.markets.spreads` for the table;
tests/markets/test_spreads.py holds the defaults to it.
"""

import itertools
import json
import re
from decimal import Decimal

from markets.trust import gap_percent
from tests.markets.recorded import (
    COINBASE,
    GOLDAPI_XAU,
    KRAKEN,
    SWISSQUOTE_XAG,
    SWISSQUOTE_XAU,
    SWISSQUOTE_XAU_TRUNCATED,
    recorded,
)

COINGECKO = "live-2026-09-25_coingecko_api-v3-simple-price_bitcoin.json"


def _json(name: str):
    return json.loads(recorded(name))


def _mid(bid, ask) -> Decimal:
    return (Decimal(str(bid)) + Decimal(str(ask))) / 2


def _swissquote_platforms(name: str) -> dict[str, Decimal]:
    """Each platform's prime mid of one Swissquote body: the liquidity providers Swissquote quotes."""
    found = {}
    for platform in _json(name):
        prices = {p["spreadProfile"].lower(): p for p in platform["spreadProfilePrices"]}
        best = prices.get("prime") or next(iter(prices.values()))
        topo = platform["topo"]
        found[f"swissquote {topo['platform']}/{topo['server']}"] = _mid(best["bid"], best["ask"])
    return found


def bitcoin_2026_09_25() -> dict[str, Decimal]:
    """BTC in US dollars, one capture: Coinbase spot, Kraken's book, KuCoin's and CoinGecko's conversions."""
    kraken = _json(KRAKEN)["result"]["XXBTZUSD"]
    return {
        "coinbase": Decimal(_json(COINBASE)["data"]["amount"]),
        "kraken": _mid(kraken["b"][0], kraken["a"][0]),
        "kucoin": Decimal(_json("live-2026-09-25_kucoin_api-v1-prices_BTC.json")["data"]["BTC"]),
        "coingecko": Decimal(str(_json(COINGECKO)["bitcoin"]["usd"])),
    }


def gold_2026_08_18() -> dict[str, Decimal]:
    """XAU, one probe: Swissquote's first platform (the body is truncated after it) and gold-api, 6 s apart."""
    text = recorded(SWISSQUOTE_XAU_TRUNCATED).decode()
    prime = re.search(r'"spreadProfile":"prime"[^}]*"bid":([0-9.]+),"ask":([0-9.]+)', text)
    assert prime is not None
    return {"swissquote": _mid(*prime.groups()), "goldapi": Decimal(str(_json(GOLDAPI_XAU)["price"]))}


def fx_2026_07_11() -> dict[str, dict[str, Decimal]]:
    """EURUSD, GBPUSD, USDJPY from three daily reference rates (ECB via Frankfurter, open.er-api,
    currency-api), each taken at its own moment of the day."""
    rates = {
        "frankfurter": _json("frankfurter_v1-latest_EUR_live-2026-07-11_TRIMMED.json")["rates"],
        "open-er-api": _json("open-er-api_v6-latest_EUR_live-2026-07-11_TRIMMED.json")["rates"],
        "currency-api": {k.upper(): v for k, v in
                         _json("currency-api-pages-dev_eur_live-2026-07-11_TRIMMED.json")["eur"].items()},
    }
    per_symbol: dict[str, dict[str, Decimal]] = {"EURUSD": {}, "GBPUSD": {}, "USDJPY": {}}
    for source, r in rates.items():
        usd, gbp, jpy = (Decimal(str(r[c])) for c in ("USD", "GBP", "JPY"))
        per_symbol["EURUSD"][source] = usd
        per_symbol["GBPUSD"][source] = usd / gbp
        per_symbol["USDJPY"][source] = jpy / usd
    return per_symbol


def measured() -> list[tuple[str, str, dict[str, Decimal]]]:
    """(asset class, what, prices by source) for every recorded set of simultaneous prices."""
    fx = fx_2026_07_11()
    return [
        ("crypto", "BTCUSD 2026-09-25", bitcoin_2026_09_25()),
        ("metals", "XAUUSD 2026-08-18", gold_2026_08_18()),
        ("metals", "XAUUSD 2026-10-06 Swissquote platforms", _swissquote_platforms(SWISSQUOTE_XAU)),
        ("metals", "XAGUSD 2024-10-10 Swissquote platforms", _swissquote_platforms(SWISSQUOTE_XAG)),
        *(("fx", f"{symbol} 2026-07-10/11 daily references", prices) for symbol, prices in fx.items()),
    ]


def widest_gap(prices: dict[str, Decimal]) -> tuple[Decimal, str, str]:
    """The largest pairwise gap (gap_percent, the rule's own measure) and the two sources."""
    return max((gap_percent(prices[a], prices[b]), a, b) for a, b in itertools.combinations(sorted(prices), 2))


def widest_by_class() -> dict[str, Decimal]:
    widest: dict[str, Decimal] = {}
    for asset_class, _, prices in measured():
        widest[asset_class] = max(widest.get(asset_class, Decimal(0)), widest_gap(prices)[0])
    return widest


def main() -> None:
    for asset_class, what, prices in measured():
        print(f"{asset_class:7} {what}")
        for a, b in itertools.combinations(sorted(prices), 2):
            print(f"          {a} vs {b}: {gap_percent(prices[a], prices[b]):.4f}%")
    print("widest per class:", {c: f"{g:.4f}%" for c, g in widest_by_class().items()})


if __name__ == "__main__":
    import django

    django.setup()
    main()
