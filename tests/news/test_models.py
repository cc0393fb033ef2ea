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
