from markets.cache import Cached, prices_read, prices_write
from tests.markets.factories import price


def test_it_reads_back_the_prices_it_wrote_as_latest_and_last_known():
    written = price(mid="4161.12345678", age=1.5)

    prices_write(prices=[written])

    assert prices_read(symbols=["XAUUSD", "BTCUSD"]) == {"XAUUSD": Cached(written, written),
                                                         "BTCUSD": Cached(None, None)}


def test_it_keeps_the_last_known_price_after_the_latest_expired(settings):
    settings.PRICE_CACHE_TTL_SECONDS = 0  # the latest copy expires as it is written
    written = price()

    prices_write(prices=[written])

    assert prices_read(symbols=["XAUUSD"])["XAUUSD"] == Cached(None, written)
