import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction

from news.client import FeedClient
from news.models import Article, NewsSource
from news.services import news_fetch
from tests.news.feeds import NOW, fixture_bytes, serve

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_it_never_duplicates_articles_across_two_concurrent_runs(postgres, httpserver):
    NewsSource.objects.all().delete()
    for path, name in (("/fx", "duplicates_within.xml"), ("/syn", "duplicates_across.xml"),
                       ("/tracked", "tracking_variants.xml"), ("/metals", "malformed_truncated.xml")):
        serve(httpserver, path, fixture_bytes(name))
        NewsSource.objects.create(name=path, feed_url=httpserver.url_for(path), category="markets")
    results, errors = {}, []
    first_inserted = threading.Event()

    def run(label, now, hold_open):
        client = FeedClient(connect_timeout=2, read_timeout=5, max_bytes=1024 * 1024, user_agent="t")
        try:
            with transaction.atomic():
                results[label] = news_fetch(client=client, now=now)
                if hold_open:
                    # The rows are inserted but not committed: the other run's insert of the
                    # same keys must wait for this commit and then skip them.
                    first_inserted.set()
                    threading.Event().wait(0.5)
        except Exception as exc:
            errors.append(exc)
        finally:
            first_inserted.set()
            client.close()
            connection.close()

    holder = threading.Thread(target=run, args=("a", NOW, True))
    holder.start()
    first_inserted.wait(10)
    other = threading.Thread(target=run, args=("b", NOW + timedelta(microseconds=1), False))
    other.start()
    holder.join(30)
    other.join(30)

    assert errors == []
    stored = Article.objects.count()
    assert stored == 7  # 2 + 2 + 2 + 2 less the story both /fx and /syn carry
    assert Article.objects.values("canonical_url").distinct().count() == stored
    # Each article was counted as new by exactly one of the runs.
    assert results["a"].new_articles + results["b"].new_articles == stored
    assert results["b"].new_articles == 0
