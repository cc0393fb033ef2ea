"""Static files from the ASGI server process, as a release serves them: WhiteNoise, collected files."""

import re

import pytest
import requests

from tests.processes import child_database_url
from tests.realtime.server import uvicorn_server

pytestmark = [pytest.mark.processes, pytest.mark.django_db]


@pytest.fixture
def server(redis_url):
    with uvicorn_server(database_url=child_database_url(), redis_url=redis_url) as (address, proc):
        yield f"http://{address}"
    assert "Traceback" not in proc.log, proc.log


def test_it_serves_the_admin_stylesheet(server):
    response = requests.get(f"{server}/static/admin/css/base.css", timeout=10)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/css")
    assert "--header-bg" in response.text


def test_pages_link_hashed_names_served_gzipped_and_cached_for_good(server):
    page = requests.get(f"{server}/admin/login/", timeout=10).text
    hashed = re.search(r'href="(/static/admin/css/base\.[0-9a-f]{12}\.css)"', page)
    assert hashed, page

    response = requests.get(f"{server}{hashed[1]}", headers={"Accept-Encoding": "gzip"}, timeout=10)

    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "immutable" in response.headers["Cache-Control"]
    assert "--header-bg" in response.text


def test_the_dashboard_links_its_own_script_and_stylesheet(server):
    page = requests.get(f"{server}/", timeout=10).text
    assets = re.findall(r'(?:src|href)="(/static/realtime/dashboard\.[0-9a-f]{12}\.(?:js|css))"', page)
    assert len(assets) == 2, page
    for asset in assets:
        assert requests.get(f"{server}{asset}", timeout=10).status_code == 200
