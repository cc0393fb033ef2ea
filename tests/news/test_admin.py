from datetime import timedelta

import pytest
from django.urls import reverse

from news.cache import news_cache_version
from news.models import Article, NewsSource
from tests.news.conftest import NOW

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
