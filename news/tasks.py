from datetime import datetime

from news.client import FeedClient
from news.services import news_fetch


def fetch_news(*, now: datetime) -> str:
    """The news_fetcher job: one fetch cycle over the due sources."""
    client = FeedClient.from_settings()
    try:
        return str(news_fetch(client=client, now=now))
    finally:
        client.close()
