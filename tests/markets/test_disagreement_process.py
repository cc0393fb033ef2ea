"""Two FX sources that disagree, as an operator meets it: `runjob price_fetcher` in its own process.

The quote stand-ins answer over loopback with the recorded shapes (Swissquote's bboquotes,
Kraken's multi-pair ticker); the process's wall clock is shifted to a Wednesday noon (the
tests' own clock shift, tests/clock), so the market is open whatever day the suite runs, and
the quotes are stamped at that time.
"""

import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest

from jobs.models import JobRun
from markets.models import PriceTick
from tests.markets.factories import NOW, NOW_MS
from tests.markets.recorded import serve_all
from tests.processes import ROOT, child_env, clock_at
from tests.quote_server import provider_env


@pytest.fixture
def runjob(httpserver, transactional_db, redis_url):
    def run(*, swissquote_eur: tuple[str, str] = ("1.15610", "1.15622"),
            kraken_eur: tuple[str, str] = ("1.15614", "1.15619"), **serve) -> subprocess.CompletedProcess:
        httpserver.clear()
        serve_all(httpserver, ts_ms=NOW_MS, updated=NOW, swissquote_fx={("EUR", "USD"): swissquote_eur},
                  kraken={"ZEURZUSD": kraken_eur}, **serve)
        env = child_env(**provider_env(httpserver.url_for("").rstrip("/")), LOG_FORMAT="console",
                        REDIS_URL=redis_url)
        # One second after the quotes' time when the job starts: fresh, and the market open.
        env.update(clock_at(NOW + timedelta(seconds=1)))
        return subprocess.run([sys.executable, "manage.py", "runjob", "price_fetcher"], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=120, check=False)
    return run


def test_it_stores_no_eurusd_tick_from_sources_3_percent_apart_and_says_why(runjob):
    done = runjob(swissquote_eur=("1.0800", "1.0800"), kraken_eur=("1.1113", "1.1113"))

    assert done.returncode == 0, done.stderr
    why = "swissquote (1.0800) and kraken (1.1113) disagree by 2.90%, beyond the agreement bound of 0.1%: no price"
    assert f"failed: EURUSD ({why})" in done.stdout
    assert f"EURUSD: sources disagree: {why}" in done.stderr
    assert not PriceTick.objects.filter(symbol="EURUSD").exists()
    assert PriceTick.objects.filter(symbol="GBPUSD").count() == 1
    assert why in JobRun.objects.get(job__key="price_fetcher").summary


def test_it_stores_the_median_of_eurusd_sources_a_hundredth_of_a_percent_apart(runjob):
    done = runjob(swissquote_eur=("1.08000", "1.08000"), kraken_eur=("1.08010", "1.08010"))

    assert done.returncode == 0, done.stderr
    assert "6 prices: 6 fresh" in done.stdout
    tick = PriceTick.objects.get(symbol="EURUSD")
    assert (tick.mid, tick.source) == (Decimal("1.08005"), "median(kraken,swissquote)")


def test_it_stores_bitcoin_from_the_two_sources_that_agree_when_the_third_is_3_percent_off(runjob):
    done = runjob(bitstamp=("86484", "86486"))

    assert done.returncode == 0, done.stderr
    assert "6 prices: 6 fresh" in done.stdout
    tick = PriceTick.objects.get(symbol="BTCUSD")
    assert (tick.source, tick.mid) == ("median(coinbase,kraken)", Decimal("83965.0425"))
    bid, ask, _offset, reason = tick.sources["bitstamp"].split(" ", 3)
    assert (bid, ask) == ("86484", "86486") and reason.startswith("outlier (86485 vs median 84036.05000: 2.91% off")
    assert "BTCUSD: sources disagree: bitstamp: outlier" in done.stderr
