"""Bound the grammar's work on a long value: sample the text where SQL could be.

A long value (a comment, a description, a document, a URL) is mostly text that no signature
can use, and lexing and folding all of it, for three contexts, costs many times what the
value deserves. The analysis gets a sample instead, found by one cheap pass for anchors: a
quote beside an operator or a clause, a comparison of literals, a comment marker, a stacked
statement, UNION SELECT, a call of a function of SQL's, a system variable or catalogue. Kept:
the head and the tail of the value when an anchor stands there (a payload is usually prefixed
or appended to an ordinary value), then the windows around the strongest clusters of anchors
(a payload holds many, ordinary text one here and there), within a fixed budget. Between two
kept spans stands a gap that no token can join, holding the quotes of the skipped text, so
that strings pair up, and quote contexts begin, as they do in the whole value. Text without a
single anchor yields an empty sample.
"""

import re
from bisect import bisect_left, insort
from itertools import accumulate, islice, repeat
from operator import add, sub

from . import native
from .lexer import WORD_KIND

LONG_CHARS = 256  # a longer text is sampled
HEAD_CHARS = 128
TAIL_CHARS = 64  # a payload is often appended to an ordinary value
BEFORE_CHARS = 32  # text kept before an anchor: what the payload breaks out of
AFTER_CHARS = 128  # and after it: the payload
BUDGET_CHARS = 320  # the most text sampled beyond the head, the tail included
# Anchors per character from which a text is SQL through and through and is analysed whole:
# sqlmap's UNION column lists and stacked statements run on for hundreds of characters.
DENSE = ((512, 0.01), (2048, 0.04))  # up to so many characters, from so many anchors each
MIN_STRENGTH = 4  # what the anchors in a window must add up to for it to be sampled
MIN_END_STRENGTH = 2  # the same for the head and the tail, where payloads usually stand
MAX_ANCHORS = 16  # per pattern
MAX_GAP_QUOTES = 24

# Anchors are searched for by patterns that start with one literal (a quote, `;`, `=`, a word):
# the regex engine then skips to candidates as fast as a C loop can, where a pattern that
# starts with a class costs ten times more per character of a long text. Each has a strength:
# text holds a quote before a clause word now and then, a dangerous call never.
# (The words of the look-aheads are named apart, for the C scan, which matches a word where the
# run of \w there is one of them: each word is such a run.)
_CLAUSE_WORDS = (
    *("or", "and", "xor", "union", "select", "having", "order", "group", "where", "limit"),
    *("into", "procedure", "waitfor"),
)
_STACKED_WORDS = (
    *("select", "insert", "update", "delete", "drop", "create", "alter", "exec", "execute"),
    *("declare", "shutdown", "waitfor", "truncate", "grant"),
)
_CLAUSE = f"(?:{'|'.join(_CLAUSE_WORDS)})"
_AFTER_QUOTE = (
    # an operator stands before the quote, or one follows it, or a clause follows a quote
    # that closes something (after a word or a bracket), as in 1' or, admin' union
    r"(?:(?<=[=<>(]Q)|(?<=[=<>(] Q)|(?=\s*[;=<>!)|&#+*/-])|(?<=[\w)]Q)(?=\s*CLAUSE\b))"
).replace("CLAUSE", _CLAUSE)
_ANCHOR_PATTERNS = tuple(
    (literal, re.compile(pattern), strength)
    for literal, pattern, strength in (
        *((quote, quote + _AFTER_QUOTE.replace("Q", quote), 2) for quote in "'\""),
        (
            ";",
            rf";(?=\s*(?:{'|'.join(_STACKED_WORDS)})\b)",
            4,
        ),
        # two literals compared, 1=1 or '1'='1: an `=` after a digit or quote, before one
        ("=", r"=(?:(?<=[\d'\"] =)|(?<=[\d'\"]=))(?= ?[\d'\"])", 2),
        ("union", r"union(?=\s+(?:all\s+|distinct\s+)?(?:select\b|\())", 4),
        ("(", r"\((?=\s*select\b)", 3),  # a subquery
        ("@@", "@@", 4),
        ("--", "--", 3),
        ("information_schema", "information_schema", 4),
        ("0x", "0x", 2),
        ("select", "select", 1),
    )
)
# The same patterns in one alternation, found in one scan: each starts with a character of its
# own, so that at most one of them matches at a place, and none of them holds another's start.
_ANY_ANCHOR = re.compile("|".join(f"(?:{pattern.pattern})" for _, pattern, _ in _ANCHOR_PATTERNS))
_STRENGTH_BY_HEAD = {literal[0]: strength for literal, _, strength in _ANCHOR_PATTERNS}
# A call: `(` right after a word, as strong as the word is SQL's. The words are read from the
# reversed text, where each is the run of word characters right after its `(` (at most
# CALLEE_CHARS of it, more than the longest SQL word): one scan instead of one per call.
_CALL = re.compile(r"\((?<=[\w$]\()")
CALLEE_CHARS = 24
_CALLEE_REVERSED = re.compile(rf"\(([\w$]{{1,{CALLEE_CHARS}}})")
_CALL_STRENGTH = {"F": 4, "f": 2, "S": 2, "E": 2, "U": 2}
_START = re.Match.start
_NOT_QUOTES = bytes(set(range(256)) - set(b"'\"`"))
_GAP = " ] "  # `]` lexes to a kind that no other kind may stand next to
CUT_CHARS = 16  # how far the ends of a span move to a space, so as not to cut a word in two

# The same in C (native/sample.c), where built: the Python below is its reference, and runs
# where the C declines a text (None: a character above U+00FF, a str subclass).
_native = native.load("sample")


def _configure_native() -> None:
    """Hand the constants, strengths and words to the C (again, after a change: the tests)."""
    if _native is None:
        return
    _native.configure(
        long_chars=LONG_CHARS,
        head_chars=HEAD_CHARS,
        tail_chars=TAIL_CHARS,
        before_chars=BEFORE_CHARS,
        after_chars=AFTER_CHARS,
        budget_chars=BUDGET_CHARS,
        dense=DENSE,
        min_strength=MIN_STRENGTH,
        min_end_strength=MIN_END_STRENGTH,
        max_anchors=MAX_ANCHORS,
        max_gap_quotes=MAX_GAP_QUOTES,
        callee_chars=CALLEE_CHARS,
        cut_chars=CUT_CHARS,
        strength_by_head=_STRENGTH_BY_HEAD,
        clause_words=_CLAUSE_WORDS,
        stacked_words=_STACKED_WORDS,
        # the callee words that make a call an anchor, with its strength
        call_strength={
            word: _CALL_STRENGTH[kind] for word, kind in WORD_KIND.items() if kind in _CALL_STRENGTH
        },
        gap=_GAP,
    )


_configure_native()


def sample(text: str) -> str:
    """Return `text` itself when short or dense with SQL, else the spans of it around its
    anchors, with gaps; nothing for a long text that `anchored` would refuse."""
    if _native is not None:
        sampled: str | None = _native.sample(text)
        if sampled is not None:
            return sampled
    return _sample_python(text)


def anchored(text: str) -> bool:
    """Whether anything in `text` points at SQL, as strongly as the head of a value must."""
    if _native is not None:
        found: bool | None = _native.anchored(text)
        if found is not None:
            return found
    return _anchored_python(text)


def _sample_python(text: str) -> str:
    """Return `text` itself when short or dense with SQL, else the spans of it around its
    anchors, with gaps; nothing for a long text that `anchored` would refuse."""
    if len(text) <= LONG_CHARS:
        return text
    dense = min((each * len(text) for chars, each in DENSE if len(text) <= chars), default=None)
    anchors = _anchors(text, dense)
    total = sum(strength for _, strength in anchors)
    if dense is not None and total >= dense:
        return text
    # Every dense threshold is above MIN_END_STRENGTH, so a list cut short at `dense` never
    # gets here: `total` is that of all the anchors, what `anchored` would have added up. Below
    # it, neither the head nor the tail nor any window is strong enough to be kept anyway.
    if total < MIN_END_STRENGTH:
        return ""
    spans = _windows(text, anchors)
    if not spans:
        return ""  # nothing in the text points at SQL
    pieces = []
    end = 0
    for start, stop in spans:
        if start > end:
            pieces.append(_gap(text, end, start))
        pieces.append(text[start:stop])
        end = stop
    if end < len(text):
        pieces.append(_gap(text, end, len(text)))
    return "".join(pieces)


def _anchored_python(text: str) -> bool:
    """Whether anything in `text` points at SQL, as strongly as the head of a value must."""
    # One pass over the patterns, which stops as soon as that much is found: one strong anchor
    # is enough, and a text without one is searched once, not once for strong ones and again.
    return sum(strength for _, strength in _anchors(text, MIN_END_STRENGTH)) >= MIN_END_STRENGTH


def _windows(text: str, anchors: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The spans to keep, in order and merged: the head and the tail if anchored, then the
    strongest windows (by the summed strength of the anchors in each) within the budget."""
    positions, strengths = zip(*sorted(anchors), strict=True) if anchors else ((), ())
    summed = list(accumulate(strengths, initial=0))
    # The head and the tail, where a payload usually stands, are kept when an anchor is there.
    head = summed[bisect_left(positions, HEAD_CHARS)]
    tail = summed[-1] - summed[bisect_left(positions, len(text) - TAIL_CHARS)]
    spans = [(0, HEAD_CHARS)] if head >= MIN_END_STRENGTH else []
    if tail >= MIN_END_STRENGTH:
        spans.append((len(text) - TAIL_CHARS, len(text)))
    if summed[-1] >= MIN_STRENGTH:  # else no window is strong enough
        _add_windows(len(text), positions, summed, spans)
    merged: list[tuple[int, int]] = []
    for start, stop in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(stop, merged[-1][1]))
        else:
            merged.append((start, stop))
    return [(_cut_forward(text, start), _cut_back(text, stop)) for start, stop in merged]


def _add_windows(
    length: int, positions: tuple[int, ...], summed: list[int], spans: list[tuple[int, int]]
) -> None:
    """Add the strongest windows (by the summed strength of the anchors in each) to `spans`,
    as far as they are not covered yet, within the budget. (`spans` is kept sorted.)"""
    # The strength of the window after each anchor: the sums up to its end and to its start,
    # the ends found by bisection; all of it mapped in C.
    ends = map(bisect_left, repeat(positions), map(add, positions, repeat(AFTER_CHARS)))
    strengths = map(sub, map(summed.__getitem__, ends), summed)
    ranked = sorted(zip(strengths, positions, strict=True), reverse=True)
    spans.sort()
    budget = BUDGET_CHARS - TAIL_CHARS
    for strength, at in ranked:
        if strength < MIN_STRENGTH or budget <= 0:
            break
        for start, stop in _uncovered(spans, max(at - BEFORE_CHARS, 0), at + AFTER_CHARS):
            stop = min(stop, length, start + budget)
            insort(spans, (start, stop))
            budget -= stop - start


def _uncovered(spans: list[tuple[int, int]], start: int, stop: int) -> list[tuple[int, int]]:
    """The parts of start…stop that none of the (sorted) `spans` covers."""
    parts = []
    for begin, end in spans:
        if begin >= stop:
            break  # and so do all the spans after it
        if end > start:
            if begin > start:
                parts.append((start, begin))
            start = max(start, end)
    return [*parts, (start, stop)] if start < stop else parts


def _anchors(text: str, enough: float | None = None) -> list[tuple[int, int]]:
    """Where SQL could start in `text`, and how strongly each place points at it (at most
    MAX_ANCHORS places per pattern); the calls of SQL functions only while the rest add up
    to less than `enough`."""
    starts = list(map(_START, _ANY_ANCHOR.finditer(text)))
    heads = list(map(text.__getitem__, starts))  # which pattern: the one led by that character
    if len(starts) > MAX_ANCHORS:
        starts, heads = _first_per_pattern(starts, heads)
    found = list(zip(starts, map(_STRENGTH_BY_HEAD.__getitem__, heads), strict=True))
    if "(" in text and (enough is None or sum(strength for _, strength in found) < enough):
        found.extend(_call_anchors(text))
    return found


def _first_per_pattern(starts: list[int], heads: list[str]) -> tuple[list[int], list[str]]:
    """The first MAX_ANCHORS places found by each pattern (`heads` tells which)."""
    counted: dict[str, int] = {}
    kept_starts, kept_heads = [], []
    for start, head in zip(starts, heads, strict=True):
        counted[head] = counted.get(head, 0) + 1
        if counted[head] <= MAX_ANCHORS:
            kept_starts.append(start)
            kept_heads.append(head)
    return kept_starts, kept_heads


def _call_anchors(text: str) -> list[tuple[int, int]]:
    """The calls of SQL functions among the first MAX_ANCHORS `(` that follow a word."""
    starts = list(map(_START, islice(_CALL.finditer(text), MAX_ANCHORS)))
    if not starts:
        return []
    # The same `(`s, found backwards up to the last of them: their words, the last one first.
    callees = _CALLEE_REVERSED.findall(text[starts[-1] :: -1])
    strengths = (
        _CALL_STRENGTH.get(WORD_KIND.get(callee[::-1], ""), 0) for callee in reversed(callees)
    )
    return [(at, strength) for at, strength in zip(starts, strengths, strict=True) if strength]


def _cut_back(text: str, stop: int) -> int:
    """Move the end of a span back to a space, so that it does not cut a word in two."""
    if stop >= len(text):
        return len(text)
    space = text.rfind(" ", stop - CUT_CHARS, stop)
    return space if space > 0 else stop


def _cut_forward(text: str, start: int) -> int:
    """Move the start of a span forward past a space, for the same reason."""
    if start <= 0:
        return 0
    space = text.find(" ", start, start + CUT_CHARS)
    return space + 1 if space >= 0 else start


def _gap(text: str, start: int, stop: int) -> str:
    """What stands for skipped text: a gap holding the quotes of the skipped text, in order,
    so that strings and quote contexts begin and end as they do in the whole value."""
    quotes = text[start:stop].encode(errors="surrogatepass").translate(None, _NOT_QUOTES)
    # Two like quotes in a row change nothing (they open and close a string, close and open
    # one, or stand inside another): drop them, and the folds of the sample stay short.
    while b"''" in quotes or b'""' in quotes or b"``" in quotes:
        quotes = quotes.replace(b"''", b"").replace(b'""', b"").replace(b"``", b"")
    if len(quotes) > MAX_GAP_QUOTES:  # text of little but quotes: keep the work bounded
        quotes = quotes[: MAX_GAP_QUOTES // 2] + quotes[-MAX_GAP_QUOTES // 2 :]
    return f"{_GAP}{' '.join(quotes.decode())}{_GAP}" if quotes else _GAP
