"""Checks of WebSocket messages against the wire protocol's schemas (realtime/events.py)."""

import jsonschema

from realtime.events import SCHEMAS


def assert_valid_message(message: dict) -> None:
    assert message["type"] in SCHEMAS, f"no schema for {message['type']!r}"
    jsonschema.validate(message, SCHEMAS[message["type"]], format_checker=jsonschema.FormatChecker())
