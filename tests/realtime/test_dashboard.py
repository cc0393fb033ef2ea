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


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_it_shows_prices_changing_in_a_real_browser(browser, redis_url):
    with uvicorn_server(database_url=child_database_url(), redis_url=redis_url) as (address, _):
        page = browser.new_page()
        page.goto(f"http://{address}/")
        # The snapshot has arrived: the socket is subscribed, so the next update reaches it.
        page.wait_for_selector('body[data-prices="live"]', timeout=10_000)
        cell = page.locator('#prices tr[data-symbol="XAUUSD"] .price')
        for price in (2650.25, 2651.75):
            # From another thread, as a job would: Playwright runs an event loop in this one.
            send_from_thread("prices", {"type": "price.update", "prices": [
                {"symbol": "XAUUSD", "bid": price - 0.2, "ask": price + 0.2, "price": price, "stale": False,
                 "timestamp": "2026-11-29T09:00:05.012Z", "source": "swissquote", "age_seconds": 0.3}]})
            page.wait_for_function(
                "([el, want]) => el.textContent === want",
                arg=[cell.element_handle(), f"{price:,.2f}"], timeout=10_000)
        assert "up" in cell.get_attribute("class")
        screenshot(page, "dashboard.png")
