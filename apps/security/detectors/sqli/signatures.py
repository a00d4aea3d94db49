"""Weighted signatures: token-sequence patterns per context, plus a few text patterns.

Token patterns run on the marked, folded kinds of one context (see `grammar`): they cannot
cross a `|`, so they only match inside an island of valid SQL. `^` is where the value starts:
in a quote context that is the broken-out string `s`.
"""

import re
from collections.abc import Callable
from typing import NamedTuple


class Signature(NamedTuple):
    name: str
    weight: float
    find: Callable[[str], re.Match[str] | None]  # match for anchored patterns, else search
    scope: str  # "any" context, "quote" contexts only, or the "as-is" context only
    incomplete: float  # factor when the island ends in a syntax error, not at the end
    unclosed: float  # factor when the query around the value cannot be closed
    gate: str  # token patterns: one of these kinds must occur (empty: no gate)
    first: str  # anchored token patterns: the kinds the value may start with
    # The same pattern run on the unmarked kinds: it matches whenever `find` would on the
    # marked ones, so a miss there spares the marking.
    prefind: Callable[[str], re.Match[str] | None]


# Building blocks over folded kinds. Parentheses nest up to three deep (a regex cannot count).
_BAL = r"\((?:[^()|]|\((?:[^()|]|\([^()|]*\))*\))*\)"
_ATOM = rf"[m!]*(?:[fFn]?{_BAL}|[sz1nvtTfFe])"  # a literal, name, call or parenthesised group
_ATOM_SHORT = _ATOM.replace("z", "")  # the same without a string of prose
_LIT = rf"[m!]*(?:[fF]?{_BAL}|[s1vt])"  # the same without bare names: data, not a column
_NUM = rf"[m!]*(?:[fF]?{_BAL}|[1vt])"  # the same without strings
_EXPR = rf"{_ATOM}(?:[am*]{_ATOM})*"
_CMP = rf"{_EXPR}(?:!?[ol]l?{_EXPR}|!?i{_BAL}|j!?[t1s])"  # a comparison
_DATA = rf"^\(*(?:{_CMP}|{_EXPR})\)*"  # the value as-is: what the application meant as data
# One more operator and operand after an expression: without AND/OR, then with them.
_MORE = rf"(?:(?:[am*]|!?[ol]l?){_ATOM}\)*|!?i{_BAL}|j!?[t1s])"
_MORE_ANY = rf"(?:(?:[am*b&]+|!?[ol]l?){_ATOM_SHORT}\)*|!?i{_BAL}|j!?[t1s])"
_OUT = rf"^s+\)*{_MORE}*"  # a quote context: the string closed, maybe some arithmetic on it
_END = r"(?=$|[CD;&b)])"
_DATA_FIRST = "(m!sz1nvtTfFe"  # what `_DATA` may start with
_SELECT_ITEM = r"(?:$|[1svtT*(fFm!kes]|n(?:$|[,.CDkh);(]))"


def _sig(
    name: str,
    weight: float,
    pattern: str,
    scope: str = "any",
    incomplete: float = 0.6,
    unclosed: float = 0.85,
    *,
    gate: str = "",
    first: str = "",
) -> Signature:
    """Build a token signature: anchored patterns (`^…`) are matched, others searched."""
    compiled = re.compile(pattern)
    find = compiled.match if pattern.startswith("^") else compiled.search
    # Bars only narrow a pattern that never asks for one; one that does, asks for it as \|.
    loose = re.compile(pattern.replace(r"\|?", "").replace(r"\|", ""))
    prefind = loose.match if pattern.startswith("^") else loose.search
    return Signature(name, weight, find, scope, incomplete, unclosed, gate, first, prefind)


_STRONG = (
    _sig("UNION SELECT", 0.92, r"U[k(]*S" + _SELECT_ITEM, incomplete=0.5, gate="U"),
    _sig("stacked query", 0.88, r";(?:S(?:[^|]|$)|E[^|?]|kv|Wk)", incomplete=0.3, gate=";"),
    _sig("stacked call", 0.7, r";F\(", incomplete=0.5, gate="F"),
    _sig("stacked call", 0.6, r";f[(!]", incomplete=0.5, gate=";"),
    _sig("time delay WAITFOR", 0.92, r"W[kf][sz1]", gate="W"),
    # obj.sleep(…) is a method call in code; a schema-qualified SQL call has a `T` before it.
    _sig("dangerous function", 0.85, r"(?<![.])F\((?:$|[^|]*?\))", gate="F"),
    _sig("dangerous function", 0.45, r"(?<![.])F\([^|]{3}", incomplete=1.0, gate="F"),
    _sig("system catalogue", 0.75, r"T", incomplete=1.0, unclosed=1.0, gate="T"),
)
# Boolean injection: break out of the data, then AND/OR something.
_BOOLEAN = (
    _sig("tautology", 0.85, rf"{_OUT}[&b]\(*{_CMP}", "quote", gate="&b", first="s"),
    _sig("tautology", 0.55, rf"^z\)*{_MORE}*[&b]\(*{_CMP}", "quote", gate="&b", first="z"),
    _sig("tautology", 0.8, rf"{_DATA}[&b]\(*{_CMP}", "as-is", gate="&b", first=_DATA_FIRST),
    _sig(
        "boolean probe",
        0.7,
        rf"{_OUT}[&b]\(*{_LIT}\)*{_END}",
        "quote",
        unclosed=0.6,
        gate="&b",
        first="s",
    ),
    _sig(
        "boolean probe",
        0.45,
        rf"{_OUT}[&b]\(*[m!]*[nT]\)*(?=$|[CD;])",
        "quote",
        unclosed=0.6,
        gate="&b",
        first="s",
    ),
    _sig(
        "boolean probe",
        0.45,
        rf"^\(*{_NUM}\)*[&b]\(*{_NUM}\)*{_END}",
        "as-is",
        gate="&b",
        first=_DATA_FIRST,
    ),
    _sig("boolean subquery", 0.8, rf"^[sz]\)*{_MORE}*[&b][(!]*S", "quote", gate="S", first="sz"),
    _sig("boolean subquery", 0.75, rf"{_DATA}[&b][(!]*S", "as-is", gate="S", first=_DATA_FIRST),
    _sig("boolean function", 0.75, rf"{_OUT}[&b][(!m]*[fF]\(", "quote", gate="fF", first="s"),
    _sig(
        "boolean function", 0.65, rf"{_DATA}[&b][(!m]*[fF]\(", "as-is", gate="fF", first=_DATA_FIRST
    ),
    _sig(
        "appended condition",
        0.6,
        rf"^[&b]\(*{_EXPR}[ol](?:{_EXPR}|[(!m]*$)",
        "as-is",
        gate="olij",
        first="&b",
    ),
    _sig("appended condition", 0.5, rf"\|&\(*{_CMP}", "as-is", gate="&"),
    _sig(
        "tautology fragment",
        0.6,
        rf"^[sz]\)*{_MORE}*[&b]{_EXPR}[olamij!]$",
        "quote",
        1,
        1,
        gate="&b",
        first="sz",
    ),
    _sig("tautology fragment", 0.45, rf"^[&b]{_EXPR}[olij]$", "as-is", 1, 1, first="&b"),
)
# Breaking out of a string, then an expression, a comment or a statement.
_BREAKOUT = (
    _sig("breakout expression", 0.6, rf"{_OUT}[omalijb&!kheU][^|]*C", "quote", gate="C", first="s"),
    _sig("breakout terminator", 0.45, rf"{_OUT};[CD]?$", "quote", gate=";", first="s"),
    _sig("breakout list", 0.4, rf"{_OUT},[^|]", "quote", unclosed=0.8, gate=",", first="s"),
    _sig("breakout keyword", 0.4, r"^s+\)*\|?;?[USh]", "quote", 1, 1, gate="USh", first="s"),
    _sig(
        "string expression",
        0.5,
        rf"^s+\)*{_MORE_ANY}+(?=$|[CD;])",
        "quote",
        unclosed=0.5,
        gate="omalijb&*",
        first="s",
    ),
    _sig(
        "string comparison",
        0.45,
        rf"^\(*s\)*{_MORE}*!?[ol]",
        "as-is",
        unclosed=0.7,
        gate="olij",
        first="(s",
    ),
    _sig("comment truncation", 0.55, rf"{_OUT}C", "quote", gate="C", first="s"),
    _sig("comment truncation", 0.45, r"^m?[1n]\)+C", "as-is", gate="C", first="m1n"),
    _sig("expression truncation", 0.45, r"^[^|]*[&boliS(*][^|]*C$", "as-is", gate="C"),
)
# Pieces of a query: what a scanner sends to probe a filter, or a clause appended to one.
_FRAGMENTS = (
    _sig(
        "continuation fragment",
        0.4,
        r"^[&blij,U)][^|]*[^|n1,sz)(khe.am][^|]*$",
        "as-is",
        1,
        0.7,
        first="&blij,U)",
    ),
    _sig("clause fragment", 0.4, r"^h[^|]*(?:[olj&b;]|i\(|\([^n|)])", "as-is", first="h"),
    _sig("clause fragment", 0.45, r"^\)+[khU;]", "as-is", first=")"),
    _sig("IN list fragment", 0.4, r"^!?i\([^|]*$", "as-is", first="!i"),
    _sig("UNION fragment", 0.4, r"^U[^|]*$", "as-is", first="U"),
    _sig("UNION fragment", 0.5, r"[1s)]U[CD]*$", gate="U"),
    _sig("subquery", 0.5, r"\(+S(?:$|[^|]*[^|nkhe)])", gate="S"),
    _sig("nested SQL functions", 0.4, r"[fFn]\([(!m]*[fF]\(", gate="fF"),
    _sig("SQL functions", 0.4, r"f\([^|]*f\(", gate="f"),
    _sig("clause after data", 0.5, r"^m?[1s]\)*h[^|]*[kholij(]", "as-is", gate="h", first="m1s"),
    _sig("SQL function", 0.25, r"f\([^|]*?\)", gate="f"),
    _sig("SQL function", 0.28, r"f\([^|)]*$", gate="f"),
    _sig("open call fragment", 0.35, r"^[fFEth][^(]{0,4}\($", "as-is", 1, 1, first="fFEth"),
    _sig("SELECT statement", 0.45, r"^\(*S[^|]*[^|nkhesz]", first="(S"),
    _sig("SELECT statement", 0.25, r"^\(*S[^|]*h", gate="h", first="(S"),
    _sig("statement", 0.5, r"^E[^|]*;[CD]?$", "as-is", gate=";", first="E"),
    _sig("statement", 0.2, r"^E[nTkhv]", "as-is", first="E"),
)
TOKEN_SIGNATURES = _STRONG + _BOOLEAN + _BREAKOUT + _FRAGMENTS


class TextSignature(NamedTuple):
    name: str
    weight: float
    search: Callable[[str], re.Match[str] | None]
    # Cheap gates before the regex: all these words are tokens of the value, or one of the
    # fragments occurs in its text.
    words: frozenset[str]
    fragments: tuple[str, ...]


def _text(
    name: str, weight: float, pattern: str, words: str = "", fragments: tuple[str, ...] = ()
) -> TextSignature:
    """Build a text signature gated by `words` (all of them) or `fragments` (any of them)."""
    return TextSignature(
        name, weight, re.compile(pattern).search, frozenset(words.split()), fragments
    )


_DDL_OBJECT = r"(?:table|database|schema|user|procedure|function|view|index|trigger|login)\b"
MONGO_OPERATORS = (
    "eq|ne|gte?|lte?|n?in|regex|where|exists|not|nor|or|and|elemmatch|text|expr|all|size|type"
)
TEXT_SIGNATURES = (
    _text(
        "CASE WHEN",
        0.45,
        r"case(?<!\wcase)\b[^;]{0,80}?\bwhen\b[^;]{0,80}?\bthen\b",
        "case when then",
    ),
    _text(
        "ORDER BY column probe", 0.5, r"order(?<!\worder) by \d+\s*(?:$|--|#|,|/\*|;)", "order by"
    ),
    _text("GROUP BY … HAVING", 0.5, r"group(?<!\wgroup) by\b.*\bhaving\b", "group having"),
    # A signature of several alternatives is written as several parts under one name, each
    # starting with a literal and gated by its own fragment: one alternation whose branches
    # start differently makes the regex engine try every position of the text.
    _text("file access", 0.85, r"into (?:out|dump)file\b", fragments=("file",)),
    _text("file access", 0.85, r"load data (?:local )?infile\b", fragments=("file",)),
    _text(
        "char() encoding",
        0.45,
        r"ch(?<!\wch)(?:ar|r)\(\s*\d+\s*(?:,\s*\d+\s*)*\)",
        fragments=("char(", "chr("),
    ),
    _text("hex literal", 0.2, r"0x(?<!\w0x)[0-9a-f]{6,}", fragments=("0x",)),
    _text("literal tautology", 0.35, r"^(\w+) ?(?:=|==|<=>) ?\1$", fragments=("=",)),
    # A MongoDB query operator smuggled in as a parameter's key (`id[$ne]=1`): the operator
    # injection of document stores, which CRS rule group 942 counts with SQL's.
    _text("NoSQL operator", 0.5, rf"\[\$(?:{MONGO_OPERATORS})\]", fragments=("[$",)),
    _text("system variable", 0.6, r"@@[a-z_]{3,}(?![\w@])", fragments=("@@",)),
    _text(
        "PostgreSQL cast",
        0.35,
        r"::(?:int|integer|bigint|smallint|text|varchar|numeric|json|jsonb|bool|boolean"
        r"|double precision|regclass)\b",
        fragments=("::",),
    ),
    # A name starts where no other word character stands before it, as the prefilter of
    # `score` (which waves on plain words SQL does not know) assumes: backdrop is no drop.
    _text("system procedure", 0.5, r"xp_(?<!\wxp_)[a-z]{4}", fragments=("xp_",)),
    _text("system procedure", 0.5, r"sp_(?<!\wsp_)[a-z]{4}", fragments=("sp_",)),
    _text("system procedure", 0.5, r"utl_(?<!\wutl_)(?:http|inaddr|file)\b", fragments=("utl_",)),
    _text("system procedure", 0.5, r"dbms_(?<!\wdbms_)[a-z]", fragments=("dbms_",)),
    _text(
        "system procedure",
        0.5,
        r"open(?<!\wopen)(?:rowset|datasource|query)\b",
        fragments=("open",),
    ),
    *(
        _text("DDL/DML statement", 0.55, pattern, fragments=(fragment,))
        for fragment, pattern in (
            ("drop ", rf"drop(?<!\wdrop) {_DDL_OBJECT}"),
            ("truncate ", rf"truncate(?<!\wtruncate) {_DDL_OBJECT}"),
            ("alter ", rf"alter(?<!\walter) {_DDL_OBJECT}"),
            ("create ", rf"create(?<!\wcreate) {_DDL_OBJECT}"),
            ("set @", r"set @@?\w"),
            ("delete ", r"delete from \S+ where\b"),
            ("insert ", r"insert into \S+ ?(?:\(|values|select)"),
            ("update ", r"update \S+ set \S+ ?="),
            ("declare ", r"declare @"),
            ("exec", r"exec(?<![.\w]exec)(?:ute)?(?: ?[(@]| (?:master\.|xp_|sp_))"),
        )
    ),
)
