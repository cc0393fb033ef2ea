import pytest

from news.models import Article, Category, NewsSource

pytestmark = pytest.mark.django_db


def test_it_creates_the_default_feeds_with_every_category_covered():
    sources = list(NewsSource.objects.values_list("name", "feed_url", "category", "enabled"))
    assert len(sources) == 5
    assert {category for _, _, category, _ in sources} == set(Category.values)
    assert all(url.startswith("https://") and enabled for _, url, _, enabled in sources)
    assert ("FXStreet", "https://www.fxstreet.com/rss/news", "forex", True) in sources


def test_it_encodes_categories_for_filtering():
    encoded = Article.encode_categories(["markets", "precious_metals", "markets"])
    assert encoded == "|markets|precious_metals|"
    assert Article(categories=encoded).category_list == ["markets", "precious_metals"]


def test_it_refuses_feed_urls_that_are_not_http():
    from django.core.exceptions import ValidationError

    source = NewsSource(name="ftp", feed_url="ftp://files.example/feed.xml", category="markets")
    with pytest.raises(ValidationError) as error:
        source.full_clean()
    assert "feed_url" in error.value.message_dict


def test_it_exports_source_states_and_article_count(client):
    NewsSource.objects.filter(category="forex").update(consecutive_errors=2)
    NewsSource.objects.filter(category="precious_metals").update(enabled=False)
    text = client.get("/metrics").content.decode()
    assert 'goldsocial_news_sources{state="ok"} 3.0' in text
    assert 'goldsocial_news_sources{state="failing"} 1.0' in text
    assert 'goldsocial_news_sources{state="disabled"} 1.0' in text
    assert "goldsocial_news_articles 0.0" in text
