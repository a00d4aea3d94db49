"""The C `sample`/`anchored` (native/sample.c) against the Python reference in sample.py.

Exact: the same sample, character for character, the text itself where the Python returns it,
the same anchors in the same order, the same `anchored`. Generated long texts (prose with SQL
here and there, dense SQL, quotes everywhere) exercise the head, the tail, the windows and their
budget, MAX_ANCHORS and the gaps; then the texts the real pipeline hands to `sample` and
`anchored`, captured on the corpora and the benchmark's values.
"""

import random
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import HealthCheck, event, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.security.detectors.sqli import native, score
from apps.security.detectors.sqli import sample as sampling
from bench import security_sqli

NATIVE = native.load("sample")
CORPORA = Path(settings.BASE_DIR) / "tests" / "security" / "corpora" / "sqli"

SQL = (
    *("'", '"', "`", "' or ", "' or 1=1", "1=1", "'1'='1", "1 = '1", "' ;", "';select ", "; drop"),
    *(" union all select ", "union distinct (", "union\tselect", "union  all\n(", "union all("),
    *("(select", "( select 1", "(selected", "@@", "@@@", "@@version", "--", "---", "-- -"),
    *("information_schema", "0x", "0x41", "select", "selects", "sleep(", "concat(", "char("),
    *("foo(", "a$b(", "rdb$database(", "count(", "benchmark(", "x)", " ) ", "admin' union "),
    *("1' and ", 'x"or ', ")' order by", "' having", "'\u00e9 or ", "$", "(", ")", "=", "= ", "<>"),
    *(" and ", " or ", "waitfor ", "; waitfor delay", ";exec ", "; execute", "#", "/*", "*/"),
    *("\u00e9", "\u00fc", "\u00df", "\u00b5", "\u00aa", "\u00b2", "\u00bd", "\xa0", "\x85", "\x1f"),
    *("\n", "\t", " ", "\u00e9(", "caf\u00e9'", "2'", "'2", "\u00b2=\u00b2", "\u00b2'='\u00b2"),
)
PROSE = (
    *("the ", "quick ", "brown ", "fox ", "jumps ", "over ", "a ", "lazy ", "dog, ", "while "),
    *("customers ", "order ", "goods ", "from ", "our ", "store ", "and ", "select ", "items. "),
    *("caf\u00e9 ", "na\u00efve ", "\u00fcber ", "stra\u00dfe ", "it's ", "don't ", '"quoted" '),
    *(
        "'single' ",
        "`tick` ",
        "O'Brien ",
        "rock'n'roll ",
        "\n",
        "1990s ",
        "x=y ",
        "(see ",
        "notes) ",
    ),
)
SQL_TEXT = st.lists(st.sampled_from(SQL), max_size=12).map("".join)
# Sentences made of the prose words once, so that a long text takes few draws.
_WORDS = random.Random(0)  # noqa: S311
SENTENCES = tuple("".join(_WORDS.choices(PROSE, k=_WORDS.randint(1, 24))) for _ in range(200))


@st.composite
def long_texts(draw: st.DrawFn) -> str:
    """A text of about 300–2,000 characters: prose with SQL here and there, or all over."""
    target = draw(st.integers(min_value=300, max_value=2000))
    sql_share = draw(st.sampled_from((0, 1, 2, 4, 8, 24)))  # of 32 pieces
    pieces: list[str] = []
    size = 0
    while size < target:
        sql = draw(st.integers(min_value=0, max_value=31)) < sql_share
        piece = draw(SQL_TEXT if sql else st.sampled_from(SENTENCES))
        pieces.append(piece)
        size += len(piece) or 1
    text = "".join(pieces)
    return text[draw(st.integers(min_value=0, max_value=40)) :]


def assert_same(text: str) -> None:
    """Native and Python agree on `text`: sample, anchored, anchors."""
    assert NATIVE is not None
    if any(char > "\xff" for char in text):  # declined: the Python answers
        assert NATIVE.anchored(text) is None and NATIVE.anchors(text) is None
        assert NATIVE.sample(text) is (text if len(text) <= sampling.LONG_CHARS else None)
        assert sampling.sample(text) == sampling._sample_python(text)
        return
    expected = sampling._sample_python(text)
    found = NATIVE.sample(text)
    assert found == expected
    assert (found is text) == (expected is text)
    assert NATIVE.anchored(text) == sampling._anchored_python(text)
    for enough in (None, sampling.MIN_END_STRENGTH, 3.0, 12.5):
        assert NATIVE.anchors(text, enough) == sampling._anchors(text, enough)


def test_the_native_module_is_loaded() -> None:
    assert NATIVE is not None
    assert sampling._native is NATIVE


def test_the_anchor_patterns_are_those_the_c_scans_for() -> None:
    # sample.c scans for these patterns by hand: a change here needs one there.
    clause = "|".join(sampling._CLAUSE_WORDS)
    stacked = "|".join(sampling._STACKED_WORDS)
    quote = (
        r"(?:Q(?:(?<=[=<>(]Q)|(?<=[=<>(] Q)|(?=\s*[;=<>!)|&#+*/-])|(?<=[\w)]Q)"
        rf"(?=\s*(?:{clause})\b)))"
    )
    expected = "|".join(
        (
            quote.replace("Q", "'"),
            quote.replace("Q", '"'),
            rf"(?:;(?=\s*(?:{stacked})\b))",
            r"""(?:=(?:(?<=[\d'\"] =)|(?<=[\d'\"]=))(?= ?[\d'\"]))""",
            r"(?:union(?=\s+(?:all\s+|distinct\s+)?(?:select\b|\()))",
            r"(?:\((?=\s*select\b))",
            "(?:@@)|(?:--)|(?:information_schema)|(?:0x)|(?:select)",
        )
    )
    assert sampling._ANY_ANCHOR.pattern == expected
    assert sampling._CALL.pattern == r"\((?<=[\w$]\()"
    assert sampling._CALLEE_REVERSED.pattern == rf"\(([\w$]{{1,{sampling.CALLEE_CHARS}}})"


@hypothesis_settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(long_texts())
def test_long_texts(text: str) -> None:
    assert_same(text)
    sampled = sampling._sample_python(text)  # what was exercised (--hypothesis-show-statistics)
    whole = "whole" if sampled is text else "nothing" if not sampled else "sampled"
    event(f"{whole}, {min(sampled.count(sampling._GAP), 4) if sampled is not text else 0} gaps")
    event(
        f"more than MAX_ANCHORS: {len(sampling._ANY_ANCHOR.findall(text)) > sampling.MAX_ANCHORS}"
    )


@hypothesis_settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(SQL + PROSE), max_size=150).map("".join))
def test_any_texts(text: str) -> None:
    assert_same(text)


@hypothesis_settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=600))
def test_any_latin1_characters(text: str) -> None:
    assert_same(text)


# Other constants, set in sample.py and handed to the C again: the windows, the budget, a
# single span covering the text (the text itself from the join), an odd MAX_GAP_QUOTES, few
# anchors per pattern, never dense. (CALLEE_CHARS is compiled into a pattern: left alone.)
OTHER_CONSTANTS = (
    {"DENSE": (), "BUDGET_CHARS": 700, "MAX_ANCHORS": 3, "MAX_GAP_QUOTES": 5},
    {"DENSE": ((1000, 0.02),), "HEAD_CHARS": 40, "TAIL_CHARS": 30, "BEFORE_CHARS": 0},
    {"LONG_CHARS": 64, "AFTER_CHARS": 20, "MIN_STRENGTH": 2, "MIN_END_STRENGTH": 1},
    {"CUT_CHARS": 40, "MAX_GAP_QUOTES": 1, "MAX_ANCHORS": 1, "BUDGET_CHARS": 90},
)


@contextmanager
def constants(changes: dict[str, object]) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in changes.items():
            patch.setattr(sampling, name, value)
        sampling._configure_native()
        try:
            yield
        finally:
            patch.undo()
            sampling._configure_native()


@hypothesis_settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(OTHER_CONSTANTS), st.one_of(long_texts(), SQL_TEXT, st.sampled_from(SENTENCES))
)
def test_other_constants(changes: dict[str, object], text: str) -> None:
    with constants(changes):
        assert_same(text)


def test_edges() -> None:
    quotes = "'\"`" * 200
    for text in (
        "",
        "x" * 257,
        "'" * 300,
        quotes,
        " ".join(["it's"] * 100),
        "a" * 200 + " ' or 1=1 -- " + "b" * 200,
        "x " * 150 + "union all select " * 3,
        "@@@@ ---- " * 40,
        "é" * 100 + "' or 'a'='a" + " é" * 150,
        "sleep(" * 60,
        "q" * 30 + "sleep(" + " " * 300,
        ("word " * 60 + "' or 1=1 ; select ") * 8,
    ):
        assert_same(text)


def test_a_long_dense_text_is_returned_itself() -> None:
    text = "1' union all select null, null, null -- " * 12
    assert sampling.sample(text) is text
    assert NATIVE is not None and NATIVE.sample(text) is text


def test_wide_texts_and_subclasses_are_declined() -> None:
    class Text(str):
        pass

    assert NATIVE is not None
    wide = "\u0100 ' or 1=1 " * 40
    assert NATIVE.sample(wide) is None
    assert NATIVE.anchored(wide) is None
    assert NATIVE.anchors(wide) is None
    assert sampling.sample(wide) == sampling._sample_python(wide)
    assert sampling.anchored(wide) == sampling._anchored_python(wide)
    subclassed = Text("x ' or 1=1 " * 40)
    assert NATIVE.sample(subclassed) is None
    assert NATIVE.anchored(subclassed) is None


def corpus_lines() -> Iterator[str]:
    for path in sorted(CORPORA.glob("**/*.txt")):
        yield from security_sqli.lines(path)


@pytest.fixture(scope="module")
def captured() -> dict[str, set[str]]:
    """The texts that `sample` and `anchored` get from the real pipeline."""
    texts: dict[str, set[str]] = {"sample": set(), "anchored": set()}

    def record_sample(text: str) -> str:
        texts["sample"].add(text)
        return sampling._sample_python(text)

    def record_anchored(text: str) -> bool:
        texts["anchored"].add(text)
        return sampling._anchored_python(text)

    values = [
        *corpus_lines(),
        *security_sqli.values(security_sqli.benign_value, 2000),
        *security_sqli.values(security_sqli.malicious_value, 1000),
    ]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(score, "sample", record_sample)
        patch.setattr(score, "anchored", record_anchored)
        score._analyse_short.cache_clear()
        for value in values:
            score._scored.__wrapped__(value[: score.MAX_CHARS])
    score._analyse_short.cache_clear()
    assert len(texts["sample"]) > 1000 and texts["anchored"]
    return texts


def test_captured_samples(captured: dict[str, set[str]]) -> None:
    long = [text for text in captured["sample"] if len(text) > sampling.LONG_CHARS]
    assert len(long) > 1000
    for text in sorted(captured["sample"]):
        assert_same(text)


def test_captured_anchored(captured: dict[str, set[str]]) -> None:
    for text in sorted(captured["anchored"]):
        assert sampling.anchored(text) == sampling._anchored_python(text)
