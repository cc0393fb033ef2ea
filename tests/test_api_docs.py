"""The API docs (Swagger UI, ReDoc) come from our own static files: they work offline."""

import re

import pytest

from tests.browser import PUBLIC_HOST, NetworkLog, screenshot
from tests.processes import child_database_url
from tests.realtime.server import uvicorn_server

DOCS = ["/api/docs/", "/api/redoc/"]


@pytest.mark.parametrize("path", DOCS)
def test_the_docs_page_references_no_outside_host(client, path):
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    hosts = set(re.findall(r"(?:https?:)?//([\w.-]+(?::\d+)?)", html))
    assert hosts <= {"testserver"}, hosts
    assert "/static/drf_spectacular_sidecar/" in html


@pytest.mark.processes
@pytest.mark.django_db
@pytest.mark.parametrize(("path", "operation"), [
    ("/api/docs/", '.opblock-summary-path[data-path="/api/predictions/"]'),
    ("/api/redoc/", '[id="tag/api/operation/api_predictions_list"]'),
])
def test_the_docs_list_the_operations_loading_only_from_the_server(browser, redis_url, path, operation):
    with uvicorn_server(database_url=child_database_url(), redis_url=redis_url,
                        extra_env={"ALLOWED_HOSTS": PUBLIC_HOST}) as (address, proc):
        origin = f"{PUBLIC_HOST}:{address.rsplit(':', 1)[1]}"
        page = browser.new_page()
        network = NetworkLog(page)
        page.goto(f"http://{origin}{path}")
        page.wait_for_selector(operation, timeout=15_000)
        page.wait_for_load_state("networkidle")
        # The first screen: ReDoc's whole page is over 10,000 pixels tall.
        screenshot(page, f"api-{path.strip('/').split('/')[-1]}.png", full_page=False)
        sent, hosts, refused = network.sent(), network.hosts(), network.refused()

    assert hosts == {origin}, sent
    assert all(status == 200 for _, status in sent), sent
    # ReDoc always shows its maker's logo from their CDN; the page's policy refuses it unsent.
    assert all(r.resource_type == "image" for r in refused), [r.url for r in refused]
    assert "Not Found" not in proc.log and "Traceback" not in proc.log, proc.log
