"""The native lexer (native/lexer.c) is `lexer.lex` exactly: the same kinds and the same words.

Compared with the Python reference `_lex_python` on generated SQL-ish text and on the texts
`lex` really gets when the corpora and benchmark values go through the detector.
"""

import tracemalloc
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.security.detectors.sqli import lexer, native, score
from apps.security.detectors.sqli.normalise import MAX_CHARS
from bench.security_sqli import benign_value, malicious_value, values

CORPORA = Path(django_settings.BASE_DIR) / "tests" / "security" / "corpora" / "sqli"
BENIGN_VALUES = 2000
MALICIOUS_VALUES = 1000

# Pieces the Python's rewrites treat specially, and what sits around them.
FRAGMENTS = [
    *("<=>", "->>", "#>>", "<>", "!=", "<=", ">=", "==", "@>", "<@", "||", "&&", "::", "->"),
    *(":=", "<<", ">>", "#>", "*/", "--", "/*", "?|", "?&", " ? ", "?", "\n", "\r\n"),
    *("1e5union", "1e5", "1e+5", "1.e3", ".5e-2", "0x1f", "0x", "0b101", "0b2", ".5", "1.", "..5"),
    *("12345", "123456789", "1234", "007", "1", "0", "9", "1.5", "1.or", "2and", "1xor", "3div"),
    *("@a.b", "@@version", "@a$b.c$", "@_x", "@", "@@", "$", "$1", "a@b", "-- text", "-- 1"),
    *("--x", "#12", "# heading", "# 1", "#", "# ", "#é", "-- é", "-- _", "mod(", "div(", "mod"),
    *("div", "like(", "like", "rlike", "between", "union", "select", "or", "and", "xor", "not"),
    *("from", "where", "order", "group", "having", "limit", "into", "sleep(", "char(", "null"),
    *("information_schema", "waitfor", "delay", "in", "is", "case", "end", "desc", "true"),
    *("'", '"', "`", "(", ")", ",", ";", ".", "*", "!", "=", "<", ">", "+", "-", "/", "%", "^"),
    *("|", "&", "~", "[", "]", "{", "}", "\\", ":", " ] ' ] ", "%27", "&amp;", "&#39;"),
    *(" ", " ", " ", "\t", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\x00", "\x07"),
    *("é", "ü", "ß", "µ", "ª", "²", "½", "º", "¹", "É", "Ü", "ÿ", "×", "÷", "§", "¿", "\xad"),
    *("a", "b", "e", "x", "f", "_", "E", "X", "Select", "UNION", "abc", "x1", "e5", "ab$c"),
]
SQLISH = st.lists(st.sampled_from(FRAGMENTS), max_size=40).map("".join)
LATIN1 = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=60)
CHARS = st.text(alphabet=st.sampled_from("".join(set("".join(FRAGMENTS)))), max_size=60)


def same(text: str) -> None:
    """The native lexer and the reference agree on `text`, down to the result's type."""
    found = NATIVE.lex(text)
    expected = lexer._lex_python(text)
    assert found == expected, text
    assert type(found) is lexer.Lexed
    assert lexer.lex(text) == expected


NATIVE = native.load("lexer")


def test_the_native_lexer_is_built_and_used():
    assert NATIVE is not None
    assert lexer._native is NATIVE


@settings(max_examples=4000, deadline=None)
@given(SQLISH)
def test_it_lexes_sqlish_fragments_as_the_python_does(text):
    same(text)


@settings(max_examples=2000, deadline=None)
@given(CHARS)
def test_it_lexes_any_mix_of_their_characters_as_the_python_does(text):
    same(text)


@settings(max_examples=2000, deadline=None)
@given(LATIN1)
def test_it_lexes_any_latin1_text_as_the_python_does(text):
    same(text)


@pytest.mark.parametrize(
    "text",
    [
        "",
        " ",
        "1 union select 1,2--",
        "a<=>b ->>c #>> d <>? 1",
        "x */* y /*/ z",
        "-- see below # heading #262",
        "1e5union select 0x1f, 0b101, .5, 1.e3, 12345 from t",
        "select @a.b, @@version, a@b",
        "mod(1, 2) div (3) like(4)",
        "select 1 mod 2 like(3)",
        "é ² ½ µ 1² x½ 12345µ",
        "q ] ' ] or 1=1",
    ],
)
def test_it_lexes_examples_as_the_python_does(text):
    same(text)


def test_it_declines_text_beyond_latin1_which_lex_still_lexes():
    text = "select \u0101 from t where a = 'ā' -- x"

    assert NATIVE.lex(text) is None
    assert lexer.lex(text) == lexer._lex_python(text)


def test_placeholder_characters_in_the_input_go_to_the_python():
    text = "a \ue000 b \ue020 c"

    assert NATIVE.lex(text) is None
    assert lexer.lex(text) == lexer._lex_python(text)


def corpus_lines() -> list[str]:
    paths = sorted(CORPORA.glob("**/*.txt"))
    assert paths, f"no corpora in {CORPORA}"
    return [line for path in paths for line in path.read_text(encoding="utf-8").split("\n") if line]


@pytest.fixture(scope="module")
def real_inputs(monkeypatch_module) -> list[str]:
    """The texts `lex` gets when the corpora and benchmark values are scored, uncached."""
    seen: dict[str, None] = {}

    def recording(text: str) -> lexer.Lexed:
        seen[text] = None
        return lexer._lex_python(text)

    monkeypatch_module.setattr(score, "lex", recording)
    score._analyse_short.cache_clear()
    everything = [
        *corpus_lines(),
        *values(benign_value, BENIGN_VALUES),
        *values(malicious_value, MALICIOUS_VALUES),
    ]
    for value in everything:
        score._scored.__wrapped__(value[:MAX_CHARS])
    score._analyse_short.cache_clear()  # its results were made with the recording lexer
    return list(seen)


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def test_it_lexes_what_the_detector_really_lexes_as_the_python_does(real_inputs):
    assert len(real_inputs) > 5000
    lexed = {text: NATIVE.lex(text) for text in real_inputs}
    declined = [text for text, found in lexed.items() if found is None]
    differing = [
        text
        for text, found in lexed.items()
        if found is not None and found != lexer._lex_python(text)
    ]

    assert not differing, differing[:5]
    assert all(max(text) > "\xff" for text in declined)  # only text beyond Latin-1
    assert len(declined) < len(real_inputs) / 20


def test_it_does_not_leak(real_inputs):
    sample = real_inputs[:500]
    for text in sample:  # the shared buffers grow once
        NATIVE.lex(text)
    tracemalloc.start()
    try:
        for text in sample * 20:
            NATIVE.lex(text)
        before = tracemalloc.get_traced_memory()[0]
        for text in sample * 20:
            NATIVE.lex(text)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()

    assert after - before < 10_000
