"""The SQL-injection detector: score every string an event carries, report the worst one.

The scoring itself lives in the `sqli` package (normalise → lex → grammar → signatures);
this module walks an event's params (names and values, nested dicts and lists, strings that
are JSON documents) and its endpoint's query string, within fixed bounds of work.
"""

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import parse_qsl

from .base import IP, USER, Detection, Event
from .sqli import name_confidence, sqli_confidence
from .sqli.extract import parse_json

__all__ = ["SqlInjectionDetector", "sqli_confidence"]

MIN_CONFIDENCE = 0.3  # below the lowest severity: not worth a detection
MAX_DEPTH = 8
MAX_STRINGS = 256  # per event: a huge body costs the same bounded work as a small one
MAX_LABEL_CHARS = 60  # a param name quoted in a reason is cut to this


def _label(name: object) -> str:
    """Quote a param name or path for a reason, cut short: a name may itself be a payload."""
    text = str(name)
    return repr(text if len(text) <= MAX_LABEL_CHARS else text[:MAX_LABEL_CHARS] + "…")


# Where a string stands, as a reason says it: formatted with the quoted name or path (_label)
# only for the string that is reported, not for every string looked at.
_PARAM_NAME = "the name of param {}"
_PARAM = "param {}"
_QUERY_NAME = "the name of query parameter {}"
_QUERY = "query parameter {}"
Place = tuple[str, object]  # (one of the templates above, the name or path it quotes)
_SCORER = {_PARAM_NAME: name_confidence, _QUERY_NAME: name_confidence}  # else sqli_confidence


def _walk(value: Any, path: str, depth: int) -> Iterator[tuple[Place, str]]:
    """Yield (place, text) for every string in a param value, names of nested keys included."""
    if isinstance(value, str):
        document = parse_json(value) if depth < MAX_DEPTH else None
        if document is None:
            yield (_PARAM, path), value
        else:
            yield from _walk(document, path, depth + 1)
    elif depth >= MAX_DEPTH:
        return
    elif isinstance(value, Mapping):
        for key, item in value.items():
            child = f"{path}.{key}"
            yield (_PARAM_NAME, child), str(key)
            yield from _walk(item, child, depth + 1)
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]", depth + 1)


def _event_strings(event: Event) -> Iterator[tuple[Place, str]]:
    """Yield (place, text) for the params of an event, then for its endpoint's query string."""
    for name, value in event.params.items():
        yield (_PARAM_NAME, name), str(name)
        yield from _walk(value, str(name), 1)
    if "?" not in event.endpoint:
        return
    # A plain split, not urlsplit: a malformed URL must not stop the walk.
    query = event.endpoint.partition("?")[2].partition("#")[0]
    for name, value in parse_qsl(query, keep_blank_values=True):
        yield (_QUERY_NAME, name), name
        yield (_QUERY, name), value


def _worst(event: Event) -> tuple[float, str, str]:
    """Return (confidence, where, signals) of the most suspicious string of an event."""
    best: tuple[float, Place, str] = (0.0, ("", ""), "")
    for count, (place, text) in enumerate(_event_strings(event)):
        if count >= MAX_STRINGS:
            break
        confidence, signals = _SCORER.get(place[0], sqli_confidence)(text)
        if confidence > best[0]:
            best = (confidence, place, signals)
    confidence, (template, name), signals = best
    return confidence, template.format(_label(name)) if template else "", signals


class SqlInjectionDetector:
    """Flag events whose parameters look like SQL-injection payloads."""

    name = "sql_injection"

    def analyse(self, events: Sequence[Event]) -> list[list[Detection]]:
        """Return at most one detection per event, for its most suspicious string."""
        return [self._detect(event) for event in events]

    def _detect(self, event: Event) -> list[Detection]:
        """The detection for one event, or none when nothing in it reaches MIN_CONFIDENCE."""
        confidence, where, signals = _worst(event)
        if confidence < MIN_CONFIDENCE:
            return []
        key_type, key = _key(event)
        reason = f"SQL injection in {where} (confidence {confidence:.2f}): {signals}"
        return [
            Detection(
                detector=self.name,
                score=confidence,
                reason=reason,
                kind="sql_injection",
                key_type=key_type,
                key=key,
            )
        ]


def _key(event: Event) -> tuple[str, str]:
    """Key a threat by the source IP; by the user only when the event has no IP."""
    if event.source_ip or not event.user_id:
        return IP, event.source_ip
    return USER, event.user_id
