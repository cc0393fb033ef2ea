from markets.checks import market_providers_check


def test_it_reports_a_symbol_no_configured_provider_serves(settings):
    settings.MARKET_DATA_PROVIDERS = ["coinbase", "kraken"]
    settings.MARKET_SYMBOLS = ["XAUUSD", "BTCUSD"]

    (error,) = market_providers_check(None)

    assert error.id == "markets.E001" and "XAUUSD" in error.msg


def test_it_accepts_providers_that_serve_every_symbol(settings):
    settings.MARKET_DATA_PROVIDERS = ["swissquote", "coinbase"]
    settings.MARKET_SYMBOLS = ["XAUUSD", "XAGUSD", "EURUSD", "GBPUSD", "USDJPY", "BTCUSD"]
    settings.DEMO_MODE = False

    assert market_providers_check(None) == []


def test_it_warns_that_simulated_prices_outside_demo_mode_will_not_verify(settings):
    settings.MARKET_DATA_PROVIDERS = ["simulated"]
    settings.DEMO_MODE = False

    (warning,) = market_providers_check(None)

    assert warning.id == "markets.W001"


def test_it_counts_bitstamp_as_a_provider_of_bitcoin_and_of_nothing_else(settings):
    settings.MARKET_DATA_PROVIDERS = ["bitstamp"]
    settings.MARKET_SYMBOLS = ["BTCUSD", "EURUSD"]

    (error,) = market_providers_check(None)

    assert error.id == "markets.E001" and "EURUSD" in error.msg and "BTCUSD" not in error.msg
