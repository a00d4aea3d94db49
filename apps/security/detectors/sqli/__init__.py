"""SQL-injection scoring: `sqli_confidence(value) -> (confidence, signals)`.

normalise (undo encodings) → lexer (token kinds) → grammar (one folded view per injection
context, syntax errors marked) → signatures (weighted patterns) → score (combined).
"""

from .score import sqli_confidence

__all__ = ["sqli_confidence"]
