"""Fold a kind string into the token sequence of one injection context and mark syntax errors.

A value lands in a query after a number (`id = 1`) or inside a quoted string (`name = '…'`).
For each context the kinds are folded (strings to `s`, back-quoted names to `n`, comments to
`C` or `D`), then every place where two neighbouring tokens cannot follow one another in SQL
gets a `|`. What lies between two bars is an island of plausible SQL; prose and names break
into many small islands, an injection stays one long island.
"""

import re
from typing import NamedTuple

_FOLD = re.compile(r"'[^']*'?|\"[^\"]*\"?|`[^`]*`?|\{.*|c[^N]*N?|N")
_FOLDED = {"`": "n", "N": ""}
# A comment of at most two tokens (`--`, `-- -`, `#fdsa`, `/*`) ends the attacker's query; a
# longer one (`--INFANT -CHILD -KIDS`) is usually text that happens to hold a double dash.
# Likewise a string left open with more tokens than this in it is mostly prose.
_PROSE_TOKENS = 3


def _fold_one(match: re.Match[str]) -> str:
    """The one kind a string, back-quoted name or comment folds into."""
    text = match.group()
    head = text[0]
    if head == "'" or head == '"':
        # The application closes an open string itself; a long open one is mostly prose.
        is_open = len(text) == 1 or text[-1] != head
        return "z" if is_open and len(text) > _PROSE_TOKENS + 1 else "s"
    if head in _FOLDED:
        return _FOLDED[head]
    if text[-1] == "N":
        return ""  # a line comment that a newline ends is just space in the middle
    return "C" if len(text) <= _PROSE_TOKENS else "D"


def fold(kinds: str) -> str:
    """Fold quotes, back-quoted names and comments of code-state kinds into single tokens."""
    return _FOLD.sub(_fold_one, kinds)


class Context(NamedTuple):
    name: str  # "as-is", "'" or '"'
    folded: str
    closes: bool  # whether the query around the value can still be closed


def _closes(folded: str, balanced: bool) -> bool:
    """Whether the quotes balance, or a comment or `;` ends the value anyway."""
    return balanced or folded.endswith(("C", "D", ";"))


def contexts(kinds: str, prose_prefix: dict[str, bool]) -> list[Context]:
    """Return the as-is context and one per quote character the value contains.

    A value whose quotes leave a string open at the end (as-is), or that leaves the
    application's closing quote without a partner (quoted), breaks the query unless a
    comment or `;` ends it. `prose_prefix` tells, per quote, whether several words stand
    before its first occurrence: then the value looks like text more than an injection.
    """
    singles, doubles = kinds.count("'"), kinds.count('"')
    folded = fold(kinds)
    found = [Context("as-is", folded, _closes(folded, singles % 2 == 0 and doubles % 2 == 0))]
    for quote, count, other in (("'", singles, doubles), ('"', doubles, singles)):
        if count:
            # Everything up to the first quote completes the application's own string.
            head = "z" if prose_prefix.get(quote) else "s"
            folded = head + fold(kinds[kinds.find(quote) + 1 :])
            closes = _closes(folded, count % 2 == 0 and other % 2 == 0)
            found.append(Context(quote, folded, closes))
    return found


# What may follow each kind in SQL; anything else is a syntax error (a `|`).
_AFTER_OPERAND = "omalij&b),;.CDUk!*We"
_OPERAND_START = "sz1nvtTfF(!m*"
_BINARY = _OPERAND_START
_FOLLOWERS = {
    "s": _AFTER_OPERAND + "szE",  # 'a' 'b' concatenates in MySQL; T-SQL needs no ';'
    "z": _AFTER_OPERAND + "szE",
    "1": _AFTER_OPERAND,
    "n": _AFTER_OPERAND + "(",
    "v": _AFTER_OPERAND,
    "t": _AFTER_OPERAND,
    "T": _AFTER_OPERAND,
    "f": _AFTER_OPERAND + "(",
    "F": _AFTER_OPERAND + "(sz1v",  # EXEC xp_cmdshell 'dir': arguments without parentheses
    "e": _AFTER_OPERAND,
    ")": _AFTER_OPERAND + "n",  # a derived table's alias: (select …) a
    "*": _AFTER_OPERAND + _OPERAND_START + "k",
    "o": _BINARY,
    "a": _BINARY,
    "l": _BINARY + "l",  # SOUNDS LIKE
    "i": "(",  # IN takes a parenthesised list or subquery
    "j": "!tk",  # IS [NOT] NULL | TRUE | FALSE | UNKNOWN | DISTINCT FROM
    "m": _BINARY,
    "&": _BINARY + "S",
    "b": _BINARY + "S",
    "!": _BINARY + "oli",
    "(": _OPERAND_START + "S)kE",
    ",": _OPERAND_START + "kS",
    ".": "nTfF*.1kESUv",
    "U": "k(SCD",
    "S": _OPERAND_START + "k",
    "E": "nTkfFSv(1szE*;CD",
    "W": "kf",  # WAITFOR DELAY | TIME
    "k": _OPERAND_START + "kSEe),;CD",
    ";": "sz1nvtTfFe(!m*SEWUkCD;",
    "C": "sz1nvtTfFe(!m*SEWUk;CD),&bomalij.",
    "D": "sz1nvtTfFe(!m*SEWUk;CD),&bomalij.",
}
_ALPHABET = "sz1nvtTfFe)*omalij&b!(,.USEWkh;CD?"
KINDS = _ALPHABET  # every kind a folded context can hold
_FOLLOWERS["h"] = _FOLLOWERS["k"]
# A clause keyword may stand wherever another keyword may; a comment may follow any token:
# it only ends what the attacker wrote.
_FOLLOWERS = {
    kind: allowed + ("h" if "k" in allowed else "") + "CD" for kind, allowed in _FOLLOWERS.items()
}


_BAD_PAIRS = frozenset(
    kind + follower
    for kind in _ALPHABET
    for follower in _ALPHABET
    if follower not in _FOLLOWERS.get(kind, "")
)


def mark(folded: str) -> str:
    """Insert a `|` between every two tokens that cannot be neighbours in SQL."""
    # A plain loop over pairs beats a regex here: almost every pair of prose tokens is bad.
    bad = _BAD_PAIRS
    marked = [a + "|" if a + b in bad else a for a, b in zip(folded, folded[1:], strict=False)]
    return "".join(marked) + folded[-1:]
