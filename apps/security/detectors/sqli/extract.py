"""Find the values nested inside one value: JSON strings, XML attributes and text, query strings.

A payload is often not the whole parameter but one field of a structure the application
parses later (a JSON body in a form field, an XML document, a forwarded query string). Each
nested value is analysed on its own, so that the structure's own quotes and brackets do not
hide it. Work is bounded: at most MAX_NESTED values (MAX_JSON_STRINGS of a JSON document, whose
strings then stand for it), each nesting level at most MAX_DEPTH deep.
"""

import re
from typing import Any

import orjson

from . import native
from .lexer import GLUED_KEYWORDS, WORD_KIND
from .sample import LONG_CHARS

MAX_NESTED = 16
MAX_JSON_STRINGS = 64  # a JSON document's strings are short, and all of them are wanted
MAX_DEPTH = 8
NESTED_HEAD_CHARS = 128  # what is analysed of a long query or XML value on its own: its start

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
    if isinstance(document, str):
        return [document]
    found: list[str] = []
    if isinstance(document, dict | list) and MAX_DEPTH > 0:
        _add_strings(document, 1, found)
    return found


def _add_strings(container: dict[Any, Any] | list[Any], depth: int, found: list[str]) -> None:
    """Append the keys and strings of a JSON object or array whose items are `depth` levels
    down, and those of the objects and arrays among them that are not too deep.
    (One call per container, not per item: JSON documents are mostly leaves.)"""
    if isinstance(container, dict):
        for key, item in container.items():
            found.append(str(key))
            if isinstance(item, str):
                found.append(item)
            elif depth < MAX_DEPTH and isinstance(item, dict | list):
                _add_strings(item, depth + 1, found)
        return
    for item in container:
        if isinstance(item, str):
            found.append(item)
        elif depth < MAX_DEPTH and isinstance(item, dict | list):
            _add_strings(item, depth + 1, found)


def parse_json(value: str) -> Any:
    """Parse `value` when it looks like a JSON object or array; None otherwise."""
    head = value.lstrip()[:1]
    if head not in ("{", "[") or not value.rstrip().endswith(("}", "]")):
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None


def _xml_values(value: str) -> list[str]:
    """The attribute values, then the text nodes, of an XML or HTML snippet."""
    # One of the two groups of an attribute matched, the other one is empty.
    attributes = [double or single for double, single in _XML_ATTRIBUTE.findall(value)]
    return attributes + _XML_TEXT.findall(value)


def _structured_values(value: str) -> list[str]:
    """The XML and query-string values nested in `value`, duplicates and blanks included.
    (findall: the groups are taken out in C, not one Python call per match.)"""
    found = []
    if "<" in value and "=" in value:
        found = _xml_values(value)
    if "=" in value and _looks_like_query(value):
        first = _QUERY_FIRST.match(value)
        if first:
            found.append(first.group(1))
        found += _QUERY_NEXT.findall(value, first.end() if first else 0)
    return found


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
    if GATES is not None:
        found: tuple[list[str], bool] | None = GATES.nested_strings(value)
        if found is not None:
            return found
    return _nested_strings_python(value)


def _nested_strings_python(value: str) -> tuple[list[str], bool]:
    """nested_strings in Python: the reference of the native one, and what runs where that
    one declines (a value with characters beyond Latin-1)."""
    document = parse_json(value)
    found: list[str] = []
    if document is not None:
        strings = [
            s for s in dict.fromkeys(filter(str.strip, json_strings(document))) if s != value
        ]
        if len(strings) > MAX_JSON_STRINGS:
            return strings[:MAX_JSON_STRINGS], False
        found = strings
        # Its query and XML values are stretches of its strings, each of which is analysed
        # whole: what is new in a long one is only that a query may start where it starts.
        heads = [
            part[:NESTED_HEAD_CHARS] if len(part) > LONG_CHARS else part
            for part in _structured_values(value)
        ]
        _collect(found, heads, value, MAX_JSON_STRINGS)
        return found, True
    _collect(found, _structured_values(value), value, MAX_NESTED)
    return found, False


def _collect(found: list[str], candidates: list[str], value: str, limit: int) -> None:
    """Append candidates that are new, non-blank and not `value` itself, up to `limit`."""
    if len(found) >= limit:
        return
    seen = {value, *found}
    new = [each for each in dict.fromkeys(filter(str.strip, candidates)) if each not in seen]
    found.extend(new[: limit - len(found)])


# The compiled gates (native/gates.c): nested_strings here, and score's _sqlish and
# _worth_analysing, exact ports that answer None where they decline an input. Configured here,
# once, with the data they need: score.py, which imports this module, uses the same module.
GATES = native.load("gates")
if GATES is not None:
    GATES.configure(
        words=WORD_KIND,
        glued_keywords=GLUED_KEYWORDS,
        max_nested=MAX_NESTED,
        max_json_strings=MAX_JSON_STRINGS,
        max_depth=MAX_DEPTH,
        nested_head_chars=NESTED_HEAD_CHARS,
        long_chars=LONG_CHARS,
        loads=orjson.loads,
        decode_error=orjson.JSONDecodeError,
    )
