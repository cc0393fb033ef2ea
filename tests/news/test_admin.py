from datetime import timedelta

import pytest
from django.urls import reverse

from news.cache import news_cache_version
from news.models import Article, NewsSource
from tests.news.feeds import NOW

pytestmark = pytest.mark.django_db


@pytest.fixture
def broken_source(no_default_sources):
    return NewsSource.objects.create(
        name="Broken Desk", feed_url="https://broken.example/rss", category="forex", enabled=False,
        consecutive_errors=10, last_error="HTTP 500 INTERNAL SERVER ERROR", next_fetch_at=NOW + timedelta(hours=6),
        disabled_reason="turned off after 10 failures in a row")


def test_it_lists_sources_with_their_state(admin_client, broken_source):
    page = admin_client.get(reverse("admin:news_newssource_changelist")).content.decode()
    for text in ("Broken Desk", "Forex", "HTTP 500 INTERNAL SERVER ERROR", ">10<"):
        assert text in page


def test_it_reenables_a_source_and_resets_its_backoff(admin_client, broken_source):
    response = admin_client.post(reverse("admin:news_newssource_changelist"),
                                 {"action": "reenable", "_selected_action": [broken_source.pk]}, follow=True)
    assert "Re-enabled 1 source(s)" in response.content.decode()
    broken_source.refresh_from_db()
    assert (broken_source.enabled, broken_source.consecutive_errors, broken_source.next_fetch_at,
            broken_source.disabled_reason) == (True, 0, None, "")


def test_it_refreshes_the_api_when_an_operator_deletes_an_article(admin_client, broken_source, redis_url):
    article = Article.objects.create(source=broken_source, guid="g", canonical_url="https://n.example/1",
                                     url="https://n.example/1", title="Spam", category="forex",
                                     categories="|forex|", published_at=NOW, first_seen_at=NOW)
    page = admin_client.get(reverse("admin:news_article_changelist")).content.decode()
    assert "Spam" in page
    version = news_cache_version()
    admin_client.post(reverse("admin:news_article_delete", args=[article.pk]), {"post": "yes"})
    assert not Article.objects.exists()
    assert news_cache_version() == version + 1


def change(admin_client, source, **overrides):
    data = {"name": source.name, "feed_url": source.feed_url, "category": source.category,
            "enabled": "on" if source.enabled else ""}
    data.update(overrides)
    response = admin_client.post(reverse("admin:news_newssource_change", args=[source.pk]), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    source.refresh_from_db()
    return source


def test_it_starts_a_source_afresh_when_its_url_changes(admin_client, broken_source):
    NewsSource.objects.filter(pk=broken_source.pk).update(etag='"old"', last_modified="Sun, 29 Nov 2026 08:00:00 GMT",
                                                          enabled=True)
    broken_source.refresh_from_db()
    source = change(admin_client, broken_source, feed_url="https://moved.example/rss", enabled="on")
    assert (source.feed_url, source.etag, source.last_modified, source.consecutive_errors, source.next_fetch_at) == \
        ("https://moved.example/rss", "", "", 0, None)


def test_it_starts_a_source_afresh_when_an_operator_ticks_enabled(admin_client, broken_source):
    source = change(admin_client, broken_source, enabled="on")
    assert (source.enabled, source.consecutive_errors, source.next_fetch_at, source.disabled_reason) == \
        (True, 0, None, "")


def test_it_keeps_the_state_on_other_edits(admin_client, broken_source):
    source = change(admin_client, broken_source, name="Renamed Desk")
    assert (source.name, source.enabled, source.consecutive_errors) == ("Renamed Desk", False, 10)


def test_it_refuses_a_non_http_feed_url_in_the_admin(admin_client, broken_source):
    response = admin_client.post(reverse("admin:news_newssource_change", args=[broken_source.pk]),
                                 {"name": "x", "feed_url": "ftp://files.example/feed", "category": "forex"})
    assert response.status_code == 200
    assert "Enter a valid URL." in response.content.decode()


@pytest.mark.parametrize(("feed_url", "says"), [
    ("http://127.0.0.1:8001/feed.xml", "127.0.0.1 is a loopback address"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
    ("https://10.1.2.3/rss", "10.1.2.3 is a private address"),
    ("http://localhost/rss", "localhost resolves to 127.0.0.1, a loopback address"),
])
def test_it_refuses_a_feed_url_on_an_internal_address(admin_client, broken_source, settings, feed_url, says):
    settings.OUTBOUND_ALLOWED_NETWORKS = []
    response = admin_client.post(reverse("admin:news_newssource_change", args=[broken_source.pk]),
                                 {"name": "x", "feed_url": feed_url, "category": "forex"})
    assert response.status_code == 200
    assert says in response.context["adminform"].form.errors["feed_url"][0]
    broken_source.refresh_from_db()
    assert broken_source.feed_url == "https://broken.example/rss"


def test_it_sanitises_a_summary_edited_in_the_admin(admin_client, broken_source, redis_url):
    article = Article.objects.create(source=broken_source, guid="g", canonical_url="https://n.example/1",
                                     url="https://n.example/1", title="Gold", summary="<p>ok</p>",
                                     summary_text="ok", category="forex", categories="|forex|",
                                     published_at=NOW, first_seen_at=NOW)
    edited = ('<p onclick="steal()">Gold <script>alert(1)</script><img src="https://t.example/px.gif">'
              '<a href="javascript:alert(2)">up</a> <a href="/more">more</a></p>')
    response = admin_client.post(reverse("admin:news_article_change", args=[article.pk]), {
        "title": "<b>Gold</b> &amp; silver", "summary": edited, "category": "forex", "categories": "|forex|"})
    assert response.status_code == 302, response.content.decode()[:2000]

    article.refresh_from_db()
    assert article.summary == ('<p>Gold <a rel="noopener noreferrer nofollow">up</a> '
                               '<a href="https://n.example/more" rel="noopener noreferrer nofollow">more</a></p>')
    assert article.summary_text == "Gold up more"
    assert article.title == "Gold & silver"


@pytest.mark.parametrize("model", ["article", "newssource"])
def test_the_changelist_shows_foreign_keys_without_a_query_per_row(admin_client, no_default_sources, model):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def add(first: int, n: int) -> None:
        for i in range(first, first + n):
            source = NewsSource.objects.create(name=f"Desk {i}", feed_url=f"https://desk{i}.example/rss",
                                               category="forex")
            Article.objects.create(source=source, guid=f"g{i}", canonical_url=f"https://n.example/{i}",
                                   url=f"https://n.example/{i}", title=f"Story {i}", category="forex",
                                   categories="|forex|", published_at=NOW, first_seen_at=NOW)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(reverse(f"admin:news_{model}_changelist")).status_code == 200
        return len(captured)

    add(0, 1)
    one = queries()
    add(1, 19)
    assert queries() == one
