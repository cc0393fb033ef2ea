import pytest

from news.client import FeedClient
from news.models import Category, NewsSource


@pytest.fixture
def feed_client():
    client = FeedClient(connect_timeout=2, read_timeout=2, max_bytes=1024 * 1024, user_agent="goldsocial-tests")
    yield client
    client.close()


@pytest.fixture
def no_default_sources(db):
    """The data migration's real feeds must never be fetched from a test."""
    NewsSource.objects.all().delete()


@pytest.fixture
def make_source(no_default_sources, httpserver):
    def make(path: str, *, category: str = Category.MARKETS, name: str | None = None, **fields) -> NewsSource:
        return NewsSource.objects.create(name=name or path, feed_url=httpserver.url_for(path),
                                         category=category, **fields)

    return make
