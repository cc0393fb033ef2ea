"""Two FX sources that disagree, as an operator meets it: `runjob price_fetcher` in its own process.

The quote stand-ins answer over loopback with the recorded shapes (Swissquote's bboquotes,
Kraken's multi-pair ticker); the process runs under faketime at a Wednesday noon, so the
market is open whatever day the suite runs, and the quotes are stamped at that time.
"""

import shutil
import subprocess
import sys
from datetime import timedelta
from decimal import Decimal

import pytest

from jobs.models import JobRun
from markets.models import PriceTick
from tests.markets.factories import NOW, NOW_MS
from tests.markets.recorded import serve_all
from tests.processes import ROOT, child_env
from tests.quote_server import provider_env

pytestmark = [
    pytest.mark.skipif(shutil.which("faketime") is None, reason="needs faketime (Debian's faketime package)"),
]


@pytest.fixture
def runjob(httpserver, transactional_db, redis_url):
    def run(*, swissquote_eur: tuple[str, str], kraken_eur: tuple[str, str]) -> subprocess.CompletedProcess:
        httpserver.clear()
        serve_all(httpserver, ts_ms=NOW_MS, updated=NOW, swissquote_fx={("EUR", "USD"): swissquote_eur},
                  kraken={"ZEURZUSD": kraken_eur})
        env = child_env(**provider_env(httpserver.url_for("").rstrip("/")), LOG_FORMAT="console",
                        REDIS_URL=redis_url)
        # One second after the quotes' time: fresh, and the market open.
        at = (NOW + timedelta(seconds=1)).strftime("@%Y-%m-%d %H:%M:%S")
        return subprocess.run(["faketime", "-f", at, sys.executable, "manage.py", "runjob", "price_fetcher"],
                              cwd=ROOT, env={**env, "TZ": "UTC"}, capture_output=True, text=True, timeout=120,
                              check=False)
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
