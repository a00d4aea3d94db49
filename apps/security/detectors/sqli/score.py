"""Combine signature evidence from every injection context into one confidence in [0, 1].

A value is scored as it stands and through the values nested in it (the strings of a JSON
document instead of the document itself); a long one through a sample of itself (`sample`).
The work per value is bounded, and decided values stop early: nothing nested is looked at once
the confidence is capped. Distinct values, and short nested ones, are cached, and so are the
findings of the token signatures per kind string.
"""

import re
import sys
from functools import lru_cache
from itertools import compress, repeat

from . import evidence_native
from .extract import GATES, NESTED_HEAD_CHARS, nested_strings
from .grammar import KINDS, Context, contexts, mark
from .lexer import GLUED_KEYWORDS, WORD_KIND, lex
from .normalise import MAX_CHARS, canonical, clean, plain
from .sample import LONG_CHARS, anchored, sample
from .signatures import MONGO_OPERATORS, TEXT_SIGNATURES, TOKEN_SIGNATURES, Signature

# Many requests repeat the same parameter values (ids, sort orders, names) and the same short
# values nested in them (JSON keys, enum-like fields, query parameters): each distinct one is
# scored once while it stays among the most recent ones.
CACHED_VALUES = 2048
CACHED_PARTS = 8192
SHORT_PART_CHARS = 96  # nested values up to this long are cached on their own
CACHED_KINDS = 4096  # token signature findings, per kind string
GATED_FROM_CHARS = 32  # in a long value, nested values longer than this need an anchor


def _by_first_kind(scope: str) -> dict[str, tuple[Signature, ...]]:
    """Per first kind of a value: the signatures of `scope` that can match it at all."""
    usable = [sig for sig in TOKEN_SIGNATURES if sig.scope in ("any", scope)]
    return {
        kind: tuple(sig for sig in usable if not sig.first or kind in sig.first) for kind in KINDS
    }


_SIGNATURES = {"as-is": _by_first_kind("as-is"), "quote": _by_first_kind("quote")}

# Cheap gate: a value of plain words none of which SQL knows cannot match any signature.
# (`!` is SQL's NOT and ` ? ` a PostgreSQL operator: neither is plain.)
_SPECIAL = re.compile(r"[^\w\s.,:/?-]")  # and `--`, `::`, ` ? `
_SPACE = r"[\x00-\x09\x0b-\x1f\x7f\s]"  # what collapse_space may make a plain space of
_QUESTION_OPERATOR = re.compile(rf"\?(?<={_SPACE}\?)(?={_SPACE})")
_PLAIN_BYTES = bytes(  # the same for ASCII text, as the bytes to delete: ten times faster
    code for code in range(128) if not _SPECIAL.match(chr(code))
)
# The lexer's glued keywords, one pattern each that starts with the keyword itself: the regex
# engine skips to it in C, where the lexer's one pattern tries every keyword after every digit.
GLUED_LETTERS = "noilh"  # every glued keyword holds one of them
_GLUED = tuple(
    (keyword, re.compile(rf"{keyword}(?<=[\d.]{keyword})\b")) for keyword in GLUED_KEYWORDS
)
_WORD = re.compile(r"[a-z_][a-z0-9_$]*")
# The same words in ASCII text, found with bytes.translate and bytes.split in C: each run of
# word characters is a word, less the digits and `$` it may start with.
_RUNS = bytes(
    code if chr(code) in "abcdefghijklmnopqrstuvwxyz0123456789_$" else 32 for code in range(256)
)
_KNOWN_WORDS = frozenset(word.encode() for word in WORD_KIND)
_GLUED_ENDINGS = tuple(keyword.encode() for keyword in GLUED_KEYWORDS)
# System procedure prefixes (xp_, sp_, utl_, dbms_, openrowset, …), each pattern led by a
# literal so that the regex engine skips along in C.
_SYSTEM_UNDERSCORE = re.compile(r"_(?:(?<=\bxp_)|(?<=\bsp_)|(?<=\butl_)|(?<=\bdbms_))")
_SYSTEM_OPEN = re.compile(r"open(?<=\bopen)(?:rowset|datasource|query)")
_EVASION = ("comment or control-character evasion", 0.3)
_MID_COMMENT = re.compile(r"c[^N]*N.")
_ODD = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\xa0]"
_ODD_SEPARATOR = re.compile(rf"{_ODD}(?<=\w{_ODD}){_ODD}*\w")  # a word, odd characters, a word
_BARE_OPERATOR = re.compile(r"(?:&&|\|\||<=>|!=|<>|xor|rlike|regexp|->>?|sounds like)$")
_BARE_OPERATOR_CHARS = 11
_BARE_OPERATOR_WEIGHT = 0.3
_STRONG = 0.7  # weaker signals are discounted in a double-quote context
_CAP = 0.99  # certainty is not on offer: leave room above every real finding
_REASON_WEIGHT = 0.2  # signals weaker than this are not worth naming
_DOUBLE_QUOTE = 0.5  # that discount
_PROSE_WORDS = 3  # spaces before the first quote from which the value reads as text
# Text signatures by their gates: all of some words are tokens, or one of some fragments occurs.
_WORD_GATES = tuple((index, sig.words) for index, sig in enumerate(TEXT_SIGNATURES) if sig.words)
_GATED_BY_FRAGMENT: dict[str, list[int]] = {}
for _index, _sig in enumerate(TEXT_SIGNATURES):
    for _fragment in _sig.fragments:
        _GATED_BY_FRAGMENT.setdefault(_fragment, []).append(_index)
_NOTHING = (0.0, "")
# A JSON document's strings are scored one by one; as a whole it is looked at only for a MongoDB
# query operator as a key (`{"password": {"$ne": null}}`), the same signal as `id[$ne]=1`.
_OPERATOR_KEY = re.compile(rf'"\$(?:{MONGO_OPERATORS})"\s*:', re.IGNORECASE)
_OPERATOR_NAME = re.compile(rf"\$(?:{MONGO_OPERATORS})", re.IGNORECASE)
_OPERATOR_KEY_FOUND = (0.5, "NoSQL operator")


def _complete(marked: str, match: re.Match[str]) -> bool:
    """Whether the island holding a match runs on to the end, a comment or a `;`."""
    bar = marked.find("|", match.end())
    if bar < 0 or "C" in match.group() or "D" in match.group():
        return True
    tail = marked[match.end() : bar]
    return "C" in tail or "D" in tail or ";" in tail


def _sqlish(text: str) -> bool:
    """Whether `text` holds a character or a word that some signature needs."""
    if GATES is not None:
        found: bool | None = GATES.sqlish(text)
        if found is not None:
            return found
    return _sqlish_python(text)


def _sqlish_python(text: str) -> bool:
    """_sqlish in Python: the reference of the native one (extract.GATES), and what runs
    where that one declines (a text with characters beyond Latin-1)."""
    if "--" in text or "::" in text or ("?" in text and _QUESTION_OPERATOR.search(text)):
        return True
    if text.isascii():
        if text.encode().translate(None, _PLAIN_BYTES):  # what is left is special
            return True
    elif _SPECIAL.search(text):
        return True
    if "_" in text and _SYSTEM_UNDERSCORE.search(text):
        return True
    if "open" in text and _SYSTEM_OPEN.search(text):
        return True
    if "infile" in text:  # LOAD DATA INFILE: none of its words is one the lexer knows
        return True
    if not text.isprintable() and _ODD_SEPARATOR.search(text):
        return True  # control characters between words: evasion, which adds up with the rest
    if not text.isascii():
        return not WORD_KIND.keys().isdisjoint(_WORD.findall(text)) or _glued(text)
    runs = set(text.encode().translate(_RUNS).split())
    return _knows_a_word(runs) or (_may_glue(text, runs) and _glued(text))


def _knows_a_word(runs: set[bytes]) -> bool:
    """Whether a word among the runs of word characters of an ASCII text (as `_WORD` finds
    them) is one the lexer knows."""
    if not _KNOWN_WORDS.isdisjoint(runs):
        return True  # a run that starts with a letter is a word as it stands
    return not _KNOWN_WORDS.isdisjoint(map(bytes.lstrip, runs, repeat(b"0123456789$")))


def _may_glue(text: str, runs: set[bytes]) -> bool:
    """False only when no keyword of an ASCII text can be glued to a number: one that is, is
    followed by no word character, so it ends a run of them or stands before a `$`."""
    return "$" in text or any(map(bytes.endswith, runs, repeat(_GLUED_ENDINGS)))


def _glued(text: str) -> bool:
    """Whether a keyword stands glued to a number (1e5union), which the lexer splits off: a
    word that _WORD, starting at the exponent's or the hex number's letter, does not see."""
    if not any(map(text.__contains__, GLUED_LETTERS)):
        return False  # (hex digits and the like, one character search each)
    return any(keyword in text and glued.search(text) for keyword, glued in _GLUED)


def _evasive(canonical: str, text: str, kinds: str) -> bool:
    """Whether comments or control characters stand where a plain space would do."""
    if _NATIVE is not None:
        native = _NATIVE.evasive(canonical, text, kinds)
        if native is not None:
            return native
    return _evasive_python(canonical, text, kinds)


def _evasive_python(canonical: str, text: str, kinds: str) -> bool:
    """`_evasive` in Python: the reference of the native one, and where it declines."""
    if "/*" in canonical and len(text) < len(canonical):
        return True
    if "N" in kinds and _MID_COMMENT.search(kinds):
        return True
    return not canonical.isprintable() and bool(_ODD_SEPARATOR.search(canonical))


def _weigh(context: Context, sig: Signature, match: re.Match[str], marked: str) -> float:
    """The weight of one match: the signature's, less where the SQL around it breaks."""
    weight = sig.weight
    if context.name == '"' and weight < _STRONG:
        # Real SQL quotes strings with '; a " is far more often an inch mark or a
        # quotation in text, so weak evidence there counts for less.
        weight *= _DOUBLE_QUOTE
    if not _complete(marked, match):
        weight *= sig.incomplete
    if not context.closes:
        weight *= sig.unclosed
    return weight


def _prose_prefix(text: str) -> dict[str, bool]:
    """Per quote: whether several words stand before its first occurrence in `text`."""
    if _NATIVE is not None:
        native = _NATIVE.prose_prefix(text)
        if native is not None:
            return native
    return _prose_prefix_python(text)


def _prose_prefix_python(text: str) -> dict[str, bool]:
    """`_prose_prefix` in Python: the reference of the native one, and where it declines."""
    found = {}
    for quote in "'\"":
        start = text.find(quote)
        found[quote] = start >= 0 and text.count(" ", 0, start) >= _PROSE_WORDS
    return found


@lru_cache(maxsize=CACHED_KINDS)
def _token_findings(
    kinds: str, prose_single: bool, prose_double: bool, evasive: bool
) -> tuple[tuple[str, float], ...]:
    """The evidence of the token signatures, context by context, after that of evasion when
    `evasive`: (name, weight) pairs in the order found.

    `kinds` are those of a value or of a sample of it; `prose_single`/`prose_double` tell
    whether several words stand before the first ' or " of the value. Nothing else counts, so
    values with the same kinds share the work: a payload sent again with other numbers and
    names in it, or the words and numbers that most short values are.
    """
    if _NATIVE is not None:
        native = _NATIVE.token_findings(kinds, prose_single, prose_double, evasive)
        if native is not None:
            return native
    return _token_findings_python(kinds, prose_single, prose_double, evasive)


def _token_findings_python(
    kinds: str, prose_single: bool, prose_double: bool, evasive: bool
) -> tuple[tuple[str, float], ...]:
    """`_token_findings` in Python, uncached: the reference of the native one, and where it
    declines."""
    found = {_EVASION[0]: _EVASION[1]} if evasive else {}
    for context in contexts(kinds, {"'": prose_single, '"': prose_double}):
        if _context_evidence(context, found):
            break
    return tuple(found.items())


def _context_evidence(context: Context, found: dict[str, float]) -> bool:
    """Add the evidence of one context; True once the confidence cannot grow any more."""
    folded = context.folded
    if not folded:
        return False
    scope = "as-is" if context.name == "as-is" else "quote"
    marked = ""
    for sig in _candidates(scope, folded[0], frozenset(folded)):
        # The pattern on the unmarked kinds first: most signatures cannot match most
        # values, and then the marking is never needed.
        if not sig.prefind(folded):
            continue
        marked = marked or mark(folded)
        match = sig.find(marked)
        if match:
            weight = _weigh(context, sig, match, marked)
            if weight > found.get(sig.name, 0.0):
                found[sig.name] = weight
                if _confidence(found) >= _CAP:
                    return True
    return False


@lru_cache(maxsize=4096)
def _candidates(scope: str, first: str, present: frozenset[str]) -> tuple[Signature, ...]:
    """The signatures of `scope` that can match kinds starting with `first` and holding
    `present`: the gate of each needs one of the kinds present. (Few sets of kinds occur.)"""
    return tuple(
        sig
        for sig in _SIGNATURES[scope].get(first, ())
        if not sig.gate or not present.isdisjoint(sig.gate)
    )


def _text_evidence(text: str, words: set[str], found: dict[str, float]) -> None:
    """Add the evidence of the text signatures (and of a value that is one bare operator)."""
    if _NATIVE is None or _NATIVE.text_evidence(text, words, found) is None:
        _text_evidence_python(text, words, found)


def _text_evidence_python(text: str, words: set[str], found: dict[str, float]) -> None:
    """`_text_evidence` in Python: the reference of the native one, and where it declines."""
    if len(text) <= _BARE_OPERATOR_CHARS and _BARE_OPERATOR.match(text):
        found["bare SQL operator"] = _BARE_OPERATOR_WEIGHT
    gated = {index for index, needed in _WORD_GATES if needed <= words}
    for fragment in filter(text.__contains__, _GATED_BY_FRAGMENT):  # each looked for once
        gated.update(_GATED_BY_FRAGMENT[fragment])
    for index in sorted(gated):
        sig = TEXT_SIGNATURES[index]
        if sig.search(text):
            found[sig.name] = max(found.get(sig.name, 0.0), sig.weight)


def _confidence(found: dict[str, float]) -> float:
    """Noisy-OR of the evidence: each signal alone could be wrong, all of them rarely are."""
    miss = 1.0
    for weight in found.values():
        miss *= 1.0 - weight
    return min(1.0 - miss, _CAP)


def _combine(found: dict[str, float]) -> tuple[float, str]:
    """The confidence and the names of the (at most three) strongest signals."""
    if _NATIVE is not None:
        native = _NATIVE.combine(found)
        if native is not None:
            return native
    return _combine_python(found)


def _combine_python(found: dict[str, float]) -> tuple[float, str]:
    """`_combine` in Python: the reference of the native one, and where it declines."""
    if not found:
        return 0.0, ""
    ranked = sorted(found.items(), key=lambda item: item[1], reverse=True)
    reason = ", ".join(name for name, weight in ranked[:3] if weight >= _REASON_WEIGHT)
    return round(_confidence(found), 3), reason


def sqli_confidence(value: str) -> tuple[float, str]:
    """Return how likely `value` is an SQL-injection payload (0–1) and the strongest signals."""
    return _scored(value[:MAX_CHARS])


def name_confidence(name: str) -> tuple[float, str]:
    """`sqli_confidence` of a name (a param's, a JSON key's), which may also be a MongoDB query
    operator as a whole: `{"password": {"$ne": null}}`."""
    if name[:1] == "$" and _OPERATOR_NAME.fullmatch(name):
        return _OPERATOR_KEY_FOUND
    return sqli_confidence(name)


@lru_cache(maxsize=CACHED_VALUES)
def _scored(value: str) -> tuple[float, str]:
    """The strongest result among the value itself and the values nested in it."""
    nested, whole_document = nested_strings(value)
    # The nested values first: they are shorter, and one that decides the value (a payload in
    # one query parameter of a long URL) spares the analysis of all of it. In a long value,
    # what is nested is sampled like the value: only where a string points at SQL does it get
    # the grammar.
    gated = len(value) > LONG_CHARS
    best = _NOTHING
    for part in _worth_analysing(nested, whole_document):
        if len(part) <= SHORT_PART_CHARS:
            result = _analyse_short(part, gated)
        else:
            result = _analyse(part, gated)
        if result[0] > best[0]:
            best = result
            if best[0] >= _CAP:
                return best  # decided: nothing can score higher
    # A JSON document is data: its strings, every one of them analysed on its own, are what
    # may reach a query; its braces and quotes would only muddle the grammar.
    if whole_document:
        if best[0] < _OPERATOR_KEY_FOUND[0] and '"$' in value and _OPERATOR_KEY.search(value):
            return _OPERATOR_KEY_FOUND
        return best
    result = _analyse(value)
    return result if result[0] >= best[0] else best  # the value itself, when as strong


def _worth_analysing(parts: list[str], whole_document: bool) -> list[str]:
    """The nested values to analyse one by one: those that may score at all, long query and
    XML values cut to their heads."""
    if GATES is not None:
        found: list[str] | None = GATES.worth_analysing(parts, whole_document)
        if found is not None:
            return found
    return _worth_analysing_python(parts, whole_document)


def _worth_analysing_python(parts: list[str], whole_document: bool) -> list[str]:
    """_worth_analysing in Python: the reference of the native one (extract.GATES)."""
    if not whole_document:
        # A long query or XML value is a stretch of the value analysed as a whole: what is
        # new in it is only that a query may start where it starts.
        parts = [part if len(part) <= LONG_CHARS else part[:NESTED_HEAD_CHARS] for part in parts]
    # A plain part (ASCII, nothing to decode) scores nothing unless it holds a character or
    # a word that some signature needs, and none does if all of them together hold none.
    plains = list(map(plain, parts))
    if sum(plains) < 2 or _sqlish(" ".join(compress(parts, plains)).lower()):
        return parts
    return [part for part, is_plain in zip(parts, plains, strict=True) if not is_plain]


def _analyse(value: str, gated: bool = False) -> tuple[float, str]:
    """Score one value as it stands (nested values are the caller's business); `gated`, only
    if it is short or an anchor of SQL stands in it."""
    canonical_text = canonical(value)  # decoded and Unicode-folded (lower case if plain)
    if not _sqlish(canonical_text):
        return _NOTHING
    text = clean(canonical_text)
    if gated and GATED_FROM_CHARS < len(text) <= LONG_CHARS and not anchored(text):
        return _NOTHING
    sampled = sample(text)  # a long text is gated by the anchors it is sampled by
    if not sampled:
        return _NOTHING  # nothing to lex: no token signature, no text signature can match
    if sampled is text and len(text) > LONG_CHARS:
        # A long text dense with SQL is analysed whole, but its head often decides already.
        head = _evidence(canonical_text, text[:LONG_CHARS], text[:LONG_CHARS])
        if head[0] >= _CAP:
            return head
    return _evidence(canonical_text, text, sampled)


def _evidence(canonical: str, text: str, sampled: str) -> tuple[float, str]:
    """Score the normalised `text` of a value by its sample (`text` itself when short)."""
    kinds, words = lex(sampled)
    prose = _prose_prefix(text)
    evasive = _evasive(canonical, text, kinds)
    found = dict(_token_findings(kinds, prose["'"], prose['"'], evasive))
    _text_evidence(sampled, words, found)
    if len(found) == 1 and _EVASION[0] in found:
        return _NOTHING
    return _combine(found)


_analyse_short = lru_cache(maxsize=CACHED_PARTS)(_analyse)
# The evidence stage in C (native/signatures.c), handed this module's own signatures and
# constants; None when native parts are off or not built.
_NATIVE = evidence_native.configured(sys.modules[__name__])
