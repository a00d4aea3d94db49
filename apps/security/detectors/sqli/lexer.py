"""Lex normalised text into a string of one-character token kinds (a libinjection-style view).

Quotes and comment openers are emitted as single tokens, not as whole strings or comments:
which characters are inside a string depends on the context the value lands in (after a
number, inside '…', inside "…"), so `grammar` folds them per context from this one lexing.

The lexer is built for speed on long, harmless text: multi-character operators, long numbers
and @variables become placeholder characters, one regex split cuts out every punctuation
character and `str.split` the words, all in C; each token is then looked up in one dict.

Kinds: ' " ` quotes, c line-comment opener, { unterminated block comment, N newline,
1 number, n identifier, v @variable, s string and z string of prose (after folding),
t null/true/false, T system table, e end/asc/desc, U union, S select, E other statement,
W waitfor, h clause keyword (from, where, order, …), k other keyword, & and/or/xor,
b || &&, ! not/unary, o comparison, l word operator (like, between, …), i in, j is,
a other operator, m + or -, * star, f SQL function, F dangerous function,
( ) , ; . punctuation, ? anything else.
"""

import re
from itertools import repeat
from typing import NamedTuple

from . import native

# Multi-character operators, longest first, each with the placeholder that stands for it.
_OPERATORS = (
    ("<=>", "\ue000", "o"),
    ("->>", "\ue001", "a"),
    ("#>>", "\ue002", "a"),
    ("<>", "\ue003", "o"),
    ("!=", "\ue004", "o"),
    ("<=", "\ue005", "o"),
    (">=", "\ue006", "o"),
    ("==", "\ue007", "o"),
    ("@>", "\ue008", "o"),
    ("<@", "\ue009", "o"),
    ("||", "\ue00a", "b"),
    ("&&", "\ue00b", "b"),
    ("::", "\ue00c", "a"),
    ("->", "\ue00d", "a"),
    (":=", "\ue00e", "a"),
    ("<<", "\ue00f", "a"),
    (">>", "\ue010", "a"),
    ("#>", "\ue011", "a"),
    ("*/", " ", ""),  # a stray closer: its opener was unwrapped or never there
    ("--", "\ue012", "c"),
    ("/*", "\ue013", "{"),
    ("\n", "\ue014", "N"),
    ("?|", "\ue015", "o"),  # PostgreSQL JSON key tests
    ("?&", "\ue016", "o"),
    (" ? ", "\ue017", "o"),
)
_PUNCTUATION_KIND = {
    **dict.fromkeys("'\"`();,.*!", None),  # their own kind
    **dict.fromkeys("=<>", "o"),
    **dict.fromkeys("+-", "m"),
    **dict.fromkeys("/%^|&", "a"),
    "~": "!",
    "#": "c",
    **dict.fromkeys("?[]{}\\:", "?"),
}
# Every punctuation character becomes a token of its own; whitespace is cut by str.split after.
_SPACED_PUNCTUATION = tuple((char, f" {char} ") for char in _PUNCTUATION_KIND)
_NUMBER_PLACEHOLDER, _VARIABLE_PLACEHOLDER = "\ue020", "\ue021"
# Short numbers are looked up like words (below); longer ones, hex, exponents and @variables
# become placeholders first (a regex with a fixed replacement: no Python call per match).
_SHORT_NUMBER_DIGITS = 4
_RARE_NUMBER = re.compile(rf"[\d.](?:(?<=\d)(?:\d{{{_SHORT_NUMBER_DIGITS}}}|[a-z.])|(?<=\.)\d)")
_LONG_NUMBER = re.compile(
    # One class first, a digit or a dot, so that the engine skips to candidates in C; then
    # which of the two it was, and "not inside a word".
    r"[\d.](?:(?<![\w@$.]\d)(?<=\d)(?:(?<=0)x[0-9a-f]+|(?<=0)b[01]+|\d*(?:\.\d*)?e[+-]?\d+"
    rf"|\d*\.\d*|\d{{{_SHORT_NUMBER_DIGITS},}})(?![\w$])|(?<![\w.]\.)(?<=\.)\d+(?:e[+-]?\d+)?(?![\w$]))"
)
# MySQL reads 1union as 1 union and 1.or as 1. or: split a keyword glued to a number.
GLUED_KEYWORDS = (
    *("union", "or", "and", "xor", "div", "from", "like", "limit", "order", "group", "having"),
    *("select", "into", "not", "where"),
)
_GLUED_KEYWORD = re.compile(rf"[\d.](?=(?:{'|'.join(GLUED_KEYWORDS)})\b)")


def _ascii_digits(pattern: re.Pattern[str]) -> re.Pattern[str]:
    """The same pattern for text without other digits than ASCII ones: `\\d` is a Unicode
    category, which the regex engine tests per character, `[0-9]` a set it skips along in C."""
    return re.compile(pattern.pattern.replace(r"[\d.]", "[0-9.]").replace(r"\d", "[0-9]"))


_LONG_ASCII_NUMBER = _ascii_digits(_LONG_NUMBER)
_GLUED_ASCII_KEYWORD = _ascii_digits(_GLUED_KEYWORD)
# Each ASCII character as a digit (0), a dot, `x` (a hex prefix, or xor), `b` or `e` (a binary
# prefix or an exponent: L), another letter that starts a glued keyword (k), another lower-case
# letter (a), or nothing of interest (a space): one bytes.translate, then substring tests, tell
# in C whether _LONG_NUMBER and _GLUED_KEYWORD could find anything at all.
_SHAPE = bytes(
    ord(
        "0"
        if "0" <= char <= "9"
        else "."
        if char == "."
        else "X"
        if char == "x"
        else "L"
        if char in "be"
        else "k"
        if char in "uoadflghsinw"
        else "a"
        if "a" <= char <= "z"
        else " "
    )
    for char in map(chr, range(256))
)
# What each match of _LONG_NUMBER starts with: 0x, 0b, 1e5, 1., .5, or five digits in a row.
_LONG_SHAPES = (b"00000", b"0X", b"0L", b"0.", b".0")
# A digit or a dot, then a keyword's first letter; `x` after a digit is nearly always a hex
# prefix, so there only `xor` itself tells.
_GLUED_SHAPES = (b"0k", b".k", b".X")
_NON_ASCII_DIGIT = re.compile(r"[^\x00-\x7f](?<=\d)")  # \d of a str pattern is any decimal
_VARIABLE = re.compile(r"@(?<![\w@$]@)@?[a-z_][\w$]*(?:\.[\w$]+)*")
# A dash or hash comment that opens with a space and a word is text ("-- see below",
# "# Heading"), and so is a hash before a digit ("#262"); they get their own placeholders.
# Each starts with a literal, so that the regex engine can skip to candidates quickly.
_DASH_TEXT = re.compile(r"-- (?=[^\W\d])")
_HASH_TEXT = re.compile(r"#(?: (?=[^\W\d])|(?=\d))")
_CALLABLE_OPERATORS = frozenset(("mod", "div"))
_PROSE_COMMENT, _ISSUE_NUMBER = "\ue01a", "\ue01b"
# Operators grouped by their first character: one cheap test skips a whole group.
_OPERATORS_BY_HEAD: dict[str, list[tuple[str, str]]] = {}
for _operator, _placeholder, _ in _OPERATORS:
    _OPERATORS_BY_HEAD.setdefault(_operator[0], []).append((_operator, _placeholder))


def _words(kind: str, names: str) -> dict[str, str]:
    """Map each of the space-separated `names` to `kind`."""
    return dict.fromkeys(names.split(), kind)


# Weak SQL functions: common in SQL, but several are also ordinary words or code.
_FUNCTIONS = """
    abs acos aes_decrypt aes_encrypt ascii asin atan avg bit_length cast ceil ceiling
    char char_length character_length chr coalesce collation compress concat conv convert
    cos cot count crc32 current_database current_schema current_user database date
    date_format datediff day dayname decode degrees encode exp export_set find_in_set elt if
    floor format greatest hex iif ifnull instr isnull json_array json_extract json_keys
    json_object json_search json_valid jsonb_extract_path last_insert_id lcase least left
    len length ln locate log log10 log2 lower lpad ltrim make_set max md5 mid min minute
    mod month now nullif nvl oct ord pow quarter radians rand replace
    reverse right round row_count rpad rtrim schema session_user sha sha1 sha2 sin
    soundex sqrt stddev strcmp substr substring substring_index sum sysdate
    system_user tan to_char to_number trim ucase uncompress unhex upper user uuid
    version week xmltype year db_name time string_agg listagg array_agg ascii_str regexp_substr
    """
# Functions with (almost) no business in a parameter: time delays, file access, error-based
# extraction, out-of-band channels, and the aggregators sqlmap uses to exfiltrate rows.
_DANGEROUS = """
    sleep benchmark pg_sleep load_file extractvalue updatexml xp_cmdshell xp_dirtree
    xp_regread xp_fileexist sp_executesql sp_oacreate sp_makewebtask utl_http utl_inaddr
    dbms_pipe dbms_lock dbms_xmlgen dbms_xmlquery dbms_java randomblob group_concat
    concat_ws name_const lo_get lo_import lo_export pg_read_file pg_ls_dir openrowset
    opendatasource openquery
    ctxsys sys_eval sys_exec get_lock release_lock
    """
_SYSTEM_TABLES = """
    information_schema sysobjects syscolumns sysusers sysdatabases sysprocesses
    pg_catalog pg_shadow pg_user pg_database pg_tables pg_namespace sqlite_master
    sqlite_schema sqlite_temp_master all_tables all_tab_columns user_tables
    user_tab_columns all_users dba_users msdb tempdb rdb$database
    """
WORD_KIND: dict[str, str] = {
    **_words("f", _FUNCTIONS),
    **_words("F", _DANGEROUS),
    **_words("T", _SYSTEM_TABLES),
    **_words("U", "union intersect"),
    **_words("S", "select"),
    **_words(
        "E",
        "insert update delete drop create alter exec execute declare shutdown grant revoke"
        " rename merge call handler prepare deallocate truncate",
    ),
    **_words("W", "waitfor"),
    **_words(
        "k",
        "by as on join inner outer"
        " cross natural using case when then else top distinct distinctrow all any some"
        " for table outfile dumpfile delay with fetch rows only returning"
        " partition over interval window straight_join high_priority sql_calc_found_rows"
        " row analyse set",
    ),
    **_words("h", "from where group order having limit offset into procedure values"),
    **_words("e", "end asc desc"),
    **_words("&", "and or xor"),
    **_words("!", "not exists binary"),
    **_words(
        "l",
        "like rlike regexp glob sounds div mod between similar ilike collate escape notnull",
    ),
    **_words("i", "in"),
    **_words("j", "is"),
    **_words("t", "null true false unknown default current_timestamp"),
}
KIND: dict[str, str] = {
    **{
        f"{number:0{width}d}": "1"
        for width in range(1, _SHORT_NUMBER_DIGITS + 1)
        for number in range(10**width)
    },
    **WORD_KIND,
    **{char: kind or char for char, kind in _PUNCTUATION_KIND.items()},
    **{placeholder: kind for _, placeholder, kind in _OPERATORS if kind},
    _PROSE_COMMENT: "cnnn",  # a comment with a body of text: folded as a long one
    _ISSUE_NUMBER: "n",
    _NUMBER_PLACEHOLDER: "1",
    _VARIABLE_PLACEHOLDER: "v",
    "@": "?",
}


def _replace_operators(text: str) -> str:
    """Replace multi-character operators and text-like comment marks by placeholders."""
    if "-- " in text:
        text = _DASH_TEXT.sub(f" {_PROSE_COMMENT} ", text)
    if "#" in text:
        text = _HASH_TEXT.sub(_hash_mark, text)
    for head, operators in _OPERATORS_BY_HEAD.items():
        if head in text:
            for operator, placeholder in operators:
                if operator in text:
                    text = text.replace(operator, f" {placeholder} ")
    return text


def _hash_mark(match: re.Match[str]) -> str:
    """The placeholder for a hash that reads as text: a heading or an issue number."""
    return f" {_ISSUE_NUMBER if match.group() == '#' else _PROSE_COMMENT} "


def _replace_literals(text: str) -> str:
    """Replace long numbers (and split keywords glued to them) and @variables."""
    if text.isascii() or not _NON_ASCII_DIGIT.search(text):
        # Other characters than ASCII (the operator placeholders, accented letters) are
        # neither digits nor the ASCII letters and dots the patterns ask for: a '?' will do.
        shape = text.encode("ascii", "replace").translate(_SHAPE)
        long = any(map(shape.__contains__, _LONG_SHAPES))
        glue = any(map(shape.__contains__, _GLUED_SHAPES)) or (b"0X" in shape and "xor" in text)
        glued_keyword, long_number = _GLUED_ASCII_KEYWORD, _LONG_ASCII_NUMBER
    else:
        long = glue = bool(_RARE_NUMBER.search(text))
        glued_keyword, long_number = _GLUED_KEYWORD, _LONG_NUMBER
    # Splitting a glued keyword off only inserts spaces: it never makes a long number where
    # the shapes saw none.
    if glue:
        text = glued_keyword.sub(r"\g<0> ", text)
    if long:
        text = long_number.sub(f" {_NUMBER_PLACEHOLDER} ", text)
    if "@" in text:
        text = _VARIABLE.sub(f" {_VARIABLE_PLACEHOLDER} ", text)
    return text


def tokens(text: str) -> list[str]:
    """Cut normalised text into tokens: words, numbers, punctuation, operator placeholders."""
    text = _replace_literals(_replace_operators(text))
    # str.replace per punctuation character present: far cheaper than a regex split, which
    # pays for every match.
    for char, spaced in _SPACED_PUNCTUATION:
        if char in text:
            text = text.replace(char, spaced)
    return text.split()


class Lexed(NamedTuple):
    kinds: str  # one character a token (a comment of prose pads itself with three more)
    words: set[str]  # the distinct tokens, for signatures keyed on words


def lex(text: str) -> Lexed:
    """Return the kind string of `text` and its distinct tokens."""
    if _native is not None:
        lexed = _native.lex(text)
        if lexed is not None:
            return lexed  # type: ignore[no-any-return]
    return _lex_python(text)


def _lex_python(text: str) -> Lexed:
    """`lex` in Python: the reference, and the lexer of text the native one declines (any
    character beyond Latin-1)."""
    cut = tokens(text)
    joined = "".join(map(KIND.get, cut, repeat("n")))
    words = set(cut)
    if "l(" in joined and not words.isdisjoint(_CALLABLE_OPERATORS):
        joined = joined.replace("l(", "f(")  # MOD(…), DIV(…) are calls, not operators
    return Lexed(joined, words)


# The same lexer in C (native/lexer.c), handed every table it needs: it replays the rewrites
# above in the same order, so the operators go over in _OPERATORS_BY_HEAD order.
_native = native.load("lexer")
if _native is not None:
    _native.configure(
        KIND,
        tuple(pair for operators in _OPERATORS_BY_HEAD.values() for pair in operators),
        _PROSE_COMMENT,
        _ISSUE_NUMBER,
        _NUMBER_PLACEHOLDER,
        _VARIABLE_PLACEHOLDER,
        GLUED_KEYWORDS,
        _SHORT_NUMBER_DIGITS,
        "".join(_PUNCTUATION_KIND),
        tuple(_CALLABLE_OPERATORS),
        Lexed,
    )
