"""The native evidence stage (`native/signatures.c`) gives exactly what `score` gives in Python.

Compared: `_token_findings` (its uncached body), `_text_evidence`, `_combine`, `_evasive` and
`_prose_prefix`, on generated inputs and on the inputs the real pipeline hands them while it
scores the corpora and benchmark values.
"""

import collections
import random
import re
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from django.conf import settings
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.security.detectors.sqli import evidence_native, grammar, native, score
from apps.security.detectors.sqli.lexer import lex
from apps.security.detectors.sqli.normalise import MAX_CHARS
from apps.security.detectors.sqli.signatures import TEXT_SIGNATURES, TOKEN_SIGNATURES
from bench.security_sqli import benign_value, malicious_value, values

CORPORA = Path(settings.BASE_DIR) / "tests" / "security" / "corpora" / "sqli"
EXAMPLES = 3000
PROPERTY = hypothesis_settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
SIMPLER = hypothesis_settings(PROPERTY, max_examples=EXAMPLES // 3)  # for the simpler functions

_CONFIGURED = evidence_native.configured(score)
assert _CONFIGURED is not None, "the native module _signatures is not built (build_native.py)"
NATIVE: ModuleType = _CONFIGURED


def python(name: str) -> Callable[..., Any]:
    """The Python reference of `score.<name>`: `<name>_python` once the native one is wired
    in, the function itself (uncached) before."""
    function = getattr(score, f"{name}_python", None) or getattr(score, name)
    return getattr(function, "__wrapped__", function)


def token_findings_python(kinds: str, single: bool, double: bool, evasive: bool) -> Any:
    return python("_token_findings")(kinds, single, double, evasive)


def text_evidence_both(text: str, words: set[str], found: dict[str, float]) -> None:
    """Native and Python `_text_evidence` from the same `found`: the same items, in order."""
    expected, actual = dict(found), dict(found)
    python("_text_evidence")(text, words, expected)
    assert NATIVE.text_evidence(text, words, actual) is True
    assert list(actual.items()) == list(expected.items())


# ------------------------------------------------------------------ generated inputs

# Every kind the lexer makes, those folding makes (C, D), and a few it never makes (a space,
# a newline, which `.` of the ported patterns does not match).
KIND_ALPHABET = "'\"`c{N1nvsztTeUSEWhk&b!olijam*fF();,.?CD \n"
KIND_PIECES = (
    *KIND_ALPHABET,
    *("s&1o1", "1US1,1,1", "'&1o1c", "n'c", "'&'1'o'1", ";Ekn", "W k s", "F(1)", "f(n)"),
    *("'U(S1,1h", "1&(S1hn)", "(((", ")))", "cN", "{", "cnnN1", '"&"n"o"n', "i(1,1)"),
    *("j!t", "1l1", "h1e", "k1,1", "Sn.T", ";F(s)", "m1)C", "E(s)", "e;", "U;", "'b'"),
)
kinds_strings = st.one_of(
    st.text(alphabet=KIND_ALPHABET, max_size=80),
    st.lists(st.sampled_from(KIND_PIECES), max_size=25).map("".join),
    st.deferred(lambda: texts.map(lambda text: lex(text)[0])),  # what the lexer makes
)

LATIN = ("é", "ü", "ß", "µ", "ª", "²", "½", "\xa0", "\x85", "ã", "ó", "Ø", "ÿ")
TEXT_PIECES = (
    *("case when 1=1 then 1 else 0 end", "case", "when", "then", " ", "  ", "\t", "\n"),
    *("order by 1--", "order by 3 #", "order by 10,", "group by a having 1=1", "group by"),
    *("having", "into outfile '/tmp/x'", "into dumpfile", "load data infile", "load data "),
    *("local infile", "char(1,2)", "chr(65)", "char( 1 , 2 )", "0x414243", "0x41", "a=a"),
    *("1=1", "x == x", "a<=>a", "@@version", "@@ab", "::int", "::regclass", "::text"),
    *("xp_cmdshell", "sp_password", "utl_http", "dbms_pipe", "openrowset", "opendatasource"),
    *("drop table users", "drop ", "truncate table", "alter user", "create view", "set @a"),
    *("set @@x", "delete from t where", "insert into t values", "insert into t(", "update t"),
    *(" set a =", "declare @x", "exec master.", "exec xp_", "execute(", "exec @s", "x.exec("),
    *("union select", "select", "from", "where", "and", "or", "sleep(5)", "'", '"', "`", "--"),
    *("#", "/*", "*/", ";", "=", "<>", "!=", "||", "&&", "xor", "rlike", "regexp", "->", "->>"),
    *("sounds like", "1", "42", "1e5", "a", "_", "x", "%27", "&amp;", "\x00", "\x01", "\x7f"),
    *LATIN,
)
texts = st.lists(st.sampled_from(TEXT_PIECES), max_size=14).map("".join)
GATE_WORDS = sorted({word for sig in TEXT_SIGNATURES for word in sig.words} | {"select", "x"})
NAMES = sorted({sig.name for sig in TOKEN_SIGNATURES} | {sig.name for sig in TEXT_SIGNATURES}) + [
    "bare SQL operator",
    score._EVASION[0],
]
WEIGHTS = sorted(
    {sig.weight for sig in TOKEN_SIGNATURES} | {sig.weight for sig in TEXT_SIGNATURES} | {0.0}
)
weights = st.one_of(st.sampled_from(WEIGHTS), st.floats(min_value=0.0, max_value=1.0))
found_dicts = st.dictionaries(st.sampled_from(NAMES), weights, max_size=8)


@PROPERTY
@given(kinds_strings, st.booleans(), st.booleans(), st.booleans())
def test_token_findings_generated(kinds: str, single: bool, double: bool, evasive: bool) -> None:
    expected = token_findings_python(kinds, single, double, evasive)
    assert NATIVE.token_findings(kinds, single, double, evasive) == expected


@PROPERTY
@given(kinds_strings, st.booleans(), st.booleans())
def test_contexts_and_mark_generated(kinds: str, single: bool, double: bool) -> None:
    """Every context folded, closed and marked as the grammar does it."""
    expected = grammar.contexts(kinds, {"'": single, '"': double})
    assert NATIVE._contexts(kinds, single, double) == [tuple(c) for c in expected]
    for context in expected:
        assert NATIVE._mark(context.folded) == grammar.mark(context.folded)
    assert NATIVE._mark(kinds) == grammar.mark(kinds)


@PROPERTY
@given(texts, st.sets(st.sampled_from(GATE_WORDS)), found_dicts, st.booleans())
def test_text_evidence_generated(
    text: str, words: set[str], found: dict[str, float], lexed: bool
) -> None:
    if lexed:
        words = lex(text)[1]
    text_evidence_both(text, words, found)


@SIMPLER
@given(found_dicts)
def test_combine_generated(found: dict[str, float]) -> None:
    assert NATIVE.combine(found) == python("_combine")(found)


@SIMPLER
@given(texts, texts, kinds_strings)
def test_evasive_generated(canonical: str, text: str, kinds: str) -> None:
    for shorter in (text, canonical[: len(canonical) // 2], canonical):
        expected = python("_evasive")(canonical, shorter, kinds)
        assert NATIVE.evasive(canonical, shorter, kinds) is expected


@SIMPLER
@given(texts)
def test_prose_prefix_generated(text: str) -> None:
    expected = python("_prose_prefix")(text)
    actual = NATIVE.prose_prefix(text)
    assert list(actual.items()) == list(expected.items())


def test_findings_capped_and_discounted() -> None:
    """Early stop at the cap, the double-quote discount, open and incomplete islands."""
    for kinds in (
        "'&1o1c",
        "1'&1o1;ES1hnc",
        '"&"1"o"1',
        '1"b"1"o"1',
        "'U(S1,1hn|",
        "'&1o1'&1o1'&1o1';Ek",
        "1US1,1,1c;ESh;W k s;F(1)",
    ):
        for flags in ((False, False, False), (True, True, True), (True, False, True)):
            assert NATIVE.token_findings(kinds, *flags) == token_findings_python(kinds, *flags)


def test_declines() -> None:
    """Wider strings and foreign types: None, and the Python function takes over."""
    wide = "1' or 1=1 -- \u0100"
    assert NATIVE.token_findings("s&1o1\u0100", False, False, False) is None
    assert NATIVE.token_findings("s&1o1é", False, False, False) is None  # kinds are ASCII
    found = {"x": 0.5}
    assert NATIVE.text_evidence(wide, {"or"}, found) is None
    assert found == {"x": 0.5}  # untouched
    assert NATIVE.text_evidence("1=1", ["or"], found) is None
    assert NATIVE.combine({"x": 1}) is None
    assert NATIVE.combine(collections.OrderedDict(x=0.5)) is None
    assert NATIVE.text_evidence("1=1", {"or"}, collections.defaultdict(float)) is None
    assert NATIVE.combine({"x": float("nan")}) is None
    assert NATIVE.evasive(wide, "", "") is None
    assert NATIVE.prose_prefix(wide) is None


def test_configure_is_idempotent_and_refuses_a_changed_port() -> None:
    kinds = "'&1o1c"
    before = NATIVE.token_findings(kinds, False, False, False)
    assert evidence_native.configured(score) is NATIVE
    assert evidence_native.configured(score) is NATIVE
    assert NATIVE.token_findings(kinds, False, False, False) == before
    try:
        with pytest.raises(ValueError, match="_FOLD changed"):
            NATIVE.configure(
                **{**configuration(), "fold": re.compile(grammar._FOLD.pattern + "|x")}
            )
        with pytest.raises(RuntimeError, match="configure"):
            NATIVE.token_findings(kinds, False, False, False)
    finally:
        evidence_native.configured(score)
    assert NATIVE.token_findings(kinds, False, False, False) == before


def configuration() -> dict[str, Any]:
    """What `evidence_native` hands to `configure`, captured from the call itself."""
    captured: dict[str, Any] = {}

    class Recorder:
        def configure(self, **kwargs: Any) -> None:
            captured.update(kwargs)

    original = evidence_native.load
    evidence_native.load = lambda name: Recorder()  # type: ignore[assignment,return-value]
    try:
        evidence_native.configured(score)
    finally:
        evidence_native.load = original
    return captured


def test_the_native_module_is_loaded() -> None:
    assert native.load("signatures") is not None
    assert NATIVE is native.load("signatures")


# ------------------------------------------------------------------ real inputs

RECORDED = ("_token_findings", "_text_evidence", "_combine", "_evasive", "_prose_prefix")


def corpus_lines() -> Iterator[str]:
    for path in sorted(CORPORA.glob("*/*.txt")):
        yield from (line for line in path.read_text(encoding="utf-8").split("\n") if line)


@pytest.fixture(scope="module")
def captured() -> dict[str, list[tuple[Any, ...]]]:
    """The arguments each function gets while the pipeline scores the corpora and a few
    thousand benchmark values (`found` as it was before the call)."""
    calls: dict[str, list[tuple[Any, ...]]] = {name: [] for name in RECORDED}
    originals = {name: getattr(score, name) for name in RECORDED}

    def recorder(name: str) -> Callable[..., Any]:
        def record(*args: Any) -> Any:
            copies = tuple(set(a) if isinstance(a, set) else a for a in args)
            calls[name].append(tuple(dict(a) if isinstance(a, dict) else a for a in copies))
            return originals[name](*args)

        return record

    for name in RECORDED:
        setattr(score, name, recorder(name))
    try:
        score._analyse_short.cache_clear()
        inputs = [
            *corpus_lines(),
            *values(benign_value, 2000),
            *values(malicious_value, 1000),
        ]
        for value in inputs:
            score._scored.__wrapped__(value[:MAX_CHARS])
    finally:
        for name, original in originals.items():
            setattr(score, name, original)
        score._analyse_short.cache_clear()
    return calls


def unique(calls: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    seen, kept = set(), []
    for call in calls:
        key = repr(call)
        if key not in seen:
            seen.add(key)
            kept.append(call)
    return kept


def test_real_token_findings(captured: dict[str, list[tuple[Any, ...]]]) -> None:
    calls = unique(captured["_token_findings"])
    assert len(calls) > 1000
    for call in calls:
        assert NATIVE.token_findings(*call) == token_findings_python(*call), call


def test_real_text_evidence(captured: dict[str, list[tuple[Any, ...]]]) -> None:
    calls = captured["_text_evidence"]
    assert len(calls) > 1000
    declined = 0
    for text, words, found in calls:
        if NATIVE.text_evidence(text, words, dict(found)) is None:
            declined += 1
            continue
        text_evidence_both(text, words, found)
    assert declined < len(calls) // 100


def test_real_combine_evasive_prose(captured: dict[str, list[tuple[Any, ...]]]) -> None:
    for (found,) in captured["_combine"]:
        assert NATIVE.combine(found) == python("_combine")(found)
    for call in captured["_evasive"]:
        result = NATIVE.evasive(*call)
        assert result is None or result is python("_evasive")(*call)
    for (text,) in captured["_prose_prefix"]:
        result = NATIVE.prose_prefix(text)
        assert result is None or list(result.items()) == list(python("_prose_prefix")(text).items())
    assert captured["_combine"] and captured["_evasive"] and captured["_prose_prefix"]


# ------------------------------------------------------------------ memory


def test_no_leaks() -> None:
    """Many calls of every function, error paths included, leave the memory where it was."""
    rng = random.Random(7)
    kinds = [
        "".join(rng.choice(KIND_ALPHABET) for _ in range(rng.randrange(60))) for _ in range(50)
    ]
    kinds += ["'&1o1c", "1US1,1,1", "1'&1o1;ES1hnc", "s&1o1\u0100"]
    sample = [
        "".join(rng.choice(TEXT_PIECES) for _ in range(rng.randrange(12))) for _ in range(50)
    ] + ["x\u0100"]

    def run(rounds: int) -> None:
        for index in range(rounds):
            kind = kinds[index % len(kinds)]
            text = sample[index % len(sample)]
            NATIVE.token_findings(kind, index & 1, index & 2, index & 4)
            found = {"tautology": 0.85, "x": 0.25}
            NATIVE.text_evidence(text, {"case", "when", "then", "order", "by"}, found)
            NATIVE.combine(found)
            NATIVE.combine({"x": 1})
            NATIVE.evasive(text, text[:3], kind)
            NATIVE.prose_prefix(text)
            with pytest.raises(TypeError):
                NATIVE.token_findings(kind)

    run(2000)
    tracemalloc.start()
    try:
        run(200)
        before = tracemalloc.get_traced_memory()[0]
        run(20000)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 64 * 1024, (before, after)
    assert sys.getrefcount(score._EVASION[0]) < 1000
