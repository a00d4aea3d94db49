"""Combine signature evidence from every injection context into one confidence in [0, 1]."""

import re

from .extract import nested_values
from .grammar import KINDS, Context, contexts, mark
from .lexer import WORD_KIND, lex
from .normalise import (
    MAX_CHARS,
    collapse_space,
    decode,
    fold_unicode,
    unquote_names,
    unwrap_comments,
)
from .signatures import TEXT_SIGNATURES, TOKEN_SIGNATURES, Signature


def _by_first_kind(scope: str) -> dict[str, tuple[Signature, ...]]:
    """Per first kind of a value: the signatures of `scope` that can match it at all."""
    usable = [sig for sig in TOKEN_SIGNATURES if sig.scope in ("any", scope)]
    return {
        kind: tuple(sig for sig in usable if not sig.first or kind in sig.first) for kind in KINDS
    }


_SIGNATURES = {"as-is": _by_first_kind("as-is"), "quote": _by_first_kind("quote")}
_TEXT_WORDS = frozenset(word for sig in TEXT_SIGNATURES for word in sig.words)
_TEXT_FRAGMENTS = tuple(fragment for sig in TEXT_SIGNATURES for fragment in sig.fragments)

# Cheap gate: a value of plain words none of which SQL knows cannot match any signature.
_SPECIAL = re.compile(r"[^\w\s.,:/?!-]|--|::")
_WORD = re.compile(r"[a-z_][a-z0-9_$]*")
_SYSTEM_PREFIX = re.compile(r"\b(?:xp|sp|utl|dbms)_|\bopen(?:rowset|datasource|query)")
_EVASION = ("comment or control-character evasion", 0.3)
_MID_COMMENT = re.compile(r"c[^N]*N.")
_ODD_SEPARATOR = re.compile(r"\w[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\xa0]+\w")
_BARE_OPERATOR = re.compile(r"(?:&&|\|\||<=>|!=|<>|xor|rlike|regexp|->>?|sounds like)$")
_BARE_OPERATOR_CHARS = 11
_BARE_OPERATOR_WEIGHT = 0.3
_STRONG = 0.7  # weaker signals are discounted in a double-quote context
_CAP = 0.99  # certainty is not on offer: leave room above every real finding
_REASON_WEIGHT = 0.2  # signals weaker than this are not worth naming
_DOUBLE_QUOTE = 0.5  # that discount
_PROSE_WORDS = 3  # spaces before the first quote from which the value reads as text


def _complete(marked: str, match: re.Match[str]) -> bool:
    """Whether the island holding a match runs on to the end, a comment or a `;`."""
    bar = marked.find("|", match.end())
    if bar < 0 or "C" in match.group() or "D" in match.group():
        return True
    tail = marked[match.end() : bar]
    return "C" in tail or "D" in tail or ";" in tail


def _sqlish(text: str) -> bool:
    """Whether `text` holds a character or a word that some signature needs."""
    if _SPECIAL.search(text):
        return True
    return not WORD_KIND.keys().isdisjoint(_WORD.findall(text)) or bool(_SYSTEM_PREFIX.search(text))


def _evasive(canonical: str, text: str, kinds: str) -> bool:
    """Whether comments or control characters stand where a plain space would do."""
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
    found = {}
    for quote in "'\"":
        start = text.find(quote)
        found[quote] = start >= 0 and text.count(" ", 0, start) >= _PROSE_WORDS
    return found


def _token_evidence(text: str, kinds: str, found: dict[str, float]) -> None:
    """Add the evidence of the token signatures, context by context."""
    for context in contexts(kinds, _prose_prefix(text)):
        if _context_evidence(context, found):
            return


def _context_evidence(context: Context, found: dict[str, float]) -> bool:
    """Add the evidence of one context; True once the confidence cannot grow any more."""
    folded = context.folded
    present = set(folded)
    marked = ""
    by_first = _SIGNATURES["as-is" if context.name == "as-is" else "quote"]
    for sig in by_first.get(folded[:1], ()):
        # Cheap gates first, then the pattern on the unmarked kinds: most signatures
        # cannot match most values, and then the marking is never needed.
        if (sig.gate and present.isdisjoint(sig.gate)) or not sig.prefind(folded):
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


def _text_evidence(text: str, words: set[str], found: dict[str, float]) -> None:
    """Add the evidence of the text signatures (and of a value that is one bare operator)."""
    if len(text) <= _BARE_OPERATOR_CHARS and _BARE_OPERATOR.match(text):
        found["bare SQL operator"] = _BARE_OPERATOR_WEIGHT
    if _TEXT_WORDS.isdisjoint(words) and not any(map(text.__contains__, _TEXT_FRAGMENTS)):
        return
    for sig in TEXT_SIGNATURES:
        gated_in = (sig.words and sig.words <= words) or (
            sig.fragments and any(map(text.__contains__, sig.fragments))
        )
        if gated_in and sig.search(text):
            found[sig.name] = max(found.get(sig.name, 0.0), sig.weight)


def _confidence(found: dict[str, float]) -> float:
    """Noisy-OR of the evidence: each signal alone could be wrong, all of them rarely are."""
    miss = 1.0
    for weight in found.values():
        miss *= 1.0 - weight
    return min(1.0 - miss, _CAP)


def _combine(found: dict[str, float]) -> tuple[float, str]:
    """The confidence and the names of the (at most three) strongest signals."""
    if not found:
        return 0.0, ""
    ranked = sorted(found.items(), key=lambda item: item[1], reverse=True)
    reason = ", ".join(name for name, weight in ranked[:3] if weight >= _REASON_WEIGHT)
    return round(_confidence(found), 3), reason


def sqli_confidence(value: str) -> tuple[float, str]:
    """Return how likely `value` is an SQL-injection payload (0–1) and the strongest signals."""
    value = value[:MAX_CHARS]
    best = _analyse(value)
    for nested in nested_values(value):
        result = _analyse(nested)
        if result[0] > best[0]:
            best = result
    return best


def _analyse(value: str) -> tuple[float, str]:
    """Score one value as it stands (nested values are the caller's business)."""
    canonical = fold_unicode(decode(value))
    if not _sqlish(canonical):
        return 0.0, ""
    text = collapse_space(unquote_names(unwrap_comments(canonical)))
    found: dict[str, float] = {}
    kinds, words = lex(text)
    if _evasive(canonical, text, kinds):
        found[_EVASION[0]] = _EVASION[1]
    _token_evidence(text, kinds, found)
    _text_evidence(text, words, found)
    if len(found) == 1 and _EVASION[0] in found:
        return 0.0, ""
    return _combine(found)
