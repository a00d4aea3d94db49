"""The compiled gates and nesting (native/gates.c) against their Python references.

`nested_strings` (extract.py), `_sqlish` and `_worth_analysing` (score.py) must give the same
answers, bit for bit, as the Python functions: on generated URLs, query strings, XML and HTML
snippets, JSON documents and SQL-ish texts, and on the inputs they really get when the corpora
and the benchmark's values go through the detector. `python -m tests.security.native.test_gates`
(from the repository root, PYTHONPATH=.) prints the CPU time of each, native and Python.
"""

import json
import random
import re
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.security.detectors.sqli import extract, native, score
from apps.security.detectors.sqli.lexer import GLUED_KEYWORDS, WORD_KIND
from apps.security.detectors.sqli.normalise import MAX_CHARS

ROOT = Path(__file__).resolve().parents[3]
CORPORA = ROOT / "tests" / "security" / "corpora" / "sqli"
BENCH_VALUES = 1500  # of each kind, benign and malicious
EXAMPLES = 2000  # per property test: 12,000 generated inputs in all
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Generated JSON documents cost hypothesis ten times more to build than the other inputs; fewer
# of them keep the file's time down (the captured corpus and benchmark documents add more).
JSON_FUZZ = settings(FUZZ, max_examples=EXAMPLES // 3)

GATES: Any = native.load("gates")


# score's Python functions, under the names they get once the native ones are wired in.
python_sqlish: Callable[[str], bool] = getattr(score, "_sqlish_python", score._sqlish)
python_worth_analysing: Callable[[list[str], bool], list[str]] = getattr(
    score, "_worth_analysing_python", score._worth_analysing
)


# ---- comparisons ------------------------------------------------------------------------------


def one_byte(text: str) -> bool:
    return not text or max(map(ord, text)) <= 0xFF


def check_nested(value: str) -> None:
    expected = extract._nested_strings_python(value)
    found = GATES.nested_strings(value)
    if not one_byte(value):
        assert found is None  # declined: the Python reference answers
        return
    assert found == expected, value
    assert type(found) is tuple and type(found[0]) is list and type(found[1]) is bool
    assert all(type(each) is str for each in found[0])


def check_sqlish(text: str) -> None:
    found = GATES.sqlish(text)
    if not one_byte(text):
        assert found is None
        return
    assert found is python_sqlish(text), repr(text)


def check_worth_analysing(parts: list[str], whole_document: bool) -> None:
    before = list(parts)
    expected = python_worth_analysing(parts, whole_document)
    found = GATES.worth_analysing(parts, whole_document)
    assert found == expected, (parts, whole_document)
    assert (found is parts) == (expected is parts)  # the argument itself where Python gives it
    assert parts == before


# ---- generated inputs -------------------------------------------------------------------------

LATIN1 = "éüßµª²½\xa0\x85ãóÉÜ"
CONTROLS = "\x00\x01\x08\t\n\x0b\x0c\r\x0e\x1f\x7f\xa0\x85\xad"
SQL_FRAGMENTS = (
    *("'", '"', "`", "0x", "0x1f", "1e5", "1e5union", "0xor", "1.or", "9and", "1div", ".1from"),
    *("union", " select ", "or", "and", "from", "where", "order by", "sleep(5)", "char(", "xor"),
    *("UNION", "Select", "--", "#", "/*", "*/", ";", "=", "<>", "!=", "||", "&&", "::", "@"),
    *("@@version", " ? ", "?", "$", "1$", "union$", "xp_cmdshell", "sp_who", "utl_http"),
    *("dbms_pipe", "axp_", "openrowset", "opendatasource", "openquery", "reopenquery", "open"),
    *("infile", "load data", "_", "1", "42", "3.14", " ", "  ", "\n", "\t", "\r\n", "%27"),
    *("%20", "&amp;", "&#39;", "+", "-", ".", ",", ":", "/", "a", "b", "word", "café", "naïve"),
    *("into", "not", "like", "limit", "group", "having", "intersect", "information_schema"),
)
QUERY_FRAGMENTS = (
    *("a", "b", "q", "id", "x.y", "n[]", "n[0]", "$v", "@u", "-d", "é", "a:b", "_", "1"),
    *("=", "==", "&", "&&", "?", ";", "#", "/", "http://h.example/p", "https://s.example/a/b"),
    *("%27", "%20", "%3D", "%26", "+", "'", " ", "1=1", "or", "select", "\t", "\xa0", "=&"),
)
XML_FRAGMENTS = (
    *("<", ">", "</a>", "<a ", "<x:y ", "<a.b ", "<a-b ", " b=", "b =", "= ", "=", '"', "'"),
    *("text", " ", "\n", "é", "1 or 1=1", "<br/>", "<!-- c -->", "a:b", "x.y", "-z", "&"),
    *(">t<", "><", "\t", "ü=", "'x'", '"y"', "v"),
)


def joined(fragments: tuple[str, ...], extra: str = "", max_size: int = 24) -> Any:
    pieces = st.sampled_from(fragments) | st.text(
        alphabet=st.sampled_from(extra or "ab1 _-.$é" + CONTROLS[:4]), max_size=3
    )
    return st.lists(pieces, max_size=max_size).map("".join)


latin1_text = st.text(alphabet=st.characters(max_codepoint=0xFF), max_size=40)
sql_text = joined(SQL_FRAGMENTS, "ab1 _-.$é" + CONTROLS + LATIN1) | latin1_text
query_text = joined(QUERY_FRAGMENTS, "ab1=&?;[]$@.-é")
xml_text = joined(XML_FRAGMENTS, "ab<>=\"' :.-é")
mixed_text = st.lists(
    sql_text | query_text | xml_text | st.sampled_from(("?q=", "&a=", "<a b='", "'>")),
    max_size=6,
).map("".join)

json_leaf = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.sampled_from(("", " ", "\t", "\xa0", "a", "a", "x=1&y=2", "<a b='c'>d</a>"))
    | st.sampled_from(("\u4e00", "é", "\u2028 ", "union select", "1 or 1=1", "a" * 300))
    | mixed_text
)
json_document = st.recursive(
    json_leaf,
    lambda children: (
        st.lists(children, max_size=6)
        | st.dictionaries(mixed_text | st.sampled_from(("a", "b", "k=v")), children, max_size=6)
    ),
    max_leaves=80,
)


@st.composite
def deep_document(draw: Any) -> Any:
    """A document nested beyond MAX_DEPTH, strings at every level."""
    document: Any = draw(json_leaf)
    for level in range(draw(st.integers(0, extract.MAX_DEPTH + 4))):
        if draw(st.booleans()):
            document = [f"s{level}", document, draw(json_leaf)]
        else:
            document = {f"k{level % 3}": document, "v": draw(json_leaf)}
    return document


@st.composite
def many_strings(draw: Any) -> Any:
    """Around MAX_JSON_STRINGS strings, duplicates and blanks among them."""
    count = draw(st.integers(extract.MAX_JSON_STRINGS - 4, extract.MAX_JSON_STRINGS + 6))
    pool = [f"s{index}" for index in range(count)] + [" ", "", "s1", "s2"]
    strings = draw(st.lists(st.sampled_from(pool), min_size=count, max_size=count + 8))
    if draw(st.booleans()):
        return {string: draw(json_leaf) for string in strings}
    return strings


def json_value(document: Any, spaced: bool, escaped: bool) -> str:
    """A document as orjson writes it, or with \\u escapes for what is not ASCII (strings
    wider than Latin-1 inside a Latin-1 value)."""
    text = json.dumps(document, ensure_ascii=True) if escaped else orjson.dumps(document).decode()
    return f" \n{text}\t " if spaced else text


json_values = st.builds(
    json_value, json_document | deep_document() | many_strings(), st.booleans(), st.booleans()
) | st.sampled_from(("{", "[]", "{}", " [1] ", "[1]]", "{abc}", '["a",]', '{"a":"b"} x}'))


# ---- the module itself ------------------------------------------------------------------------


def test_the_native_gates_are_built_and_used() -> None:
    assert GATES is not None
    assert extract.GATES is GATES


def test_what_the_port_assumes_of_the_python_data() -> None:
    # _glued's first test (one of GLUED_LETTERS occurs) only spares work: every keyword has one.
    assert all(set(keyword) & set(score.GLUED_LETTERS) for keyword in GLUED_KEYWORDS)
    # Every known word is a _WORD word: _knows_a_word's check of the runs as they stand adds
    # nothing to that of the runs less their leading digits and `$`.
    assert all(re.fullmatch(r"[a-z_][a-z0-9_$]*", word) for word in WORD_KIND)


def test_declined_inputs() -> None:
    assert GATES.nested_strings("a=1&b=\u4e00") is None
    assert GATES.sqlish("union \u4e00") is None
    assert GATES.worth_analysing(("a", "b"), False) is None
    assert extract.nested_strings("a=1&b=\u4e00") == (["1", "\u4e00"], False)


# ---- cases that each pin one corner of a pattern ------------------------------------------------

NESTED_CASES = (
    *("a==b", "a=1&b==2", "a=x&&b=2", "a=1&&=2", "a=1&b==", "?q=1&", "x?a=1;b=2?c=3", "a="),
    *("a.b[]$@-=1", "@a=1", "?@a=1", "a=1&@b=2", "&a=1", "a=1;;b=2", "a=1&=2&c=3", "é=1&ü=2"),
    *("a=1&b", "a=%27&b=%3D", "a=+&b= ", "a= &b=\t", "?a==1&b=2", "q?=1", "a=b=c&d=e"),
    *("<a b = 'x' c=\"y\">t</a>", "<a -b='x'>", "<a b='x>", "<a é='x'>", "<x:y.z-w='1'>"),
    *(">a>b<c=", "<a b='1' b='1'>  <", '<a b="\'">', "a:b='1'=", "<a\nb\n=\n'1'>", "<a b=>"),
    *('a="' * 200, "a='" * 200 + "b='c'", "<" + "x=" * 100, "<a b='c'>d</a>?e=f&g=<h>"),
    *('{"a": "b=1&c=2"}', '{"a": "' + "x" * 300 + '=1"}', "[" + '"x",' * 70 + '"y"]'),
    *("[" + ",".join(f'"s{i}"' for i in range(64)) + "]", '["a", "a", " ", "", "\\u00e9"]'),
    *('{"a=1": "<b c=\'d\'>e</b>"}', '[[[[[[[[[["deep"]]]]]]]]]]', '["\\u4e00=1"]', " [] "),
    *("{} x=1", '{"a": 1}}', '["a=' + "b" * 300 + '"]', '{"k": "' + "&z=1" * 80 + '"}'),
)
SQLISH_CASES = (
    *("1e5union", "1e5union1", "1.union", "x.union", "1union$", "1union_", "0xor", "0x1for"),
    *("xp_cmd", "axp_cmd", "_xp_", "xp_", "sp_who", "dbms_x", "1xp_", "é xp_a", "utl_"),
    *("openrowset", "reopenrowset", "open rowset", "_openquery", "opendatasource", "openq"),
    *("infile", "a\x0bb", "a\xa0b", "a \x0b b", "a\x0b", "a\x1c\x1fb", "é\xa0é", "a\x85b"),
    *("a ? b", "a?b", "a\x00?\x7fb", " ?", "? ", "a\xa0?\x85b", "a\n?\tb", "?"),
    *("café", "é union", "ünion", "select", "$select", "1$select", "9select", "s$elect", "a::b"),
    *("a--", "a-b", "a:b", "µ", "ª", "²union", "²", "½", "ß", "1²union", "é1union", "a.b,c/d?"),
    *("plain words only", "Union", "UNION", "", " ", "ab_cd", "or", "xor1", "_union", "a$"),
)
WORTH_CASES: tuple[tuple[list[str], bool], ...] = (
    ([], False),
    (["a"], True),
    (["a", "b"], True),
    (["union", "x"], False),
    (["a" * 300, "b"], False),
    (["a" * 300, "b"], True),
    (["A", "SELECT"], True),
    (["", "?", ""], False),
    (["a", "x%27", "b"], False),
    (["é", "a", "b"], True),
    (["1e5", "union"], False),
    (["xp", "_cmd"], False),
    (["a" * 257, "b" * 256, "c"], False),
)


@pytest.mark.parametrize("value", NESTED_CASES)
def test_nested_strings_cases(value: str) -> None:
    check_nested(value)


@pytest.mark.parametrize("text", SQLISH_CASES)
def test_sqlish_cases(text: str) -> None:
    check_sqlish(text)


@pytest.mark.parametrize(("parts", "whole_document"), WORTH_CASES)
def test_worth_analysing_cases(parts: list[str], whole_document: bool) -> None:
    check_worth_analysing(list(parts), whole_document)


# ---- generated inputs -------------------------------------------------------------------------


@FUZZ
@given(query_text | xml_text | mixed_text)
def test_nested_strings_of_queries_and_xml(value: str) -> None:
    check_nested(value)
    check_nested("http://h.example/p?" + value)


@JSON_FUZZ
@given(json_values)
def test_nested_strings_of_json(value: str) -> None:
    check_nested(value)


@FUZZ
@given(sql_text)
def test_sqlish(text: str) -> None:
    check_sqlish(text)
    check_sqlish(text.lower())


part_text = (
    sql_text
    | st.sampled_from(("a" * 300, "UNION " * 60, "x%27", "a&b", "a+b", "é", "plain", "SELECT"))
    | st.builds(lambda text, count: text * count, sql_text, st.integers(1, 30))
)


@FUZZ
@given(st.lists(part_text, max_size=12), st.booleans())
def test_worth_analysing(parts: list[str], whole_document: bool) -> None:
    check_worth_analysing(parts, whole_document)


@JSON_FUZZ
@given(mixed_text | json_values)
def test_the_three_together(value: str) -> None:
    check_nested(value)
    if one_byte(value):
        nested, whole_document = GATES.nested_strings(value)
        check_worth_analysing(nested, whole_document)


# ---- the inputs they really get ---------------------------------------------------------------


def corpus_lines() -> list[str]:
    found = []
    for path in sorted(CORPORA.glob("**/*.txt")):
        found += [line for line in path.read_text(encoding="utf-8").split("\n") if line]
    return found


def bench_values() -> list[str]:
    from bench.security_sqli import benign_value, malicious_value, values

    return values(benign_value, BENCH_VALUES) + values(malicious_value, BENCH_VALUES)


@contextmanager
def recording(name: str, calls: list[tuple[Any, ...]]) -> Iterator[None]:
    """Record the arguments score's `name` gets (the Python reference answers)."""
    original = getattr(score, name)
    references: dict[str, Callable[..., Any]] = {
        "nested_strings": extract._nested_strings_python,
        "_sqlish": python_sqlish,
        "_worth_analysing": python_worth_analysing,
    }
    reference = references[name]

    def recorded(*args: Any) -> Any:
        calls.append(args)
        return reference(*args)

    setattr(score, name, recorded)
    try:
        yield
    finally:
        setattr(score, name, original)


@cache
def captured() -> dict[str, list[tuple[Any, ...]]]:
    """The arguments of the three functions while the corpora and benchmark values are scored."""
    calls: dict[str, list[tuple[Any, ...]]] = {
        "nested_strings": [],
        "_sqlish": [],
        "_worth_analysing": [],
    }
    score._analyse_short.cache_clear()
    with (
        recording("nested_strings", calls["nested_strings"]),
        recording("_sqlish", calls["_sqlish"]),
        recording("_worth_analysing", calls["_worth_analysing"]),
    ):
        for value in corpus_lines() + bench_values():
            score._scored.__wrapped__(value[:MAX_CHARS])  # type: ignore[attr-defined]
    score._analyse_short.cache_clear()
    return calls


def test_captured_nested_strings() -> None:
    calls = captured()["nested_strings"]
    assert len(calls) > 2 * BENCH_VALUES
    for (value,) in calls:
        check_nested(value)


def test_captured_sqlish() -> None:
    calls = captured()["_sqlish"]
    assert len(calls) > 2 * BENCH_VALUES
    for (text,) in calls:
        check_sqlish(text)


def test_captured_worth_analysing() -> None:
    calls = captured()["_worth_analysing"]
    assert len(calls) > BENCH_VALUES
    for parts, whole_document in calls:
        check_worth_analysing(list(parts), whole_document)


def test_no_growth_in_memory() -> None:
    """Many calls, on every path, leave no references behind (RSS as a coarse check)."""
    values = [
        '{"a": ["x", {"b": "y=1&z=<i>2</i>"}], "c": "' + "q" * 300 + '"}',
        "http://h.example/p?q=union+select&b=2&&c==3;d=<a b='1'>t</a>",
        "[" + ",".join(f'"s{index}"' for index in range(80)) + "]",
        "{not json}",
        "plain words only",
    ]
    texts = ["1e5union select", "café xp_cmd", "a\x01b", "plain words"]
    parts = ["a", "b", "x%27", "a" * 300]

    def run(rounds: int) -> None:
        for _ in range(rounds):
            for value in values:
                GATES.nested_strings(value)
            for text in texts:
                GATES.sqlish(text)
            GATES.worth_analysing(parts, False)
            GATES.worth_analysing(parts, True)

    run(2000)
    before = rss_kb()
    run(40_000)
    assert rss_kb() - before < 2048


def rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# ---- speed --------------------------------------------------------------------------------------


def cpu_us(function: Callable[..., Any], calls: list[tuple[Any, ...]]) -> tuple[float, float]:
    """Mean and p99 CPU time per call, in µs (best of three rounds per call)."""
    times = []
    for args in calls:
        best = float("inf")
        for _ in range(3):
            start = time.thread_time_ns()
            function(*args)
            best = min(best, time.thread_time_ns() - start)
        times.append(best / 1000)
    times.sort()
    return sum(times) / len(times), times[int(len(times) * 0.99)]


def measure() -> None:
    calls = captured()
    random.Random(1).shuffle(calls["_sqlish"])
    pairs: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {
        "nested_strings": (GATES.nested_strings, extract._nested_strings_python),
        "_sqlish": (GATES.sqlish, python_sqlish),
        "_worth_analysing": (GATES.worth_analysing, python_worth_analysing),
    }
    for name, (compiled, reference) in pairs.items():
        inputs = calls[name]
        mean_c, p99_c = cpu_us(compiled, inputs)
        mean_p, p99_p = cpu_us(reference, inputs)
        sys.stdout.write(
            f"{name}: {len(inputs)} calls; native mean {mean_c:.2f} p99 {p99_c:.2f} µs; "
            f"Python mean {mean_p:.2f} p99 {p99_p:.2f} µs\n"
        )


if __name__ == "__main__":
    measure()
