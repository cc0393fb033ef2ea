"""Parsing of WebSocket query strings: every bad input becomes a QueryError with a clear message."""

from urllib.parse import parse_qs

from markets.symbols import SymbolListError, symbol_list_parse


class QueryError(ValueError):
    """A query string the client must fix; sent back as an error frame, then close code 4400."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def query_parse(raw: bytes, *, allowed: set[str]) -> dict[str, str]:
    """The query string as {name: value}, refusing unknown, repeated or undecodable parameters."""
    try:
        text = raw.decode("ascii")
        params = parse_qs(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict",
                          max_num_fields=10)
    except UnicodeDecodeError:
        raise QueryError("bad_query", "the query string is not valid percent-encoded UTF-8") from None
    except ValueError as exc:
        raise QueryError("bad_query", f"the query string is malformed ({exc})") from None
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise QueryError("bad_query", f"unknown parameter {unknown[0]!r}; allowed: {', '.join(sorted(allowed))}")
    repeated = sorted(name for name, values in params.items() if len(values) > 1)
    if repeated:
        raise QueryError("bad_query", f"parameter {repeated[0]!r} is given more than once")
    return {name: values[0] for name, values in params.items()}


def symbols_parse(value: str, *, known: list[str]) -> list[str] | None:
    """?symbols= by the rule /api/prices/ follows too (markets.symbols); None: every symbol."""
    try:
        return symbol_list_parse(value, known=known)
    except SymbolListError as exc:
        raise QueryError(exc.code, exc.message) from None


def prediction_id_parse(value: str) -> int:
    if not value.isascii() or not value.isdigit() or int(value) < 1 or len(value) > 18:
        raise QueryError("bad_id", f"id must be a positive whole number (a prediction id), not {value!r}")
    return int(value)
