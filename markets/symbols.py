"""The one rule for a list of symbols a client asks for: `?symbols=` on /api/prices/ and on
/ws/prices/.

An empty value asks for no filter (every symbol), as an empty value does for every query
parameter of the API. Otherwise the value is comma-separated symbols in any case, with spaces
around them ignored and a repeated one taken once. Refused, each with a message that says
why: an empty item (`XAUUSD,,BTCUSD`, a trailing comma, a lone space: usually a client joining
a list with a hole in it, which must not quietly ask for fewer prices) and unknown symbols,
every one of them named with the known ones.
"""


class SymbolListError(ValueError):
    """A symbol list the client must fix. `code` is the WebSocket error frame's code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def symbol_list_parse(value: str, *, known: list[str]) -> list[str] | None:
    """`XAUUSD,btcusd` -> ["XAUUSD", "BTCUSD"]; "" -> None (every symbol); see the module's rule."""
    if value == "":
        return None
    symbols = [item.strip().upper() for item in value.split(",")]
    if not all(symbols):
        raise SymbolListError("bad_symbols", f"symbols must be a comma-separated list without empty items, "
                                             f"such as symbols=XAUUSD,BTCUSD (got {value[:100]!r})")
    unknown = list(dict.fromkeys(item for item in symbols if item not in known))
    if unknown:
        named = ", ".join(repr(item[:20]) for item in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise SymbolListError("unknown_symbol", f"unknown symbol{'s' if len(unknown) > 1 else ''} {named}; "
                                                f"known symbols: {', '.join(known)}")
    return list(dict.fromkeys(symbols))
