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
