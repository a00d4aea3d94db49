"""Regular expressions written by users, matched in linear time with RE2 (the syntax Alertmanager
and Prometheus match theirs with): a pattern such as `(a+)+$` cannot hold a worker for hours on a
long value, as Python's backtracking `re` would. RE2 has no backreferences or lookaround."""

from functools import lru_cache
from typing import Any

import re2  # type: ignore[import-untyped]

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is answered to its author, not logged to stderr


class PatternError(ValueError):
    """The pattern is not a valid RE2 regular expression; the message says why."""


@lru_cache(maxsize=1024)
def compiled(pattern: str) -> Any:
    """Return the compiled RE2 pattern, or raise PatternError."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else "invalid pattern"
        text = reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)
        raise PatternError(text) from None


def fullmatches(pattern: str, text: str) -> bool:
    """Whether the whole of `text` matches `pattern` (raises PatternError for a bad one)."""
    return compiled(pattern).fullmatch(text) is not None
