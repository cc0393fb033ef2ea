"""The live dashboard at /: the page itself (Django test client) and in a real headless browser."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from realtime.broadcast import broadcast_outside_transaction
from realtime.events import encode
from tests.browser import screenshot
from tests.processes import child_database_url
from tests.realtime.server import uvicorn_server


def send_from_thread(group: str, message: dict) -> None:
    with ThreadPoolExecutor(1) as pool:
        pool.submit(broadcast_outside_transaction, group, encode(message)).result()


@pytest.mark.django_db
def test_it_renders_a_row_per_configured_symbol(client, settings):
    settings.MARKET_SYMBOLS = ["XAUUSD", "BTCUSD"]
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-symbol="XAUUSD"' in body
    assert 'data-symbol="BTCUSD"' in body
    assert 'data-symbol="EURUSD"' not in body
    script = client.get("/static/realtime/dashboard.js")
    assert '<script src="/static/realtime/dashboard.js">' in body
    assert "/ws/prices/" in b"".join(script.streaming_content).decode()


def store_last_half_hour(now):
    """Ticks of XAUUSD in each of the last 30 minutes (the chart's candles) and a job's recent runs."""
    import math
    from datetime import timedelta

    from django.db import connections

    from jobs.models import Job, JobRun
    from markets.models import PriceTick

    # Four ticks in each of the last 30 minutes, walking up and down: candles of both colours.
    PriceTick.objects.bulk_create([
        PriceTick(symbol="XAUUSD", bid=mid - 0.2, ask=mid + 0.2, mid=mid, source="swissquote", timestamp=at,
                  fetched_at=at)
        for m in range(1, 31) for k in range(4)
        for at, mid in [(now.replace(second=5 + 12 * k, microsecond=0) - timedelta(minutes=m),
                         round(2640 + 8 * math.sin((m * 4 - k) / 9) + (k % 2) * 1.5, 2))]])
    outcomes = ["success"] * 7 + ["failed", "skipped", "expired"]
    JobRun.objects.bulk_create([JobRun(job_id="price_fetcher", started_at=now - timedelta(seconds=5 * i),
                                       outcome=outcomes[i % 10], duration_ms=40 + i) for i in range(80)])
    Job.objects.filter(pk="price_fetcher").update(
        last_run_at=now, last_error="ProviderError: swissquote answered 503\n" + "Traceback line\n" * 40)
    connections.close_all()  # this thread's own connection: the test database must be droppable after


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_it_charts_candles_and_shows_prices_changing_in_a_real_browser(browser, redis_url):
    from datetime import timedelta

    from django.utils import timezone

    from goldsocial.timefmt import iso_ms

    with ThreadPoolExecutor(1) as pool:  # Playwright's event loop runs in this thread: no ORM here
        pool.submit(store_last_half_hour, timezone.now()).result()
    with uvicorn_server(database_url=child_database_url(), redis_url=redis_url) as (address, _):
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"http://{address}/")
        # The snapshot has arrived: the socket is subscribed, so the next update reaches it.
        page.wait_for_selector('body[data-prices="live"]', timeout=10_000)
        chart = page.locator('figure.chart[data-symbol="XAUUSD"] svg')
        # 30 stored minutes, read from /api/prices/XAUUSD/candles/.
        page.wait_for_function("el => el.dataset.candles === '30'", arg=chart.element_handle(), timeout=10_000)
        assert chart.locator("rect.body").count() == 30
        cell = page.locator('#prices tr[data-symbol="XAUUSD"] .price')
        # Both in the current minute, one after the other: one candle grows.
        this_minute = timezone.now().replace(second=0, microsecond=0)
        for second, price in ((1, 2650.25), (2, 2651.75)):
            # From another thread, as a job would: Playwright runs an event loop in this one.
            send_from_thread("prices", {"type": "price.update", "prices": [
                {"symbol": "XAUUSD", "bid": price - 0.2, "ask": price + 0.2, "price": price, "stale": False,
                 "timestamp": iso_ms(this_minute + timedelta(seconds=second)), "source": "swissquote",
                 "age_seconds": 0.3}]})
            page.wait_for_function(
                "([el, want]) => el.textContent === want",
                arg=[cell.element_handle(), f"{price:,.2f}"], timeout=10_000)
            # The chart follows the socket: this minute's candle closes at the new price.
            page.wait_for_function("([el, want]) => el.dataset.close === want",
                                   arg=[chart.element_handle(), str(price)], timeout=10_000)
        assert "up" in cell.get_attribute("class")
        assert chart.get_attribute("data-candles") == "31"
        assert "up" in page.locator('figure.chart[data-symbol="XAUUSD"] .last').get_attribute("class")
        assert page.locator('figure.chart[data-symbol="XAUUSD"] .ago').text_content().endswith("s ago")
        # The job's strip: its last 60 runs, coloured by outcome; its long error folded.
        strip = page.locator('#jobs tr[data-key="price_fetcher"] .strip')
        strip.wait_for(timeout=10_000)
        assert strip.locator("span").count() == 60
        assert strip.locator("span.failed").count() == 6 and strip.locator("span.expired").count() == 6
        error = page.locator('#jobs tr[data-key="price_fetcher"] details.error')
        assert error.locator("summary").text_content() == "ProviderError: swissquote answered 503"
        assert not error.locator("pre").is_visible()
        screenshot(page, "dashboard.png")


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_it_shows_a_price_from_three_sources_as_a_list_that_fits_a_narrow_screen(browser, redis_url):
    from django.utils import timezone

    from goldsocial.timefmt import iso_ms

    with uvicorn_server(database_url=child_database_url(), redis_url=redis_url) as (address, _):
        page = browser.new_page(viewport={"width": 520, "height": 900})
        page.goto(f"http://{address}/")
        page.wait_for_selector('body[data-prices="live"]', timeout=10_000)
        send_from_thread("prices", {"type": "price.update", "prices": [
            {"symbol": "BTCUSD", "bid": 83965.0, "ask": 83967.0, "price": 83966.0, "stale": False,
             "timestamp": iso_ms(timezone.now()), "source": "median(bitstamp,coinbase,kraken)",
             "age_seconds": 0.2}]})
        source = page.locator('#prices tr[data-symbol="BTCUSD"] .source')
        page.wait_for_function("el => el.textContent !== '–'", arg=source.element_handle(), timeout=10_000)

        assert source.text_content() == "median of bitstamp, coinbase, kraken"
        assert source.get_attribute("title") == "median(bitstamp,coinbase,kraken)"
        # The table ends inside its section's padding: the long source wraps, nothing scrolls sideways.
        table_right, room = page.evaluate("""() => {
            const table = document.getElementById("prices"), section = table.closest("section");
            return [table.getBoundingClientRect().right,
                    section.getBoundingClientRect().right - parseFloat(getComputedStyle(section).paddingRight)];
        }""")
        assert table_right <= room + 0.5, (table_right, room)
        page.locator("#prices").scroll_into_view_if_needed()
        screenshot(page, "dashboard-narrow.png", full_page=False)
