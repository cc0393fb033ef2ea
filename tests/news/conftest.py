from datetime import UTC, datetime
from pathlib import Path

import pytest

from news.client import FeedClient
from news.models import Category, NewsSource

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "news"
# The edge-case feeds are dated 29 Nov 2026 08:00 UTC and earlier.
NOW = datetime(2026, 11, 29, 9, 0, tzinfo=UTC)
RSS = "application/rss+xml; charset=utf-8"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


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


def serve(httpserver, path: str, body: bytes, *, content_type: str = RSS, headers: dict | None = None,
          status: int = 200):
    httpserver.expect_request(path).respond_with_data(body, status=status, content_type=content_type,
                                                      headers=headers or {})
