from datetime import UTC, datetime, timedelta

import pytest

from news.parsing import parse_feed
from tests.news.feeds import NOW, RSS, fixture_bytes

URL = "https://feeds.example/rss"


def parse(name, *, content_type=RSS, category="markets", now=NOW, **kwargs):
    kwargs.setdefault("max_entries", 200)
    return parse_feed(fixture_bytes(name), url=URL, content_type=content_type, source_category=category,
                      now=now, **kwargs)


def test_it_reads_the_recorded_marketwatch_feed():
    feed = parse("marketwatch_topstories_feedburner_recorded-2021-07-06.xml",
                 now=datetime(2021, 7, 7, tzinfo=UTC))
    assert feed.problems == [] and not feed.unusable
    assert len(feed.entries) == 4
    first = feed.entries[0]
    assert first.guid == "{20C05575-04D4-B545-74FF-9518595F2274}"
    # siteid=rss&rss=1 is MarketWatch's tracking, the guid parameter is the story.
    assert first.canonical_url == \
        "http://www.marketwatch.com/news/story.asp?guid=%7B20C05575-04D4-B545-74FF-9518595F2274%7D"
    assert "siteid=rss" in first.url
    assert first.published_at == datetime(2021, 7, 6, 22, 18, tzinfo=UTC)
    # The feedflare share buttons (images in links) leave nothing behind.
    assert "<img" not in first.summary and "feeds.marketwatch.com/~ff" not in first.summary
    assert first.summary.startswith("U.S. asset managers Franklin Templeton")


def test_it_reads_the_recorded_fxstreet_feed_with_its_military_zone():
    feed = parse("fxstreet_rss-news_traced-from-live-2026-07-01_1-item.xml", category="forex",
                 now=datetime(2026, 7, 2, tzinfo=UTC))
    [entry] = feed.entries
    assert entry.title == "Thailand: Stable conditions support Thai Baht \u2013 Commerzbank"
    assert entry.published_at == datetime(2026, 7, 1, 19, 22, tzinfo=UTC)
    assert entry.guid == "d52bdb89-3536-47c9-9ba1-e4e94bdf2254"
    assert entry.categories == ["forex"]


def test_it_keeps_what_a_malformed_feed_has_before_the_break():
    feed = parse("malformed_truncated.xml")
    assert [e.title for e in feed.entries] == ["Gold holds near record as dollar slips", "Silver & platinum rally"]
    assert not feed.unusable
    assert feed.problems[0].startswith("feed partly broken, kept what could be read: SAXParseException")


def test_it_refuses_an_html_page():
    feed = parse("html_page.html", content_type="text/html; charset=utf-8")
    assert feed.unusable and feed.entries == []
    assert feed.problems[0].startswith("not a feed (an HTML page)")


@pytest.mark.parametrize("body, what", [(b"", "empty"), (b"   \n", "empty"), (b"\x00\xff\xfe garbage", "not RSS"),
                                        (b'{"items": []}', "not RSS")])
def test_it_refuses_documents_that_are_not_feeds(body, what):
    feed = parse_feed(body, url=URL, content_type="", source_category="markets", now=NOW, max_entries=10)
    assert feed.unusable
    assert what in feed.problems[0]


def test_it_accepts_an_empty_feed_and_says_so():
    feed = parse("empty_channel.xml")
    assert (feed.entries, feed.unusable, feed.problems) == ([], False, ["the feed has no entries"])


def test_it_handles_entries_without_link_or_date():
    feed = parse("missing_link_and_date.xml")
    by_title = {e.title: e for e in feed.entries}
    assert set(by_title) == {"Permalink guid only", "Undated story", "Relative link story", "Date from the future"}
    assert by_title["Permalink guid only"].canonical_url == "https://sloppy.example/permalink-story"
    assert by_title["Undated story"].published_at == NOW
    assert by_title["Date from the future"].published_at == NOW
    # Relative to the feed's own URL, and without its tracking parameter; +0100 is UTC 06:00.
    assert by_title["Relative link story"].canonical_url == "https://feeds.example/stories/relative"
    assert by_title["Relative link story"].published_at == datetime(2026, 11, 29, 6, 0, tzinfo=UTC)
    assert feed.problems == ["2 entries without a usable http(s) link skipped",
                             "2 entries without a usable date dated when first seen"]


@pytest.mark.parametrize("name, content_type, title", [
    # The no-break space folds to a plain space in a plain-text title.
    ("latin1_declared.xml", "application/rss+xml", "Franken st\u00e4rker, Goldpreis bei 2 650 $"),
    # The HTTP header wins over the document's declaration (RFC 3023)...
    ("latin1_declared.xml", "text/xml; charset=iso-8859-1", "Franken st\u00e4rker, Goldpreis bei 2 650 $"),
    # ...and a server that sends no Content-Type at all still gets its declaration honoured.
    ("latin1_declared.xml", "", "Franken st\u00e4rker, Goldpreis bei 2 650 $"),
    ("utf8_declared_cp1252_bytes.xml", "application/rss+xml", "\u201cEuro\u201d at \u20ac1.05 \u2013 ECB"),
    ("utf8_declared_cp1252_bytes.xml", "text/xml", "\u201cEuro\u201d at \u20ac1.05 \u2013 ECB"),
    ("utf16_bom.xml", "application/xml", "\u65e5\u672c\u5186 yen \u2192 weaker"),
])
def test_it_decodes_mixed_encodings(name, content_type, title):
    feed = parse(name, content_type=content_type)
    assert [e.title for e in feed.entries] == [title]
    assert not any(p.startswith("feed partly broken") for p in feed.problems)


def test_it_strips_script_from_title_and_summary():
    [entry] = parse("script_injection.xml").entries
    assert entry.title == "Gold jumps & silver"
    assert entry.summary == ('<p>Bullion <b>up</b>.</p><a rel="noopener noreferrer nofollow">click</a> '
                             '<a href="https://hostile.example/more" rel="noopener noreferrer nofollow">more</a>')
    assert entry.categories == ["markets", "precious_metals"]


def test_it_canonicalises_tracking_variants_to_one_url():
    urls = [e.canonical_url for e in parse("tracking_variants.xml").entries]
    assert urls == ["https://tracked.example/markets/stocks-close?id=7"] * 3 + \
        ["https://tracked.example/markets/stocks-close?id=8"]


def test_it_reads_at_most_max_entries():
    feed = parse("tracking_variants.xml", max_entries=2)
    assert len(feed.entries) == 2
    assert feed.problems == ["4 entries, only the first 2 read"]


def test_it_skips_entries_older_than_the_horizon():
    feed = parse("duplicates_across.xml", oldest=NOW - timedelta(hours=3))
    assert [e.title for e in feed.entries] == ["Yen weakens"]  # Sterling firms is 04:00 UTC


def test_it_reads_atom_with_offsets_in_dates():
    feed = parse("duplicates_across.xml", category="forex")
    assert [(e.guid, e.published_at) for e in feed.entries] == [
        ("urn:syn:1", datetime(2026, 11, 29, 7, 0, tzinfo=UTC)),
        ("urn:syn:2", datetime(2026, 11, 29, 4, 0, tzinfo=UTC)),
    ]


def test_it_reads_a_feed_served_as_text_html_without_complaint():
    feed = parse("tracking_variants.xml", content_type="text/html; charset=utf-8")
    assert len(feed.entries) == 4
    assert feed.problems == []


def test_it_uses_atom_content_when_there_is_no_summary():
    body = (b'<feed xmlns="http://www.w3.org/2005/Atom"><title>t</title><id>urn:t</id>'
            b'<entry><title type="html">&lt;em&gt;Gold&lt;/em&gt; up</title><id>urn:1</id>'
            b'<link href="https://a.example/1"/><updated>2026-11-29T08:00:00Z</updated>'
            b'<content type="html">&lt;p&gt;Full &lt;a href="/x"&gt;story&lt;/a&gt;&lt;/p&gt;</content>'
            b'</entry></feed>')
    [entry] = parse_feed(body, url="https://a.example/atom", content_type="application/atom+xml",
                         source_category="markets", now=NOW, max_entries=10).entries
    assert entry.title == "Gold up"
    assert entry.summary == '<p>Full <a href="https://a.example/x" rel="noopener noreferrer nofollow">story</a></p>'
