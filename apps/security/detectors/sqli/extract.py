"""Find the values nested inside one value: JSON strings, XML attributes and text, query strings.

A payload is often not the whole parameter but one field of a structure the application
parses later (a JSON body in a form field, an XML document, a forwarded query string). Each
nested value is analysed on its own, so that the structure's own quotes and brackets do not
hide it. Work is bounded: at most MAX_NESTED values (MAX_JSON_STRINGS of a JSON document, whose
strings then stand for it), each nesting level at most MAX_DEPTH deep.
"""

import re
from collections.abc import Iterator
from typing import Any

import orjson

MAX_NESTED = 16
MAX_JSON_STRINGS = 64  # a JSON document's strings are short, and all of them are wanted
MAX_DEPTH = 8

# A name starts where no name character stands before it, and is taken whole (possessive):
# trying every tail of every word of a long text would cost time quadratic in its length.
_XML_ATTRIBUTE = re.compile(r"""(?<![\w:.-])[\w:.-]++\s*=\s*(?:"([^"]*)"|'([^']*)')""")
_XML_TEXT = re.compile(r">([^<]+)<")
# A value runs to the next `&key=`: a lone `&` or `&&` inside it is part of the value.
# (Written so that the engine skips along in C: a class first, a loop unrolled into runs.)
_QUERY_PAIR = r"[\w.\[\]$@-]+=(?!=)([^&]*(?:&(?![\w.\[\]$@-]+=)[^&]*)*)"
_QUERY_FIRST = re.compile(_QUERY_PAIR)
_QUERY_NEXT = re.compile(r"[?&;]" + _QUERY_PAIR)
_QUERY_START = re.compile(r"[\w.\[\]$-]+=(?!=)")  # name=value, not name==value
_QUERY_AFTER_MARK = re.compile(r"\?[\w.\[\]$-]+=(?!=)")


def json_strings(document: Any) -> list[str]:
    """Return the keys and string leaves of a parsed JSON document, depth first, at most
    MAX_DEPTH levels down."""
    found: list[str] = []
    stack: list[tuple[Any, int]] = [(document, 0)]  # a stack, not recursion: far fewer calls
    while stack:
        value, depth = stack.pop()
        if isinstance(value, str):
            found.append(value)
        elif depth >= MAX_DEPTH:
            continue
        elif isinstance(value, dict):
            for key, item in reversed(value.items()):
                stack.append((item, depth + 1))
                stack.append((str(key), depth + 1))
        elif isinstance(value, list):
            stack.extend((item, depth + 1) for item in reversed(value))
    return found


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


def _structured_values(value: str) -> Iterator[str]:
    """Yield the XML and query-string values nested in `value`, duplicates and blanks
    included."""
    if "<" in value and "=" in value:
        yield from _xml_values(value)
    if "=" in value and _looks_like_query(value):
        first = _QUERY_FIRST.match(value)
        if first:
            yield first.group(1)
        for match in _QUERY_NEXT.finditer(value, first.end() if first else 0):
            yield match.group(1)


def _looks_like_query(value: str) -> bool:
    """Whether `value` starts as `name=…` or holds a `?name=` (a URL with a query)."""
    if _QUERY_START.match(value):
        return True
    return "?" in value and bool(_QUERY_AFTER_MARK.search(value))


def nested_values(value: str) -> list[str]:
    """Return the distinct non-blank values nested inside `value` (see nested_strings)."""
    return nested_strings(value)[0]


def nested_strings(value: str) -> tuple[list[str], bool]:
    """Return the distinct non-blank values nested inside `value`, and whether `value` is a
    JSON document all of whose keys and strings are among them.

    At most MAX_NESTED values, or MAX_JSON_STRINGS when `value` is a JSON document.
    """
    document = parse_json(value)
    found: list[str] = []
    if document is not None:
        strings = [
            s for s in dict.fromkeys(filter(str.strip, json_strings(document))) if s != value
        ]
        if len(strings) > MAX_JSON_STRINGS:
            return strings[:MAX_JSON_STRINGS], False
        found = strings
        _collect(found, _structured_values(value), value, MAX_JSON_STRINGS)
        return found, True
    _collect(found, _structured_values(value), value, MAX_NESTED)
    return found, False


def _collect(found: list[str], candidates: Iterator[str], value: str, limit: int) -> None:
    """Append candidates that are new, non-blank and not `value` itself, up to `limit`."""
    if len(found) >= limit:
        return
    seen = {value, *found}
    for candidate in candidates:
        if candidate not in seen and not candidate.isspace() and candidate:
            seen.add(candidate)
            found.append(candidate)
            if len(found) >= limit:
                return
