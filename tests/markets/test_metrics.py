from django.utils import timezone

from markets.cache import disagreements_count, prices_write
from tests.markets.factories import price


def test_it_exports_the_price_age_and_staleness_per_symbol(client, settings, db):
    settings.MARKET_SYMBOLS = ["XAUUSD", "BTCUSD"]
    prices_write(prices=[price(age=2, now=timezone.now())])

    text = client.get("/metrics").content.decode()

    prefix = 'goldsocial_price_age_seconds{symbol="XAUUSD"}'
    age_line = next(line for line in text.splitlines() if line.startswith(prefix))
    assert 2.0 <= float(age_line.split()[-1]) < 10
    assert 'goldsocial_price_stale{symbol="XAUUSD"} 0.0' in text
    assert 'goldsocial_price_stale{symbol="BTCUSD"} 1.0' in text
    assert 'goldsocial_price_age_seconds{symbol="BTCUSD"}' not in text


def test_it_counts_cycles_whose_sources_disagreed_per_symbol(client, settings, db):
    settings.MARKET_SYMBOLS = ["EURUSD", "BTCUSD"]
    disagreements_count(symbols=["EURUSD"])
    disagreements_count(symbols=["EURUSD"])

    text = client.get("/metrics").content.decode()

    assert 'goldsocial_price_disagreements_total{symbol="EURUSD"} 2.0' in text
    assert 'goldsocial_price_disagreements_total{symbol="BTCUSD"} 0.0' in text
