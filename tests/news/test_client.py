import gzip
import time

import pytest
from werkzeug import Response

from news.client import FeedClient, FeedFetchError
from tests.news.feeds import NOW, RSS, fixture_bytes, serve

FEED = fixture_bytes("fxstreet_rss-news_traced-from-live-2026-07-01_1-item.xml")


def test_it_fetches_a_feed_with_its_validators(httpserver, feed_client):
    serve(httpserver, "/feed", FEED, headers={"ETag": '"v1"', "Last-Modified": "Sun, 29 Nov 2026 08:00:00 GMT"})
    response = feed_client.fetch(httpserver.url_for("/feed"), now=NOW)
    assert (response.status, response.body, response.etag, response.last_modified) == \
        (200, FEED, '"v1"', "Sun, 29 Nov 2026 08:00:00 GMT")
    assert response.content_type == RSS
    request, _ = httpserver.log[0]
    assert request.headers["User-Agent"] == "goldsocial-tests"
    assert "If-None-Match" not in request.headers


def test_it_sends_validators_and_reads_a_304(httpserver, feed_client):
    httpserver.expect_request("/feed", headers={"If-None-Match": '"v1"',
                                                "If-Modified-Since": "Sun, 29 Nov 2026 08:00:00 GMT"}
                              ).respond_with_data(b"", status=304, headers={"ETag": '"v1"'})
    response = feed_client.fetch(httpserver.url_for("/feed"), etag='"v1"',
                                 last_modified="Sun, 29 Nov 2026 08:00:00 GMT", now=NOW)
    assert (response.status, response.body, response.etag) == (304, b"", '"v1"')


@pytest.mark.parametrize("status", [429, 503])
def test_it_reads_retry_after_in_seconds(httpserver, feed_client, status):
    serve(httpserver, "/feed", b"slow down", status=status, headers={"Retry-After": "120"})
    with pytest.raises(FeedFetchError) as error:
        feed_client.fetch(httpserver.url_for("/feed"), now=NOW)
    assert (error.value.status, error.value.retry_after) == (status, 120)
    assert "retry after 120 s" in str(error.value)


def test_it_reads_retry_after_as_a_date(httpserver, feed_client):
    serve(httpserver, "/feed", b"", status=503, headers={"Retry-After": "Sun, 29 Nov 2026 09:30:00 GMT"})
    with pytest.raises(FeedFetchError) as error:
        feed_client.fetch(httpserver.url_for("/feed"), now=NOW)
    assert error.value.retry_after == 1800


@pytest.mark.parametrize("value", ["86401", "9" * 30, "Fri, 31 Dec 9999 23:59:59 GMT"])
def test_it_waits_at_most_a_day_however_long_retry_after_asks(httpserver, feed_client, value):
    serve(httpserver, "/feed", b"", status=429, headers={"Retry-After": value})
    with pytest.raises(FeedFetchError) as error:
        feed_client.fetch(httpserver.url_for("/feed"), now=NOW)
    assert error.value.retry_after == 24 * 3600
    assert "retry after 86400 s" in str(error.value)


@pytest.mark.parametrize("status", [400, 403, 404, 410, 500, 502])
def test_it_raises_for_other_statuses(httpserver, feed_client, status):
    serve(httpserver, "/feed", b"nope", status=status)
    with pytest.raises(FeedFetchError, match=f"HTTP {status}") as error:
        feed_client.fetch(httpserver.url_for("/feed"), now=NOW)
    assert error.value.retry_after is None


def test_it_refuses_a_body_declared_too_large_without_reading_it(httpserver, feed_client):
    serve(httpserver, "/big", b"x" * (1024 * 1024 + 1))
    with pytest.raises(FeedFetchError, match="1048577 bytes declared, limit 1048576"):
        feed_client.fetch(httpserver.url_for("/big"), now=NOW)


def test_it_stops_reading_a_streamed_20_mb_body(httpserver, feed_client):
    sent = []

    def chunks():
        yield b'<?xml version="1.0"?><rss version="2.0"><channel><title>Huge</title>'
        for i in range(20 * 1024):  # 20 MiB of items, no Content-Length
            sent.append(i)
            yield (b"<item><title>filler</title><description>" + b"x" * 950 + b"</description></item>")

    httpserver.expect_request("/huge").respond_with_response(Response(chunks(), content_type=RSS))
    with pytest.raises(FeedFetchError, match="over 1048576 bytes, stopped reading"):
        feed_client.fetch(httpserver.url_for("/huge"), now=NOW)
    # The client hung up long before the server had produced all 20 MiB.
    assert len(sent) < 20 * 1024


def test_it_caps_the_decompressed_size(httpserver, feed_client):
    bomb = gzip.compress(b"<rss>" + b" " * (3 * 1024 * 1024))
    serve(httpserver, "/bomb", bomb, headers={"Content-Encoding": "gzip"})
    assert len(bomb) < 1024 * 1024
    with pytest.raises(FeedFetchError, match="stopped reading"):
        feed_client.fetch(httpserver.url_for("/bomb"), now=NOW)


def test_it_follows_http_redirects_and_reports_the_final_url(httpserver, feed_client):
    serve(httpserver, "/old", b"", status=301, headers={"Location": "/new"})
    serve(httpserver, "/new", FEED)
    response = feed_client.fetch(httpserver.url_for("/old"), now=NOW)
    assert (response.status, response.url) == (200, httpserver.url_for("/new"))


@pytest.mark.parametrize("location", ["file:///etc/passwd", "ftp://example.com/feed", "javascript:alert(1)",
                                      "gopher://example.com/"])
def test_it_refuses_redirects_to_other_schemes(httpserver, feed_client, location):
    serve(httpserver, "/feed", b"", status=302, headers={"Location": location})
    with pytest.raises(FeedFetchError, match="redirect to a non-http URL refused"):
        feed_client.fetch(httpserver.url_for("/feed"), now=NOW)


def test_it_gives_up_on_a_redirect_loop(httpserver, feed_client):
    serve(httpserver, "/loop", b"", status=302, headers={"Location": "/loop"})
    with pytest.raises(FeedFetchError, match="more than 5 redirects"):
        feed_client.fetch(httpserver.url_for("/loop"), now=NOW)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/feed", "feed.xml", "", "http://"])
def test_it_refuses_urls_that_are_not_http(feed_client, url):
    with pytest.raises(FeedFetchError, match="not an http"):
        feed_client.fetch(url, now=NOW)


def test_it_reports_a_refused_connection(feed_client):
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(FeedFetchError, match="ConnectionError"):
        feed_client.fetch(f"http://127.0.0.1:{port}/feed", now=NOW)


def test_it_times_out_on_a_server_that_does_not_answer(httpserver):
    def slow(request):
        time.sleep(1)
        return Response(FEED, content_type=RSS)

    httpserver.expect_request("/slow").respond_with_handler(slow)
    client = FeedClient(connect_timeout=1, read_timeout=0.2, max_bytes=1024, user_agent="t")
    try:
        with pytest.raises(FeedFetchError, match="timed out"):
            client.fetch(httpserver.url_for("/slow"), now=NOW)
    finally:
        client.close()


def test_it_gives_up_on_a_server_that_drips_its_body(httpserver):
    def drip():
        yield b'<?xml version="1.0"?><rss version="2.0"><channel>'
        for _ in range(100):
            time.sleep(0.05)  # each byte well within the read timeout
            yield b" "

    httpserver.expect_request("/drip").respond_with_response(Response(drip(), content_type=RSS))
    client = FeedClient(connect_timeout=1, read_timeout=1, total_timeout=0.3, max_bytes=1024 * 1024, user_agent="t")
    try:
        with pytest.raises(FeedFetchError, match="too slow: body not complete after 0.3 s"):
            client.fetch(httpserver.url_for("/drip"), now=NOW)
    finally:
        client.close()


def test_it_refuses_a_feed_that_redirects_to_a_refused_address(httpserver, feed_client, settings):
    from pytest_httpserver import HTTPServer

    # 127.0.0.2 plays an internal host (it stays on loopback even if the check were missing).
    inside = HTTPServer(host="127.0.0.2", port=0)
    inside.start()
    try:
        serve(inside, "/admin", FEED)
        serve(httpserver, "/feed", b"", status=302, headers={"Location": inside.url_for("/admin")})
        settings.OUTBOUND_ALLOWED_NETWORKS = ["127.0.0.1/32"]
        with pytest.raises(FeedFetchError, match="refused: 127.0.0.2 is a loopback address"):
            feed_client.fetch(httpserver.url_for("/feed"), now=NOW)
        assert inside.log == []
        assert len(httpserver.log) == 1
    finally:
        inside.stop()


def test_it_refuses_a_feed_whose_name_resolves_to_a_refused_address(httpserver, feed_client, settings):
    serve(httpserver, "/feed", FEED)
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    with pytest.raises(FeedFetchError, match="refused: localhost resolves to 127.0.0.1, a loopback address"):
        feed_client.fetch(f"http://localhost:{httpserver.port}/feed", now=NOW)
    assert httpserver.log == []
