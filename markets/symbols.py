"""The one rule for a list of symbols a client asks for: `?symbols=` on /api/prices/ and on
/ws/prices/.

Comma-separated symbols in any case; spaces around them, empty items and repeats do not
matter, and a list with no symbol in it (an empty value) asks for every symbol. That is what
the OpenAPI schema of /api/prices/ publishes (an array whose items may be empty), so a client
joining a list with a hole in it gets what it listed. Unknown symbols are refused, every one
of them named with the known ones.
"""


class SymbolListError(ValueError):
    """A symbol list the client must fix. `code` is the WebSocket error frame's code."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def symbol_list_parse(value: str, *, known: list[str]) -> list[str] | None:
    """`XAUUSD,,btcusd` -> ["XAUUSD", "BTCUSD"]; None (every symbol) when it names none."""
    symbols = list(dict.fromkeys(item.strip().upper() for item in value.split(",") if item.strip()))
    unknown = [item for item in symbols if item not in known]
    if unknown:
        named = ", ".join(repr(item[:20]) for item in unknown[:10]) + (" ..." if len(unknown) > 10 else "")
        raise SymbolListError("unknown_symbol", f"unknown symbol{'s' if len(unknown) > 1 else ''} {named}; "
                                                f"known symbols: {', '.join(known)}")
    return symbols or None
