"""The one rule for ?symbols= (markets/symbols.py); each endpoint's answers to it are tested with
that endpoint (tests/markets/test_views.py, tests/realtime/test_prices.py)."""

import pytest

from markets.symbols import SymbolListError, symbol_list_parse

KNOWN = ["XAUUSD", "XAGUSD", "BTCUSD"]


def test_it_reads_symbols_in_any_case_with_spaces_around_them():
    assert symbol_list_parse("xauusd, BTCUSD ", known=KNOWN) == ["XAUUSD", "BTCUSD"]


def test_it_takes_a_repeated_symbol_once_in_its_first_place():
    assert symbol_list_parse("BTCUSD,XAUUSD,btcusd", known=KNOWN) == ["BTCUSD", "XAUUSD"]


@pytest.mark.parametrize("value", ["XAUUSD,,BTCUSD", ",XAUUSD, ,BTCUSD,"])
def test_it_ignores_empty_items(value):
    assert symbol_list_parse(value, known=KNOWN) == ["XAUUSD", "BTCUSD"]


@pytest.mark.parametrize("value", ["", " ", ",", " , ,"])
def test_it_reads_a_list_without_a_symbol_as_every_symbol(value):
    assert symbol_list_parse(value, known=KNOWN) is None


def test_it_names_the_unknown_symbol_and_the_known_ones():
    with pytest.raises(SymbolListError) as info:
        symbol_list_parse("XAUUSD,doge", known=KNOWN)
    assert info.value.code == "unknown_symbol"
    assert info.value.message == "unknown symbol 'DOGE'; known symbols: XAUUSD, XAGUSD, BTCUSD"


def test_it_names_every_unknown_symbol_once():
    with pytest.raises(SymbolListError) as info:
        symbol_list_parse("DOGE,XAUUSD,EURUSD,doge", known=KNOWN)
    assert info.value.message.startswith("unknown symbols 'DOGE', 'EURUSD'; ")


def test_it_bounds_what_it_quotes_of_a_long_list():
    with pytest.raises(SymbolListError) as info:
        symbol_list_parse(",".join(f"X{i}" * 50 for i in range(100)), known=KNOWN)
    assert len(info.value.message) < 400
