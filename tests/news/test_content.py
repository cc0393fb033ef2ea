from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from news.content import canonical_url, categories_for, plain_text, sanitize_summary, summary_cleaner

BASE = "https://feeds.example/rss/news"
CLEANER = summary_cleaner(base=BASE)


@pytest.mark.parametrize("link, expected", [
    ("https://Example.COM/a/b?id=1#frag", "https://example.com/a/b?id=1"),
    ("HTTPS://example.com:443/a", "https://example.com/a"),
    ("http://example.com:80/a", "http://example.com/a"),
    ("http://example.com:8080/a", "http://example.com:8080/a"),
    ("https://example.com", "https://example.com/"),
    ("https://example.com/a?utm_source=rss&utm_medium=feed&utm_campaign=x&id=1", "https://example.com/a?id=1"),
    ("https://example.com/a?UTM_Source=rss&id=1", "https://example.com/a?id=1"),
    ("https://example.com/a?fbclid=abc&gclid=def&msclkid=g&id=1", "https://example.com/a?id=1"),
    ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
    ("https://example.com/a?flag&id=1", "https://example.com/a?flag=&id=1"),
    ("/stories/1?utm_source=rss", "https://feeds.example/stories/1"),
    ("stories/1", "https://feeds.example/rss/stories/1"),
    ("//cdn.example/x", "https://cdn.example/x"),
    ("  https://example.com/spaces  ", "https://example.com/spaces"),
])
def test_it_canonicalises_links(link, expected):
    assert canonical_url(link, base=BASE) == expected


def test_it_drops_marketwatch_tracking_only_on_marketwatch():
    mw = "http://www.marketwatch.com/news/story.asp?guid=%7B20C0%7D&siteid=rss&rss=1"
    assert canonical_url(mw, base=BASE) == "http://www.marketwatch.com/news/story.asp?guid=%7B20C0%7D"
    # Elsewhere `rss` may be meaningful: kept.
    assert canonical_url("https://other.example/p?rss=1", base=BASE) == "https://other.example/p?rss=1"


@pytest.mark.parametrize("link", [
    "", "   ", "javascript:alert(1)", "mailto:desk@example.com", "ftp://example.com/feed",
    "data:text/html,<script>alert(1)</script>", "http://", "https://example.com:99999/x", "http://[::1/x",
])
def test_it_refuses_links_that_are_not_http(link):
    assert canonical_url(link, base=BASE) is None


def test_it_makes_titles_plain_text():
    assert plain_text("<b>Gold</b> &amp; <i>silver</i>\n  rally<script>alert(1)</script>", limit=100) == \
        "Gold & silver rally"
    assert plain_text("A" * 600, limit=500) == "A" * 500
    assert plain_text("", limit=10) == ""


def test_it_sanitises_summaries():
    dirty = ('<p onclick="x()">Up <b>1%</b></p><script>alert(1)</script><a href="javascript:alert(2)">j</a>'
             '<a href="https://ok.example/" onmouseover="y()">ok</a><img src="https://t.example/p.gif">'
             '<iframe src="https://evil.example/"></iframe><style>p{}</style>')
    clean = sanitize_summary(dirty, cleaner=CLEANER)
    assert clean.startswith("<p>Up <b>1%</b></p>")
    for bad in ("script", "alert(1)", "javascript:", "onclick", "onmouseover", "<img", "iframe", "style"):
        assert bad not in clean
    assert '<a href="https://ok.example/" rel="noopener noreferrer nofollow">ok</a>' in clean


def test_it_keeps_summaries_within_the_limit_and_well_formed():
    clean = sanitize_summary("<p>" + "<b>word</b> " * 2000 + "</p>", cleaner=CLEANER, limit=1000)
    assert len(clean) <= 1100
    assert clean.count("<b>") == clean.count("</b>")


def test_it_drops_links_left_empty_by_removed_images():
    assert sanitize_summary('Text <a href="https://share.example/"><img src="x.gif"></a>', cleaner=CLEANER) == "Text"


@pytest.mark.parametrize("text, expected", [
    ("Gold hits a record", ["markets", "precious_metals"]),
    ("Silver and platinum slide", ["markets", "precious_metals"]),
    ("EUR/USD steadies after ECB", ["markets", "forex"]),
    ("Dollar slips as gold climbs", ["markets", "precious_metals", "forex"]),
    ("Goldman Sachs upgrades golden-era retailer", ["markets"]),
    ("Tech stocks close higher", ["markets"]),
])
def test_it_refines_categories_by_keyword(text, expected):
    assert categories_for(source_category="markets", text=text) == expected


def test_it_keeps_the_source_category_first_and_once():
    assert categories_for(source_category="precious_metals", text="Gold and the dollar") == \
        ["precious_metals", "forex"]


def test_it_resolves_relative_links_in_summaries_against_the_feed():
    clean = sanitize_summary('<a href="/markets/1">a</a> <a href="more">b</a> <a href="//cdn.example/c">c</a>',
                             cleaner=CLEANER)
    assert clean == ('<a href="https://feeds.example/markets/1" rel="noopener noreferrer nofollow">a</a> '
                     '<a href="https://feeds.example/rss/more" rel="noopener noreferrer nofollow">b</a> '
                     '<a href="https://cdn.example/c" rel="noopener noreferrer nofollow">c</a>')

params = st.lists(st.tuples(st.sampled_from(["id", "utm_source", "utm_x", "fbclid", "gclid", "q", "p", "siteid"]),
                            st.text(alphabet="abc123-_", max_size=5)), max_size=5)


# No example database: it would be one more untracked directory in the work tree.
@settings(database=None)
@given(scheme=st.sampled_from(["http", "https", "HTTP", "Https"]),
       host=st.sampled_from(["example.com", "EXAMPLE.com", "www.marketwatch.com", "a.b.example"]),
       path=st.text(alphabet="abc/-_.%", max_size=20), query=params, fragment=st.text(alphabet="abc", max_size=5))
def test_it_canonicalises_to_a_fixed_point_without_tracking(scheme, host, path, query, fragment):
    link = f"{scheme}://{host}/{path}?{urlencode(query)}#{fragment}"
    canonical = canonical_url(link, base=BASE)
    assert canonical is not None
    assert canonical_url(canonical, base=BASE) == canonical
    parts = urlsplit(canonical)
    assert parts.scheme in {"http", "https"} and parts.netloc == host.lower() and not parts.fragment
    keys = {key for key, _ in parse_qsl(parts.query, keep_blank_values=True)}
    assert not keys & {"utm_source", "utm_x", "fbclid", "gclid"}
    assert ("siteid" in keys) == (any(k == "siteid" for k, _ in query) and "marketwatch" not in host)


def test_it_keeps_words_apart_where_blocks_end():
    assert plain_text("<p>One.</p><p>Two<br>three</p><ul><li>a</li><li>b</li></ul>", limit=100) == \
        "One. Two three a b"
    assert plain_text("Gold <b>jumps</b>, sil<i>ver</i>", limit=100) == "Gold jumps, silver"
