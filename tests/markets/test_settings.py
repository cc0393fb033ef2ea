"""The market settings read from the environment: defaults, and bad values stopping start-up."""

import runpy
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

SETTINGS = Path(__file__).resolve().parents[2] / "goldsocial" / "settings.py"
MARKET_VARIABLES = [
    "DEMO_MODE", "MARKET_DATA_PROVIDERS", "SWISSQUOTE_BASE_URL", "COINBASE_BASE_URL", "KRAKEN_BASE_URL",
    "BITSTAMP_BASE_URL", "GOLDAPI_BASE_URL", "MARKET_HTTP_CONNECT_TIMEOUT_SECONDS", "MARKET_HTTP_READ_TIMEOUT_SECONDS",
    "MARKET_HTTP_RETRIES", "MARKET_HTTP_WORKERS", "MARKET_BREAKER_FAILURES", "MARKET_BREAKER_COOLDOWN_SECONDS",
    "PRICE_QUOTE_MAX_AGE_SECONDS", "PRICE_MAX_JUMP_PERCENT", "PRICE_JUMP_REFERENCE_SECONDS",
    "PRICE_CACHE_TTL_SECONDS", "PRICE_LAST_KNOWN_TTL_SECONDS", "PRICE_HISTORY_RETENTION_DAYS",
    "PRICE_HISTORY_MAX_ROWS", "MARKET_CLOSED_POLL_SECONDS", "PRICE_FROZEN_SECONDS", "PRICE_FETCHER_INTERVAL_SECONDS",
    "PRICE_AGREE_PERCENT",
    *(f"{bound}_{symbol}" for bound in ("PRICE_AGREE_PERCENT", "PRICE_MAX_JUMP_PERCENT")
      for symbol in ("XAUUSD", "XAGUSD", "EURUSD", "GBPUSD", "USDJPY", "BTCUSD")),
]


@pytest.fixture
def load(monkeypatch):
    """Evaluate settings.py afresh with the given environment (the running settings stay)."""
    for name in MARKET_VARIABLES:
        monkeypatch.delenv(name, raising=False)

    def run(**env):
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(SETTINGS))
    return run


def test_it_defaults_to_the_real_providers_and_the_documented_values(load):
    conf = load()

    assert conf["MARKET_DATA_PROVIDERS"] == ["swissquote", "goldapi", "coinbase", "kraken", "bitstamp"]
    assert conf["BITSTAMP_BASE_URL"] == "https://www.bitstamp.net"
    assert conf["SWISSQUOTE_BASE_URL"] == "https://forex-data-feed.swissquote.com"
    assert conf["GOLDAPI_BASE_URL"] == "https://api.gold-api.com"
    assert (conf["PRICE_CACHE_TTL_SECONDS"], conf["PRICE_QUOTE_MAX_AGE_SECONDS"]) == (5, 30)
    assert conf["DEMO_MODE"] is False


def test_it_defaults_to_the_simulated_feed_in_demo_mode(load):
    conf = load(DEMO_MODE="true")

    assert conf["MARKET_DATA_PROVIDERS"] == ["simulated"]


def test_it_reads_an_ordered_provider_list_and_a_base_url_without_its_trailing_slash(load):
    conf = load(MARKET_DATA_PROVIDERS="kraken, swissquote", KRAKEN_BASE_URL="http://127.0.0.1:9000/")

    assert conf["MARKET_DATA_PROVIDERS"] == ["kraken", "swissquote"]
    assert conf["KRAKEN_BASE_URL"] == "http://127.0.0.1:9000"


@pytest.mark.parametrize(("name", "value"), [
    ("MARKET_DATA_PROVIDERS", "swissquote,yahoo"),
    ("MARKET_DATA_PROVIDERS", ","),
    ("MARKET_DATA_PROVIDERS", "kraken,kraken"),
    ("MARKET_DATA_PROVIDERS", "simulated,kraken"),
    ("SWISSQUOTE_BASE_URL", "forex-data-feed.swissquote.com"),
    ("COINBASE_BASE_URL", "ftp://api.coinbase.com"),
    ("KRAKEN_BASE_URL", "http://"),
    ("BITSTAMP_BASE_URL", "www.bitstamp.net"),
    ("BITSTAMP_BASE_URL", "file:///etc/passwd"),
    ("GOLDAPI_BASE_URL", ""),
    ("DEMO_MODE", "maybe"),
    ("MARKET_HTTP_CONNECT_TIMEOUT_SECONDS", "fast"),
    ("MARKET_HTTP_READ_TIMEOUT_SECONDS", "0"),
    ("MARKET_HTTP_READ_TIMEOUT_SECONDS", "nan"),
    ("MARKET_HTTP_RETRIES", "-1"),
    ("MARKET_HTTP_RETRIES", "10"),
    ("MARKET_HTTP_WORKERS", "0"),
    ("MARKET_BREAKER_FAILURES", "0"),
    ("MARKET_BREAKER_COOLDOWN_SECONDS", "1.5"),
    ("PRICE_QUOTE_MAX_AGE_SECONDS", "0"),
    ("PRICE_MAX_JUMP_PERCENT", "-5"),
    ("PRICE_MAX_JUMP_PERCENT", "five"),
    ("PRICE_MAX_JUMP_PERCENT", "0"),
    ("PRICE_MAX_JUMP_PERCENT", "51"),
    ("PRICE_MAX_JUMP_PERCENT", "inf"),
    ("PRICE_MAX_JUMP_PERCENT_BTCUSD", "nan"),
    ("PRICE_MAX_JUMP_PERCENT_BTCUSD", "-1"),
    ("PRICE_AGREE_PERCENT", "0"),
    ("PRICE_AGREE_PERCENT", "-0.1"),
    ("PRICE_AGREE_PERCENT", "a tenth"),
    ("PRICE_AGREE_PERCENT", "50.5"),
    ("PRICE_AGREE_PERCENT_EURUSD", "0"),
    ("PRICE_AGREE_PERCENT_EURUSD", "1e3"),
    ("PRICE_AGREE_PERCENT_EURUSD", "0.1%"),
    ("PRICE_JUMP_REFERENCE_SECONDS", "x"),
    ("PRICE_CACHE_TTL_SECONDS", "0"),
    ("PRICE_LAST_KNOWN_TTL_SECONDS", "10"),
    ("PRICE_HISTORY_RETENTION_DAYS", "0"),
    ("PRICE_FROZEN_SECONDS", "-1"),
    ("PRICE_FROZEN_SECONDS", "two minutes"),
    ("PRICE_FROZEN_SECONDS", "9"),  # under two fetch intervals: a quiet book between two cycles
    ("PRICE_HISTORY_MAX_ROWS", "1000000"),
    ("MARKET_CLOSED_POLL_SECONDS", "-300"),
])
def test_it_stops_start_up_on_a_bad_value_naming_the_variable(load, name, value):
    with pytest.raises(ImproperlyConfigured, match=f"^{name}="):
        load(**{name: value})


def test_it_sets_aside_frozen_feeds_after_two_minutes_by_default_and_reads_zero_as_off(load):
    assert load()["PRICE_FROZEN_SECONDS"] == 120
    assert load(PRICE_FROZEN_SECONDS="0")["PRICE_FROZEN_SECONDS"] == 0
    assert load(PRICE_FROZEN_SECONDS="20", PRICE_FETCHER_INTERVAL_SECONDS="10")["PRICE_FROZEN_SECONDS"] == 20


def test_it_refuses_a_frozen_limit_under_two_fetch_intervals_naming_both(load):
    with pytest.raises(ImproperlyConfigured, match=r"PRICE_FROZEN_SECONDS=25 .*PRICE_FETCHER_INTERVAL_SECONDS \(30\)"):
        load(PRICE_FROZEN_SECONDS="25", PRICE_FETCHER_INTERVAL_SECONDS="15")


# --- the bounds per market ---------------------------------------------------------------------

def test_it_defaults_each_symbol_to_its_asset_classes_bounds(load):
    conf = load()

    assert conf["PRICE_AGREE_PERCENT_BY_SYMBOL"] == {"XAUUSD": 0.3, "XAGUSD": 0.3, "EURUSD": 0.1, "GBPUSD": 0.1,
                                                     "USDJPY": 0.1, "BTCUSD": 1.0}
    assert conf["PRICE_MAX_JUMP_PERCENT_BY_SYMBOL"] == {"XAUUSD": 3.0, "XAGUSD": 3.0, "EURUSD": 1.0,
                                                        "GBPUSD": 1.0, "USDJPY": 1.0, "BTCUSD": 5.0}


def test_it_takes_a_symbols_own_bound_over_the_global_one_over_the_class_default(load):
    conf = load(PRICE_AGREE_PERCENT="0.2", PRICE_AGREE_PERCENT_EURUSD="0.05", PRICE_MAX_JUMP_PERCENT_BTCUSD="8")

    assert conf["PRICE_AGREE_PERCENT_BY_SYMBOL"]["EURUSD"] == 0.05
    assert conf["PRICE_AGREE_PERCENT_BY_SYMBOL"]["GBPUSD"] == 0.2
    assert conf["PRICE_AGREE_PERCENT_BY_SYMBOL"]["BTCUSD"] == 0.2
    assert conf["PRICE_MAX_JUMP_PERCENT_BY_SYMBOL"]["BTCUSD"] == 8.0
    assert conf["PRICE_MAX_JUMP_PERCENT_BY_SYMBOL"]["XAUUSD"] == 3.0


def test_it_accepts_bounds_at_the_ceiling(load):
    conf = load(PRICE_AGREE_PERCENT_BTCUSD="50", PRICE_MAX_JUMP_PERCENT_BTCUSD="50")

    assert (conf["PRICE_AGREE_PERCENT_BY_SYMBOL"]["BTCUSD"], conf["PRICE_MAX_JUMP_PERCENT_BY_SYMBOL"]["BTCUSD"]) \
        == (50.0, 50.0)


def test_it_refuses_an_agreement_bound_wider_than_the_jump_bound_naming_both(load):
    with pytest.raises(ImproperlyConfigured, match=r"^PRICE_AGREE_PERCENT_EURUSD=2 is not valid: expected at most "
                                                   r"EURUSD's jump bound \(1, from the fx default"):
        load(PRICE_AGREE_PERCENT_EURUSD="2")


def test_it_names_the_jump_variable_when_a_jump_bound_falls_under_the_agreement_bound(load):
    with pytest.raises(ImproperlyConfigured, match=r"^PRICE_MAX_JUMP_PERCENT=0.2 is not valid: expected at least "
                                                   r"XAUUSD's agreement bound \(0.3, from the metals default"):
        load(PRICE_MAX_JUMP_PERCENT="0.2")
