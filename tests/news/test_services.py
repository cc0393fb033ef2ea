from datetime import UTC, datetime, timedelta

import pytest
from werkzeug import Response

from news.cache import news_cache_version
from news.models import Article, NewsSource
from news.services import news_fetch, source_reenable
from tests.news.feeds import NOW, RSS, fixture_bytes, serve

pytestmark = pytest.mark.django_db


def conditional(body: bytes, etag: str):
    """A server that answers 304 to a request carrying the current ETag."""
    def handler(request):
        if request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, content_type=RSS, headers={"ETag": etag,
                                                         "Last-Modified": "Sun, 29 Nov 2026 08:00:00 GMT"})
    return handler


def test_it_stores_a_first_fetch_and_costs_one_304_the_second_time(httpserver, make_source, feed_client,
                                                                    redis_url):
    httpserver.expect_request("/fx").respond_with_handler(conditional(fixture_bytes("duplicates_within.xml"), '"a1"'))
    source = make_source("/fx", category="forex")

    first = news_fetch(client=feed_client, now=NOW)
    assert (first.sources, first.fetched, first.not_modified, first.errors, first.new_articles) == (1, 1, 0, 0, 2)
    source.refresh_from_db()
    assert (source.etag, source.last_modified, source.last_status, source.last_fetch_at) == \
        ('"a1"', "Sun, 29 Nov 2026 08:00:00 GMT", 200, NOW)

    second = news_fetch(client=feed_client, now=NOW + timedelta(minutes=15))
    assert (second.fetched, second.not_modified, second.new_articles) == (0, 1, 0)
    request, response = httpserver.log[-1]
    assert request.headers["If-None-Match"] == '"a1"'
    assert request.headers["If-Modified-Since"] == "Sun, 29 Nov 2026 08:00:00 GMT"
    assert response.status_code == 304
    assert len(httpserver.log) == 2
    source.refresh_from_db()
    assert (source.last_status, source.consecutive_errors) == (304, 0)
    assert Article.objects.count() == 2
    assert str(second) == "1 sources due: 0 fetched, 1 unchanged (304), 0 failed; 0 new articles; 0 pruned"


def test_it_waits_as_long_as_retry_after_asks(httpserver, make_source, feed_client):
    serve(httpserver, "/busy", b"busy", status=429, headers={"Retry-After": "3600"})
    source = make_source("/busy")

    assert news_fetch(client=feed_client, now=NOW).errors == 1
    source.refresh_from_db()
    assert source.next_fetch_at == NOW + timedelta(seconds=3600)
    assert source.last_error == "HTTP 429 TOO MANY REQUESTS, retry after 3600 s"

    assert news_fetch(client=feed_client, now=NOW + timedelta(seconds=3599)).sources == 0
    assert len(httpserver.log) == 1
    assert news_fetch(client=feed_client, now=NOW + timedelta(seconds=3600)).sources == 1
    assert len(httpserver.log) == 2


def test_it_backs_off_exponentially_and_disables_after_a_run_of_failures(httpserver, make_source, feed_client,
                                                                          settings):
    settings.NEWS_BACKOFF_BASE_SECONDS = 60
    settings.NEWS_BACKOFF_MAX_SECONDS = 200
    settings.NEWS_DISABLE_AFTER_ERRORS = 4
    serve(httpserver, "/down", b"oops", status=500)
    source = make_source("/down", name="Down Feed")

    now, delays = NOW, []
    for _ in range(3):
        summary = news_fetch(client=feed_client, now=now)
        assert (summary.sources, summary.errors, summary.disabled) == (1, 1, [])
        source.refresh_from_db()
        delays.append((source.next_fetch_at - now).total_seconds())
        # Not fetched again before the backoff is over.
        assert news_fetch(client=feed_client, now=source.next_fetch_at - timedelta(seconds=1)).sources == 0
        now = source.next_fetch_at
    assert delays == [60, 120, 200]
    assert source.consecutive_errors == 3 and source.enabled

    summary = news_fetch(client=feed_client, now=now)
    assert summary.disabled == ["Down Feed"]
    source.refresh_from_db()
    assert not source.enabled
    assert source.disabled_reason.startswith("turned off at 2026-11-29T")
    assert "after 4 failures in a row" in source.disabled_reason
    assert source.last_error == "HTTP 500 INTERNAL SERVER ERROR"
    assert news_fetch(client=feed_client, now=now + timedelta(days=7)).sources == 0
    assert len(httpserver.log) == 4

    source_reenable(source=source)
    assert (source.enabled, source.consecutive_errors, source.next_fetch_at, source.disabled_reason) == \
        (True, 0, None, "")
    assert news_fetch(client=feed_client, now=now).sources == 1


def test_it_forgets_the_errors_after_a_success(httpserver, make_source, feed_client):
    source = make_source("/fx", consecutive_errors=3, last_error="HTTP 502 BAD GATEWAY")
    serve(httpserver, "/fx", fixture_bytes("duplicates_across.xml"))
    news_fetch(client=feed_client, now=NOW)
    source.refresh_from_db()
    assert (source.consecutive_errors, source.last_error, source.next_fetch_at) == (0, "", None)


def test_it_records_why_each_broken_feed_failed_and_stores_the_rest(httpserver, make_source, feed_client):
    serve(httpserver, "/good", fixture_bytes("duplicates_across.xml"), content_type="application/atom+xml")
    serve(httpserver, "/malformed", fixture_bytes("malformed_truncated.xml"))
    serve(httpserver, "/html", fixture_bytes("html_page.html"), content_type="text/html; charset=utf-8")
    serve(httpserver, "/empty", fixture_bytes("empty_channel.xml"))
    serve(httpserver, "/huge", b"<rss>" + b"x" * (20 * 1024 * 1024) + b"</rss>")
    serve(httpserver, "/sloppy", fixture_bytes("missing_link_and_date.xml"))
    sources = {path: make_source(path) for path in ("/good", "/malformed", "/html", "/empty", "/huge", "/sloppy")}

    summary = news_fetch(client=feed_client, now=NOW)

    assert (summary.sources, summary.fetched, summary.errors) == (6, 4, 2)
    assert summary.new_articles == 2 + 2 + 4
    state = {path: NewsSource.objects.get(pk=s.pk) for path, s in sources.items()}
    assert state["/good"].last_error == ""
    assert state["/malformed"].last_error.startswith("feed partly broken, kept what could be read")
    assert state["/malformed"].consecutive_errors == 0
    assert state["/html"].last_error.startswith("not a feed (an HTML page)")
    assert (state["/html"].consecutive_errors, state["/html"].etag) == (1, "")
    assert state["/empty"].last_error == "the feed has no entries"
    assert state["/huge"].last_error == f"feed too large: {20 * 1024 * 1024 + 11} bytes declared, limit 1048576"
    assert state["/huge"].consecutive_errors == 1
    assert state["/sloppy"].last_error == ("2 entries without a usable http(s) link skipped; "
                                           "2 entries without a usable date dated when first seen")


def test_it_stores_duplicates_within_a_feed_once(httpserver, make_source, feed_client):
    serve(httpserver, "/fx", fixture_bytes("duplicates_within.xml"))
    make_source("/fx", category="forex")
    assert news_fetch(client=feed_client, now=NOW).new_articles == 2
    # The same link under a second guid, and the same guid with a second link: the first wins.
    assert sorted(Article.objects.values_list("canonical_url", "title")) == [
        ("https://fx.example/eurusd-steadies", "EUR/USD steadies"),
        ("https://fx.example/yen-weakens", "Yen weakens"),
    ]


def test_it_stores_an_article_carried_by_two_feeds_once(httpserver, make_source, feed_client):
    serve(httpserver, "/fx", fixture_bytes("duplicates_within.xml"))
    serve(httpserver, "/syndicated", fixture_bytes("duplicates_across.xml"), content_type="application/atom+xml")
    first = make_source("/fx", category="forex")
    make_source("/syndicated", category="forex")

    news_fetch(client=feed_client, now=NOW)

    yen = Article.objects.filter(canonical_url="https://fx.example/yen-weakens")
    assert yen.count() == 1
    assert yen.get().source == first  # sources are read in order; the first to carry it keeps it
    assert Article.objects.filter(canonical_url="https://fx.example/sterling-firms").exists()


def test_it_stores_an_article_seen_again_in_a_later_run_once(httpserver, make_source, feed_client):
    serve(httpserver, "/fx", fixture_bytes("duplicates_within.xml"))
    make_source("/fx", category="forex")
    assert news_fetch(client=feed_client, now=NOW).new_articles == 2
    # The server has no ETag: the whole feed comes again, nothing is new.
    assert news_fetch(client=feed_client, now=NOW + timedelta(minutes=15)).new_articles == 0
    assert Article.objects.count() == 2


def test_it_stores_tracking_variants_of_one_url_once(httpserver, make_source, feed_client):
    serve(httpserver, "/tracked", fixture_bytes("tracking_variants.xml"))
    make_source("/tracked")
    assert news_fetch(client=feed_client, now=NOW).new_articles == 2
    assert sorted(Article.objects.values_list("canonical_url", flat=True)) == [
        "https://tracked.example/markets/stocks-close?id=7", "https://tracked.example/markets/stocks-close?id=8"]


def test_it_stores_injected_script_harmless(httpserver, make_source, feed_client):
    serve(httpserver, "/hostile", fixture_bytes("script_injection.xml"))
    make_source("/hostile")
    news_fetch(client=feed_client, now=NOW)
    article = Article.objects.get()
    assert article.title == "Gold jumps & silver"
    for bad in ("<script", "onerror", "onclick", "onmouseover", "onload", "javascript:", "<iframe", "<svg",
                "document.cookie"):
        assert bad not in article.summary
        assert bad not in article.summary_text
        assert bad not in article.title
    assert article.summary_text == "Bullion up. click more"


def test_it_stores_the_source_category_and_refined_ones(httpserver, make_source, feed_client):
    serve(httpserver, "/metals", fixture_bytes("malformed_truncated.xml"))
    make_source("/metals", category="markets")
    news_fetch(client=feed_client, now=NOW)
    assert dict(Article.objects.values_list("title", "categories")) == {
        "Gold holds near record as dollar slips": "|forex|markets|precious_metals|",
        "Silver & platinum rally": "|markets|precious_metals|",
    }
    assert set(Article.objects.values_list("category", flat=True)) == {"markets"}


def test_it_prunes_articles_past_the_retention_horizon(httpserver, make_source, feed_client, settings, redis_url,
                                                       django_capture_on_commit_callbacks):
    settings.NEWS_RETENTION_DAYS = 2
    serve(httpserver, "/fx", fixture_bytes("duplicates_within.xml"))
    make_source("/fx")
    news_fetch(client=feed_client, now=NOW)
    version = news_cache_version()

    with django_capture_on_commit_callbacks(execute=True):
        summary = news_fetch(client=feed_client, now=NOW + timedelta(days=2, hours=-1, minutes=-30))
    assert (summary.new_articles, summary.pruned) == (0, 1)  # the 07:00 story
    assert list(Article.objects.values_list("title", flat=True)) == ["EUR/USD steadies"]
    assert news_cache_version() == version + 1


def test_it_invalidates_the_cache_only_when_something_new_was_stored(httpserver, make_source, feed_client,
                                                                    redis_url, django_capture_on_commit_callbacks):
    httpserver.expect_request("/fx").respond_with_handler(conditional(fixture_bytes("duplicates_within.xml"), '"e"'))
    make_source("/fx")
    version = news_cache_version()
    with django_capture_on_commit_callbacks(execute=True):
        news_fetch(client=feed_client, now=NOW)
    assert news_cache_version() == version + 1
    with django_capture_on_commit_callbacks(execute=True):
        news_fetch(client=feed_client, now=NOW + timedelta(minutes=15))
    assert news_cache_version() == version + 1


def test_it_does_nothing_without_due_sources(no_default_sources, feed_client):
    summary = news_fetch(client=feed_client, now=NOW)
    assert str(summary) == "0 sources due: 0 fetched, 0 unchanged (304), 0 failed; 0 new articles; 0 pruned"


def test_it_stores_the_recorded_real_feeds(httpserver, make_source, feed_client, settings):
    settings.NEWS_RETENTION_DAYS = 3650
    serve(httpserver, "/mw", fixture_bytes("marketwatch_topstories_feedburner_recorded-2021-07-06.xml"),
          content_type="text/xml; charset=UTF-8")
    serve(httpserver, "/fxstreet", fixture_bytes("fxstreet_rss-news_traced-from-live-2026-07-01_1-item.xml"))
    make_source("/mw", name="MarketWatch")
    make_source("/fxstreet", name="FXStreet", category="forex")

    summary = news_fetch(client=feed_client, now=datetime(2026, 7, 2, tzinfo=UTC))

    assert (summary.fetched, summary.errors, summary.new_articles) == (2, 0, 5)
    assert Article.objects.filter(source__name="MarketWatch").count() == 4
    assert not Article.objects.filter(canonical_url__contains="siteid").exists()
    newest = Article.objects.order_by("-published_at").first()
    assert (newest.source.name, newest.categories) == ("FXStreet", "|forex|")
    assert NewsSource.objects.get(name="MarketWatch").last_error == ""


@pytest.mark.django_db(transaction=True)
def test_it_survives_a_source_deleted_while_it_was_fetched(httpserver, make_source, feed_client):
    from django.db import connection

    source = make_source("/fx")
    kept = make_source("/tracked")

    def delete_then_serve(request):
        # As an operator would, from another connection, while the run is fetching.
        try:
            NewsSource.objects.filter(pk=source.pk).delete()
        finally:
            connection.close()
        return Response(fixture_bytes("duplicates_within.xml"), content_type=RSS)

    httpserver.expect_request("/fx").respond_with_handler(delete_then_serve)
    serve(httpserver, "/tracked", fixture_bytes("tracking_variants.xml"))
    summary = news_fetch(client=feed_client, now=NOW, workers=1)
    assert summary.new_articles == 2
    assert set(Article.objects.values_list("source", flat=True)) == {kept.pk}


def test_it_stores_feeds_in_mixed_encodings_over_http(httpserver, make_source, feed_client):
    serve(httpserver, "/latin1", fixture_bytes("latin1_declared.xml"), content_type="text/xml; charset=iso-8859-1")
    serve(httpserver, "/cp1252", fixture_bytes("utf8_declared_cp1252_bytes.xml"), content_type="application/rss+xml")
    serve(httpserver, "/utf16", fixture_bytes("utf16_bom.xml"), content_type="application/xml")
    for path in ("/latin1", "/cp1252", "/utf16"):
        make_source(path)
    summary = news_fetch(client=feed_client, now=NOW)
    assert (summary.fetched, summary.errors, summary.new_articles) == (3, 0, 3)
    assert sorted(Article.objects.values_list("title", flat=True)) == [
        "Franken st\u00e4rker, Goldpreis bei 2 650 $", "\u201cEuro\u201d at \u20ac1.05 \u2013 ECB",
        "\u65e5\u672c\u5186 yen \u2192 weaker"]
    assert Article.objects.get(canonical_url="https://latin.example/franken").summary == \
        "Gr\u00fc\u00dfe aus Z\u00fcrich."


def test_it_records_a_refused_feed_address_as_the_sources_error(httpserver, make_source, feed_client, settings):
    serve(httpserver, "/feed", fixture_bytes("duplicates_within.xml"))
    source = make_source("/feed")
    settings.OUTBOUND_ALLOWED_NETWORKS = []

    assert news_fetch(client=feed_client, now=NOW).errors == 1

    source.refresh_from_db()
    assert source.last_error.startswith("refused: localhost resolves to 127.0.0.1, a loopback address")
    assert source.consecutive_errors == 1
    assert httpserver.log == []


def test_it_publishes_the_new_articles_after_commit_as_the_api_lists_them(
        httpserver, make_source, feed_client, redis_url, broadcasts, django_capture_on_commit_callbacks, client):
    serve(httpserver, "/metals", fixture_bytes("malformed_truncated.xml"))
    make_source("/metals", category="markets")

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        news_fetch(client=feed_client, now=NOW)
    assert broadcasts == []  # nothing before the commit
    for callback in callbacks:
        callback()

    sent = dict(broadcasts)
    api = client.get("/api/news/").json()["results"]
    assert sent["news"] == {"type": "news.published", "articles": api}
    assert [a["title"] for a in sent["news.precious_metals"]["articles"]] == [
        "Gold holds near record as dollar slips", "Silver & platinum rally"]
    assert sent["news.precious_metals"]["articles"] == client.get(
        "/api/news/", {"category": "precious_metals"}).json()["results"]
    assert [a["title"] for a in sent["news.forex"]["articles"]] == ["Gold holds near record as dollar slips"]


def test_it_publishes_nothing_when_nothing_new_was_stored(httpserver, make_source, feed_client, broadcasts,
                                                         django_capture_on_commit_callbacks):
    serve(httpserver, "/fx", fixture_bytes("duplicates_within.xml"))
    make_source("/fx", category="forex")
    with django_capture_on_commit_callbacks(execute=True):
        news_fetch(client=feed_client, now=NOW)
    broadcasts.clear()

    with django_capture_on_commit_callbacks(execute=True):
        summary = news_fetch(client=feed_client, now=NOW + timedelta(minutes=15))

    assert summary.new_articles == 0
    assert broadcasts == []


def test_it_splits_a_large_run_into_messages_of_at_most_so_many_articles(
        httpserver, make_source, feed_client, broadcasts, django_capture_on_commit_callbacks, monkeypatch):
    from news import services

    monkeypatch.setattr(services, "BROADCAST_ARTICLES", 2)
    serve(httpserver, "/a", fixture_bytes("duplicates_within.xml"))
    serve(httpserver, "/b", fixture_bytes("malformed_truncated.xml"))
    make_source("/a", category="forex")
    make_source("/b", category="markets")

    with django_capture_on_commit_callbacks(execute=True):
        summary = news_fetch(client=feed_client, now=NOW)

    everything = [m["articles"] for group, m in broadcasts if group == "news"]
    assert summary.new_articles == 4
    assert [len(articles) for articles in everything] == [2, 2]
    assert len({a["id"] for articles in everything for a in articles}) == 4
