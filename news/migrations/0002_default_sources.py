"""The default feeds (see docs/news.md). Operators edit, disable or add sources in the admin."""

from django.db import migrations

DEFAULT_SOURCES = [
    # (name, feed URL, category)
    ("Mining.com", "https://www.mining.com/feed/", "precious_metals"),
    ("FXStreet", "https://www.fxstreet.com/rss/news", "forex"),
    ("MarketWatch Top Stories", "https://feeds.content.dowjones.io/public/rss/mw_topstories", "markets"),
    ("CNBC Top News", "https://www.cnbc.com/id/100003114/device/rss/rss.html", "markets"),
    ("Yahoo Finance", "https://finance.yahoo.com/news/rssindex", "markets"),
]


def create_sources(apps, schema_editor):
    NewsSource = apps.get_model("news", "NewsSource")
    for name, url, category in DEFAULT_SOURCES:
        # An operator may have added the same feed already: leave theirs alone.
        if not NewsSource.objects.filter(feed_url=url).exists():
            NewsSource.objects.get_or_create(name=name, defaults={"feed_url": url, "category": category})


def remove_sources(apps, schema_editor):
    NewsSource = apps.get_model("news", "NewsSource")
    NewsSource.objects.filter(feed_url__in=[url for _, url, _ in DEFAULT_SOURCES]).delete()


class Migration(migrations.Migration):
    dependencies = [("news", "0001_initial")]

    operations = [migrations.RunPython(create_sources, remove_sources)]
