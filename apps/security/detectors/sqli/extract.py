"""Find the values nested inside one value: JSON strings, XML attributes and text, query strings.

A payload is often not the whole parameter but one field of a structure the application
parses later (a JSON body in a form field, an XML document, a forwarded query string). Each
nested value is analysed on its own, so that the structure's own quotes and brackets do not
hide it. Work is bounded: at most MAX_NESTED values, each nesting level at most MAX_DEPTH deep.
"""

import re
from collections.abc import Iterator
from typing import Any

import orjson

MAX_NESTED = 16
MAX_DEPTH = 8

_XML_ATTRIBUTE = re.compile(r"""[\w:.-]+\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_XML_TEXT = re.compile(r">([^<]+)<")
# A value runs to the next `&key=`: a lone `&` or `&&` inside it is part of the value.
_QUERY_VALUE = re.compile(r"(?:^|[?&;])[\w.\[\]$@-]+=(?!=)((?:[^&]|&(?![\w.\[\]$@-]+=))*)")
_QUERY_START = re.compile(r"[\w.\[\]$-]+=(?!=)")  # name=value, not name==value
_QUERY_AFTER_MARK = re.compile(r"\?[\w.\[\]$-]+=(?!=)")


def json_strings(value: Any, depth: int = 0) -> Iterator[str]:
    """Yield the keys and string leaves of a parsed JSON document, depth first."""
    if isinstance(value, str):
        yield value
    elif depth >= MAX_DEPTH:
        return
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from json_strings(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item, depth + 1)


def parse_json(value: str) -> Any:
    """Parse `value` when it looks like a JSON object or array; None otherwise."""
    head = value.lstrip()[:1]
    if head not in ("{", "[") or not value.rstrip().endswith(("}", "]")):
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None


def _xml_values(value: str) -> Iterator[str]:
    """Yield the attribute values, then the text nodes, of an XML or HTML snippet."""
    for match in _XML_ATTRIBUTE.finditer(value):
        yield match.group(1) if match.group(1) is not None else match.group(2)
    for match in _XML_TEXT.finditer(value):
        yield match.group(1)


def _candidates(value: str) -> Iterator[str]:
    """Yield every value nested in `value`, duplicates and blanks included."""
    document = parse_json(value)
    if document is not None:
        yield from json_strings(document)
    if "<" in value and "=" in value:
        yield from _xml_values(value)
    if "=" in value and _looks_like_query(value):
        for match in _QUERY_VALUE.finditer(value):
            yield match.group(1)


def _looks_like_query(value: str) -> bool:
    """Whether `value` starts as `name=…` or holds a `?name=` (a URL with a query)."""
    if _QUERY_START.match(value):
        return True
    return "?" in value and bool(_QUERY_AFTER_MARK.search(value))


def nested_values(value: str) -> list[str]:
    """Return up to MAX_NESTED distinct non-blank values nested inside `value`."""
    found: list[str] = []
    for candidate in _candidates(value):
        if candidate.strip() and candidate != value and candidate not in found:
            found.append(candidate)
            if len(found) >= MAX_NESTED:
                break
    return found
