import pytest

from realtime.query import QueryError, prediction_id_parse, query_parse, symbols_parse

KNOWN = ["XAUUSD", "XAGUSD", "BTCUSD"]


def test_it_parses_a_query_string():
    assert query_parse(b"symbols=XAUUSD%2CBTCUSD", allowed={"symbols"}) == {"symbols": "XAUUSD,BTCUSD"}


def test_it_accepts_an_empty_query_string():
    assert query_parse(b"", allowed={"symbols"}) == {}


@pytest.mark.parametrize("raw", [
    b"foo=1",                      # unknown parameter
    b"symbols=A&symbols=B",        # repeated
    b"symbols=%ff",                # percent-escape that is not UTF-8
    b"symbols=\xff",               # raw byte that is not ASCII
    b"symbols",                    # no "="
    b"symbols=A&&x",               # empty field
    b"&".join([b"a=1"] * 20),      # too many fields
])
def test_it_refuses_a_malformed_query_string(raw):
    with pytest.raises(QueryError) as info:
        query_parse(raw, allowed={"symbols"})
    assert info.value.code == "bad_query"


def test_it_normalises_symbols():
    assert symbols_parse("xauusd, BTCUSD,XAUUSD", known=KNOWN) == ["XAUUSD", "BTCUSD"]


@pytest.mark.parametrize("value", ["", " ", ","])
def test_it_reads_a_symbols_list_without_a_symbol_as_every_symbol(value):
    assert symbols_parse(value, known=KNOWN) is None


@pytest.mark.parametrize(("value", "code"), [
    ("DOGEUSD", "unknown_symbol"), ("XAUUSD,EURUSD", "unknown_symbol"), ("XAUUSD,,doge,", "unknown_symbol"),
])
def test_it_refuses_bad_symbols(value, code):
    with pytest.raises(QueryError) as info:
        symbols_parse(value, known=KNOWN)
    assert info.value.code == code


def test_it_names_the_unknown_symbol_and_the_known_ones():
    with pytest.raises(QueryError) as info:
        symbols_parse("XAUUSD,DOGE", known=KNOWN)
    assert "'DOGE'" in info.value.message
    assert "XAUUSD, XAGUSD, BTCUSD" in info.value.message


def test_it_parses_a_prediction_id():
    assert prediction_id_parse("12") == 12


@pytest.mark.parametrize("value", ["", "0", "-1", "1.5", "abc", " 1", "\u0661\u0662", "9" * 19])
def test_it_refuses_a_bad_prediction_id(value):
    with pytest.raises(QueryError) as info:
        prediction_id_parse(value)
    assert info.value.code == "bad_id"
