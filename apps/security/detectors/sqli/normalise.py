"""Undo the encodings attackers wrap SQL in, so that one grammar sees one canonical text.

Steps, in order: cap the length, URL-decode and HTML-unescape until stable (at most three
rounds), Unicode NFKC, look-alike quotes to ASCII, case-folding, MySQL version comments
unwrapped, closed block comments and odd whitespace collapsed. Line comments (`--`, `#`) are
kept: the lexer needs them to tell "comment truncation" from text; `strip_comments` removes them
for a comment-free view.

`canonical` (decoded and folded) and `clean` (comments, names and space) are the two steps the
scorer takes; they, `decode` and `fold_unicode` run in C where native/normalise.c is built (an
exact port: the Python functions here are its reference, and take over where it declines).
"""

import codecs
import html
import re
import unicodedata
from html.entities import html5
from typing import cast
from urllib.parse import unquote

from . import native

MAX_CHARS = 4096
MAX_DECODE_ROUNDS = 3

_IIS_UNICODE = re.compile(r"%u([0-9a-fA-F]{4})")
_URL_ESCAPE = re.compile(r"%[0-9a-fA-F]{2}")
_URL_ESCAPE_BYTES = re.compile(rb"%(?=[0-9a-fA-F]{2})")
_NOT_AN_ESCAPE = re.compile(rb"%(?![0-9a-fA-F]{2})")
# An `&` and an entity that html.unescape expands without a `;` (&amp, &lt, &copy, …), the
# names grouped by their first letter so that the regex engine tries few of them per `&`.
_BARE_NAMES: dict[str, list[str]] = {}
for _name in sorted((name for name in html5 if not name.endswith(";")), key=len, reverse=True):
    _BARE_NAMES.setdefault(_name[0], []).append(re.escape(_name[1:]))
_BARE_ENTITY = re.compile(
    "&(?:" + "|".join(f"{head}(?:{'|'.join(rest)})" for head, rest in _BARE_NAMES.items()) + ")"
)
_NAMED_ENTITY = re.compile(r"&[^\t\n\f <&#;]{1,32};")  # what html.unescape may expand, with `;`
_PLUS_JOINS_WORDS = re.compile(r"\+(?:(?<=[A-Za-z]\+)|(?=[A-Za-z]))")  # a `+` first: fast
# Quotes that some back ends (MySQL with a lax collation, apps that "smart-fix" input) fold
# into ASCII quotes; attackers use them to slip past filters that only know ASCII.
_LOOKALIKES = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201b": "'",
    "\u00b4": "'",
    "\u02b9": "'",
    "\u02bc": "'",
    "\u2032": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2033": '"',
    "\u2013": "-",
    "\u2014": "-",
    # Zero-width characters split a keyword for a filter but vanish for the database.
    **dict.fromkeys("\u200b\u200c\u200d\u2060\ufeff\u00ad", ""),
}
_LATIN1_LOOKALIKES = {char: to for char, to in _LOOKALIKES.items() if ord(char) < 256}
# Folding Latin-1 text one byte per character: str.casefold looks every character of a
# non-ASCII text up in Unicode's tables, and NFKC checks it, several times slower. Within
# Latin-1 only these characters change under NFKC or the look-alike map, or fold to something
# else than their lower case (the micro sign to μ, the sharp s to ss): text that holds one of
# them takes the general way.
_LATIN1_LOWER = bytes(ord(chr(code).lower()) for code in range(256))
_LATIN1_SPECIAL = {
    code
    for code in range(128, 256)
    if not unicodedata.is_normalized("NFKC", chr(code))
    or chr(code) in _LATIN1_LOOKALIKES
    or chr(code).casefold() != chr(code).lower()
}
_NOT_LATIN1_SPECIAL = bytes(code for code in range(256) if code not in _LATIN1_SPECIAL)
_VERSION_COMMENT = re.compile(r"/\*!\d*(.*?)(?:\*/|$)", re.DOTALL)
_BLOCK_COMMENT = re.compile(r"/\*(?!!).*?\*/", re.DOTALL)
_BACKTICK_NAME = re.compile(r"`([\w$.]+)`")
_LINE_COMMENT = re.compile(r"(?:--|#)[^\n]*")
_VERTICAL_SPACE = re.compile(r"[\n\r\x85\u2028\u2029]+")
# Every control character and Unicode space other than a newline becomes one plain space:
# %0b, %0c, %a0, %00 and friends are classic keyword separators. Those characters are listed
# in one class (a pattern of one class is scanned far faster than an alternation of two), and
# only what changes is matched: a run of two or more, or one that is not the plain space.
_ODD_SPACE = "\x00-\x09\x0b-\x1f\x7f\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
_HORIZONTAL_SPACE = re.compile(f"[{_ODD_SPACE} ]{{2,}}|[{_ODD_SPACE}]")
_SPACE_RUN = re.compile("  +")  # all there is to collapse in printable text


def url_decode(text: str, plus: bool = False) -> str:
    """Decode %XX (and IIS %uXXXX) escapes until stable, at most MAX_DECODE_ROUNDS times.

    With `plus`, a '+' in the first round means a space (form encoding).
    """
    for _ in range(MAX_DECODE_ROUNDS):
        if "%" not in text and not plus:
            break
        if "%u" in text or "%U" in text:
            text = _IIS_UNICODE.sub(lambda m: chr(int(m.group(1), 16)), text)
        if not plus and not _URL_ESCAPE.search(text):
            break  # unquote would return the text as it is
        decoded = _unquote(text, plus)
        plus = False
        if decoded == text:
            break
        text = decoded
    return text


def _unquote(text: str, plus: bool) -> str:
    """urllib's unquote, or unquote_plus with `plus`; in C for ASCII text, where urllib runs
    a Python loop over the escapes (a long URL holds dozens): each %XX becomes a \\xXX escape
    (backslashes of the text escaped themselves) for codecs.escape_decode, which yields the
    same bytes, decoded as UTF-8 the way urllib does it."""
    if plus:
        text = text.replace("+", " ")
    if not text.isascii():
        return unquote(text)
    raw = text.encode()
    if b"\\" in raw:
        raw = raw.replace(b"\\", b"\\\\")
    if _NOT_AN_ESCAPE.search(raw):
        escaped = _URL_ESCAPE_BYTES.sub(rb"\\x", raw)
    else:
        escaped = raw.replace(b"%", b"\\x")  # every % starts an escape: no regex needed
    decoded = cast(bytes, codecs.escape_decode(escaped)[0])  # bytes, whatever typeshed says
    return decoded.decode("utf-8", "replace")


def entity_decode(text: str) -> str:
    """Unescape HTML entities (&#39; &quot; &lt; …) until stable, at most a few rounds."""
    return _entity_decoded(text)[0]


def _entity_decoded(text: str) -> tuple[str, bool]:
    """The unescaped text, and whether unescaping it once more would leave it as it is."""
    for _ in range(MAX_DECODE_ROUNDS):
        if not _may_hold_entity(text):
            return text, True
        decoded = html.unescape(text)
        if decoded == text:
            return text, True
        text = decoded
    return text, False


def _may_hold_entity(text: str) -> bool:
    """Whether html.unescape could change `text`; False only when it certainly would not."""
    if "&" not in text:
        return False
    if "&#" in text or (";" in text and _NAMED_ENTITY.search(text)):
        return True
    # html.unescape runs a Python function per `&`: a URL with many parameters pays dearly.
    return bool(_BARE_ENTITY.search(text))


def decode(text: str) -> str:
    """URL-decode and HTML-unescape, alternately, until the text stops changing."""
    if _native is not None:
        decoded = _native.decode(text)
        if decoded is not None:
            return cast(str, decoded)
    return _decode_python(text)


def _decode_python(text: str) -> str:
    """The reference of `decode`."""
    # '+' means a space only in the raw value, only when it has no real space and joins
    # words: in a later round it may be a decoded %2B, and in '+' it is an operator.
    plus = " " not in text and "+" in text and bool(_PLUS_JOINS_WORDS.search(text))
    stable = False  # whether the text is known to hold no entity left to unescape
    for _ in range(MAX_DECODE_ROUNDS):
        unquoted = url_decode(text, plus)
        plus = False
        if stable and unquoted == text:
            break
        decoded, stable = _entity_decoded(unquoted)
        if decoded == text:
            break
        text = decoded
    return text


def _replace_lookalikes(text: str) -> str:
    """Map look-alike quotes and dashes to ASCII, drop zero-width characters."""
    # Not str.translate: it looks every character of a non-ASCII text up in a dict. Text in
    # Latin-1 (most accented Western text) can hold only two of the look-alikes.
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        lookalikes = _LOOKALIKES
    else:
        lookalikes = _LATIN1_LOOKALIKES
    for char, replacement in lookalikes.items():
        if char in text:
            text = text.replace(char, replacement)
    return text


def fold_unicode(text: str) -> str:
    """NFKC (full-width letters to ASCII), look-alike quotes to ASCII, then case-fold."""
    if _native is not None:
        folded = _native.fold_unicode(text)
        if folded is not None:
            return cast(str, folded)
    return _fold_unicode_python(text)


def _fold_unicode_python(text: str) -> str:
    """The reference of `fold_unicode`."""
    if text.isascii():
        return text.lower()  # the same as casefold for ASCII, and it has a fast path for it
    try:
        latin1 = text.encode("latin-1")
    except UnicodeEncodeError:
        pass
    else:
        if not latin1.translate(None, _NOT_LATIN1_SPECIAL):
            # Nothing to normalise or replace, and case-folding is lower-casing: in C.
            return latin1.translate(_LATIN1_LOWER).decode("latin-1")
    # Look-alikes first: NFKC would turn the acute accent into a space and a combining mark.
    text = _replace_lookalikes(text)
    if not unicodedata.is_normalized("NFKC", text):
        text = _replace_lookalikes(unicodedata.normalize("NFKC", text))
    return text.casefold()


def unwrap_comments(text: str) -> str:
    """Keep the content of MySQL `/*!50000 … */` comments, drop closed `/* … */` comments."""
    if "/*" not in text:
        return text
    text = _VERSION_COMMENT.sub(r" \1 ", text)
    return _BLOCK_COMMENT.sub(" ", text)


def unquote_names(text: str) -> str:
    """Drop MySQL back-quotes around plain names: `information_schema` is information_schema."""
    return _BACKTICK_NAME.sub(r" \1 ", text) if "`" in text else text


def collapse_space(text: str) -> str:
    """Collapse runs of odd whitespace into one space, runs of line breaks into one newline."""
    if text.isprintable():
        # The common case: the plain space is the only space printable text holds, so at most
        # runs of it are left to collapse, found by a search for a literal.
        return (_SPACE_RUN.sub(" ", text) if "  " in text else text).strip()
    return _HORIZONTAL_SPACE.sub(" ", _VERTICAL_SPACE.sub("\n", text)).strip()


def plain(value: str) -> bool:
    """Whether `value` is ASCII with nothing to decode: its own lower case is its canonical text.
    (Three substring tests in C cost less than one regex search.)"""
    return value.isascii() and "%" not in value and "&" not in value and "+" not in value


def canonical(value: str) -> str:
    """The canonical text of a raw value (score's first step): its lower case when it is
    ASCII with nothing to decode, else its decoded, Unicode-folded text."""
    if _native is not None:
        text = _native.canonical(value)
        if text is not None:
            return cast(str, text)
    return _canonical_python(value)


def _canonical_python(value: str) -> str:
    """The reference of `canonical`."""
    if plain(value):
        return value.lower()  # what decoding and Unicode folding make of it, cheaply
    return _fold_unicode_python(_decode_python(value))


def clean(canonical: str) -> str:
    """Canonical text with its comments unwrapped or dropped, names unquoted, space collapsed."""
    if _native is not None:
        text = _native.clean(canonical)
        if text is not None:
            return cast(str, text)
    return _clean_python(canonical)


def _clean_python(canonical: str) -> str:
    """The reference of `clean`."""
    return collapse_space(unquote_names(unwrap_comments(canonical)))


def normalise(value: str) -> str:
    """Return the canonical text of a raw parameter value (line comments kept)."""
    text = decode(value[:MAX_CHARS])
    return clean(fold_unicode(text[:MAX_CHARS]))


def strip_comments(text: str) -> str:
    """Drop `--` and `#` line comments from normalised text (block comments are already gone)."""
    if "-" not in text and "#" not in text:
        return text
    return collapse_space(_LINE_COMMENT.sub(" ", text))


# The C port (native/normalise.c), handed what it calls back and the folding tables; None
# where it was not built or is turned off, and the Python above does all of it.
_native = native.load("normalise")
if _native is not None:
    _native.configure(
        html5,  # what html.unescape expands, and how (ported: native/normalise.c)
        html._invalid_charrefs,  # type: ignore[attr-defined]
        html._invalid_codepoints,  # type: ignore[attr-defined]
        tuple(sorted(name for name in html5 if not name.endswith(";"))),  # _BARE_ENTITY's
        _fold_unicode_python,
        _LATIN1_LOWER,
        {code: _fold_unicode_python(chr(code)) for code in sorted(_LATIN1_SPECIAL)},
    )
