"""SQL-injection scoring: `sqli_confidence(value) -> (confidence, signals)`.

normalise (undo encodings) → sample (a long value: only the text around anchors of SQL) →
lexer (token kinds) → grammar (one folded view per injection context, syntax errors marked) →
signatures (weighted patterns) → score (combined; nested values from extract; caches).
"""

from .score import sqli_confidence

__all__ = ["sqli_confidence"]
