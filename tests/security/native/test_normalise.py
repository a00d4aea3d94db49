"""The C port of normalise.py (native/normalise.c) gives exactly the Python reference's strings:
on generated SQL-ish and encoded text, on every Latin-1 pair, and on the inputs the detector
really hands `canonical` and `clean` for the corpora and the benchmark values."""

import html
import random
from html.entities import html5
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.security.detectors.sqli import native, normalise, score
from apps.security.detectors.sqli.normalise import (
    _canonical_python,
    _clean_python,
    _decode_python,
    _fold_unicode_python,
)
from bench.security_sqli import benign_value, malicious_value, values

NATIVE = native.load("normalise")
CORPORA = Path(__file__).resolve().parent.parent / "corpora" / "sqli"
BENCH_VALUES = 1500  # of each kind

FRAGMENTS = (
    # URL escapes, double-encoded, IIS, broken, UTF-8 (valid, truncated, look-alike quotes)
    "%27", "%2527", "%252527", "%u0027", "%U0027", "%u2018", "%uD800", "%u00e9", "%zz", "%", "%2",
    "%e2%80%98", "%e2%80", "%c3%a9", "%c3", "%a9", "%ff", "%f0%9f%98%80", "%20", "%2B", "%00",
    "%0a", "%0d%0a", "%09", "%0b", "%a0", "%85", "%2F%2A", "%2a%2f", "%60", "%25", "%26",
    # the form `+`, entities with and without `;`
    "+", "a+b", "+or+", "1+1", "&#39;", "&#x27;", "&#0;", "&apos;", "&amp;", "&amp;lt;",
    "&amp;#39;", "&quot", "&lt", "&copy", "&notin;", "&noti", "&", "&#", "&#x;", ";",
    "&NotNestedGreaterGreater;", "&%2339;", "%26%2339%3b", "&#12345678901234567890;", "&#x110000;",
    "&#xD800;", "&#xdfff", "&#128;", "&#x80", "&#1;", "&#13;", "&#xFDD0;", "&#xFFFF", "&#X41",
    "&#x", "&#;", "&#65", "&notin", "&notit;", "&ampx", "&AMP", "&lt;x", "&frac12;", "&frac12x",
    "&frac1", "&fjlig;", "&a", "&ab;", "&" + "a" * 33 + ";", "&" + "b" * 31 + ";", "&é;", "&\xa0",
    # quotes, names, comments
    "'", '"', "`", "`name`", "`a.b$c`", "`a b`", "``", "`é`", "/*!50000select*/", "/*!", "/*!12",
    "/**/", "/*", "*/", "/* open", "/*/", "/*!*/", "--", "#", "-- x\n", "\n", "\r\n", "\r",
    # SQL
    "union", "select", " or ", "and", "1=1", "sleep(5)", "char(", "from", "where", "order by",
    "0x41", "1e5", ";", "=", "<>", "!=", "||", "&&", "::", "@", "@@version", "information_schema",
    "UNION", "SeLeCt",
    # spaces and controls
    " ", "  ", "   ", "\t", "\x0b", "\x0c", "\xa0", "\x85", "\x00", "\x1f", "\x7f", "\x1c",
    "\u2028", "\u3000", "\u200b", "\xad",
    # letters: Latin-1 (ÿ lowers to itself, its upper case is beyond Latin-1), specials, wider
    "é", "É", "ß", "µ", "ÿ", "Ÿ", "ª", "²", "½", "¼", "´", "¨", "¸", "×", "÷", "Ä", "ü",
    "\uff33\uff25\uff2c", "\uff07", "\u2018", "\u2019", "\u201c", "\u2032", "\u02bc", "İ", "Σ",
    "ﬁ", "中文", "\U0001f600", "a", "Z", "0", "9", "_", "$", ".",
)  # fmt: skip
LATIN1 = "".join(map(chr, range(256)))


def fragments() -> st.SearchStrategy[str]:
    """Values built from the fragments above, with the odd random character in between."""
    pieces = st.one_of(
        st.sampled_from(FRAGMENTS),
        st.sampled_from(FRAGMENTS),
        st.sampled_from(FRAGMENTS),
        st.text(alphabet=LATIN1, max_size=3),
        st.text(max_size=2),
    )
    return st.lists(pieces, max_size=24).map("".join)


def assert_same(native_result: object, python_result: str) -> None:
    """Equal strings, and of the same exact type."""
    assert type(native_result) is str
    assert native_result == python_result


def check_value(value: str) -> None:
    """Native canonical, decode and fold_unicode equal the reference on `value`; native clean
    equals it on the canonical text (identity included where the Python keeps its argument)."""
    assert NATIVE is not None
    expected = _canonical_python(value)
    assert_same(NATIVE.canonical(value), expected)
    decoded = _decode_python(value)
    native_decoded = NATIVE.decode(value)
    assert_same(native_decoded, decoded)
    assert (native_decoded is value) == (decoded is value)
    check_fold(value)
    check_fold(decoded)
    check_clean(expected)
    check_clean(value)


def check_fold(text: str) -> None:
    """Native fold_unicode equals the reference on Latin-1 text and declines the rest."""
    assert NATIVE is not None
    folded = NATIVE.fold_unicode(text)
    if max(text, default="\0") > "\xff":
        assert folded is None
    else:
        assert_same(folded, _fold_unicode_python(text))


def check_clean(text: str) -> None:
    """Native clean equals the reference on one-byte text, the same object where the Python
    returns its argument, and declines wider text."""
    assert NATIVE is not None
    cleaned = NATIVE.clean(text)
    if max(text, default="\0") > "\xff":
        assert cleaned is None
        return
    expected = _clean_python(text)
    assert_same(cleaned, expected)
    assert (cleaned is text) == (expected is text)


def test_native_module_is_built_and_used() -> None:
    assert NATIVE is not None
    assert normalise._native is NATIVE


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(fragments())
def test_native_equals_python_on_fragments(value: str) -> None:
    check_value(value)


@settings(max_examples=1500, deadline=None)
@given(st.text(max_size=40))
def test_native_equals_python_on_any_text(value: str) -> None:
    check_value(value)


ENTITY_FRAGMENTS = st.sampled_from(
    [fragment for fragment in FRAGMENTS if "&" in fragment or "#" in fragment or ";" in fragment]
)


@settings(max_examples=4000, deadline=None)
@given(st.lists(st.one_of(ENTITY_FRAGMENTS, st.text(max_size=3)), max_size=12).map("".join))
def test_native_unescape_equals_html_unescape(text: str) -> None:
    assert NATIVE is not None
    assert_same(NATIVE.unescape(text), html.unescape(text))


def test_native_unescape_on_every_entity() -> None:
    """Every html5 name, with and without `&`, `;` and something after it."""
    assert NATIVE is not None
    for name in html5:
        for text in (f"&{name}", f"&{name}x", f"&{name};", f"a&{name}9;b", f"&{name[:-1]}"):
            assert_same(NATIVE.unescape(text), html.unescape(text))
    for number in [*range(0x400), *range(0xD7F0, 0xE010), *range(0xFDC0, 0x10000, 7)]:
        for text in (f"&#{number};", f"&#x{number:x}", f"&#X{number:X};", f"&#0{number}"):
            assert_same(NATIVE.unescape(text), html.unescape(text))


def test_fold_of_every_latin1_pair_and_sampled_triples() -> None:
    """Folding Latin-1 text character by character is what the reference does to the whole."""
    assert NATIVE is not None
    for first in LATIN1:
        for second in LATIN1:
            pair = first + second
            assert NATIVE.fold_unicode(pair) == _fold_unicode_python(pair), repr(pair)
    rng = random.Random(7)
    for _ in range(20000):
        triple = "".join(rng.choices(LATIN1, k=3))
        assert NATIVE.fold_unicode(triple) == _fold_unicode_python(triple), repr(triple)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "x",
        "%",
        "+",
        "&",
        "a+b",
        "a+b c",
        "%2541",
        "%252541",  # three rounds of URL-decoding leave %41
        "&amp;amp;amp;lt;",  # entity rounds run out
        "%26amp%3Blt%3B",
        "%c3é%a9",  # urllib decodes each ASCII run on its own
        "%uD83D%uDE00",  # surrogates stay as they are
        "/*!abc\n",  # `$` matches before a final newline
        "/*!abc\nd",
        "/*!50000union*/ /*!select*/ /* c */ 1",
        "a/**/b/*c/*d*/e/*f",
        "`a``b` `c d` `é1$`",
        "a\nb",
        "  a  ",
        "a\t\n\x0b b",
        "ÿ Ÿ ß µ ª ½",
    ],
)
def test_native_equals_python_on_edge_cases(value: str) -> None:
    check_value(value)


def test_native_declines_str_subclasses() -> None:
    assert NATIVE is not None

    class Text(str):
        pass

    for function in (NATIVE.canonical, NATIVE.clean, NATIVE.decode, NATIVE.fold_unicode):
        assert function(Text("%27 a")) is None
    assert normalise.canonical(Text("%27 A")) == "' a"


def test_public_functions_dispatch() -> None:
    for value in ("%27 OR 1=1", "Café+au+lait", "\uff33ELECT &lt;", "`t`  /**/ x"):
        assert normalise.canonical(value) == _canonical_python(value)
        assert normalise.decode(value) == _decode_python(value)
        assert normalise.fold_unicode(value) == _fold_unicode_python(value)
        assert normalise.clean(value) == _clean_python(value)


@pytest.fixture(scope="module")
def captured() -> tuple[list[str], list[str]]:
    """The values `_analyse` canonicalises and the canonical texts it cleans, recorded while
    the real pipeline scores every corpus line and benchmark values."""
    raw: list[str] = []
    canonical: list[str] = []
    patch = pytest.MonkeyPatch()
    # Before score uses normalise.canonical/clean: _plain sees every value _analyse gets (and
    # the nested parts it weighs), unwrap_comments every canonical text.
    first, second = (
        ("canonical", "clean") if hasattr(score, "canonical") else ("_plain", "unwrap_comments")
    )
    first_function, second_function = getattr(score, first), getattr(score, second)

    def record_raw(value: str) -> object:
        raw.append(value)
        return first_function(value)

    def record_canonical(text: str) -> str:
        canonical.append(text)
        return second_function(text)  # type: ignore[no-any-return]

    patch.setattr(score, first, record_raw)
    patch.setattr(score, second, record_canonical)
    inputs = [
        line
        for path in sorted(CORPORA.rglob("*.txt"))
        for line in path.read_text(encoding="utf-8").split("\n")
        if line
    ]
    inputs += values(benign_value, BENCH_VALUES) + values(malicious_value, BENCH_VALUES)
    try:
        for value in inputs:
            score._scored.__wrapped__(value[: normalise.MAX_CHARS])  # type: ignore[attr-defined]
    finally:
        patch.undo()
    return raw, canonical


def test_native_equals_python_on_captured_inputs(captured: tuple[list[str], list[str]]) -> None:
    raw, canonical = captured
    assert len(raw) > 10000 and len(canonical) > 5000
    for value in dict.fromkeys(raw):
        check_value(value)
    for text in dict.fromkeys(canonical):
        check_clean(text)
