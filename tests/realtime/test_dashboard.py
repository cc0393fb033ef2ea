"""The live dashboard at /: the page itself (Django test client) and in a real headless browser."""

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from django.db import connection

from goldsocial.broadcast import broadcast_now
from tests.realtime.server import ROOT, uvicorn_server
from tests.require import require_service

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")


def send_from_thread(group: str, message: dict) -> None:
    with ThreadPoolExecutor(1) as pool:
        pool.submit(broadcast_now, group, message).result()


@pytest.mark.django_db
def test_it_renders_a_row_per_configured_symbol(client, settings):
    settings.MARKET_SYMBOLS = ["XAUUSD", "BTCUSD"]
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'data-symbol="XAUUSD"' in body
    assert 'data-symbol="BTCUSD"' in body
    assert 'data-symbol="EURUSD"' not in body
    assert "/ws/prices/" in body


@pytest.fixture
def browser():
    require_service(shutil.which(CHROMIUM) is not None or Path(CHROMIUM).exists(), f"Chromium at {CHROMIUM}",
                    "apt-get install -y chromium (Debian's; Playwright must not download its own)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update"])
        yield browser
        browser.close()


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_it_shows_prices_changing_in_a_real_browser(browser, redis_url):
    s = connection.settings_dict
    database_url = (f"sqlite:///{s['NAME']}" if connection.vendor == "sqlite"
                    else f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}")
    with uvicorn_server(database_url=database_url, redis_url=redis_url) as (address, _):
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
        (ROOT / "artifacts").mkdir(exist_ok=True)
        page.screenshot(path=str(ROOT / "artifacts" / "dashboard.png"), full_page=True)
