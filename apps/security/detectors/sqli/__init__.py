"""SQL-injection scoring: `sqli_confidence(value) -> (confidence, signals)`, and
`name_confidence(name)` for names (param names, JSON keys), which may be MongoDB operators.

normalise (undo encodings) → sample (a long value: only the text around anchors of SQL) →
lexer (token kinds) → grammar (one folded view per injection context, syntax errors marked) →
signatures (weighted patterns) → score (combined; nested values from extract; caches).
"""

from .score import name_confidence, sqli_confidence

__all__ = ["name_confidence", "sqli_confidence"]
