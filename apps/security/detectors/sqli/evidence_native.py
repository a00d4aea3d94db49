"""The evidence stage of `score` in C (`native/signatures.c`), configured with the data of
`score`, `grammar` and `signatures` themselves: C holds no table, weight or limit of its own.

`score` imports `configured` and calls it once at the end of its module, with itself; the
module it returns (None when native parts are off or not built) answers `token_findings`,
`text_evidence`, `combine`, `evasive` and `prose_prefix`, each None where it declines an input
(then the Python function of `score` does the work). Configuring again is harmless.
"""

from types import ModuleType

from . import grammar
from .native import load
from .signatures import TEXT_SIGNATURES


def configured(score: ModuleType) -> ModuleType | None:
    """The native evidence stage configured from the module `score`, or None."""
    native = load("signatures")
    if native is None:
        return None
    native.configure(
        signatures=score._SIGNATURES,
        kinds=grammar.KINDS,
        bad_pairs=grammar._BAD_PAIRS,
        fold=grammar._FOLD,
        folded=grammar._FOLDED,
        prose_tokens=grammar._PROSE_TOKENS,
        evasion=score._EVASION,
        strong=score._STRONG,
        cap=score._CAP,
        double_quote=score._DOUBLE_QUOTE,
        reason_weight=score._REASON_WEIGHT,
        prose_words=score._PROSE_WORDS,
        mid_comment=score._MID_COMMENT,
        odd_separator=score._ODD_SEPARATOR,
        text_signatures=TEXT_SIGNATURES,
        word_gates=score._WORD_GATES,
        fragments=score._GATED_BY_FRAGMENT,
        bare_operator=score._BARE_OPERATOR.match,
        bare_operator_chars=score._BARE_OPERATOR_CHARS,
        bare_operator_name="bare SQL operator",
        bare_operator_weight=score._BARE_OPERATOR_WEIGHT,
    )
    return native
