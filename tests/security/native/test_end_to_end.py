"""The compiled SQL-injection check gives exactly the pure-Python results.

`make test` builds the native parts first. The pure-Python results come from a process of their
own with `AIVMON_SQLI_NATIVE=0`, which is also how an operator turns the native parts off.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from apps.security.detectors.sqli import extract, lexer, native, normalise, sample, score
from apps.security.detectors.sqli.score import sqli_confidence
from bench.security_sqli import benign_value, malicious_value, values

CORPORA = Path(settings.BASE_DIR) / "tests" / "security" / "corpora" / "sqli"
BENCH_VALUES = 1500  # of each kind: prose, JSON and URLs; payloads placed four ways
SCORE_IN_PYTHON = """
import json, sys
from apps.security.detectors.sqli import native
from apps.security.detectors.sqli.score import sqli_confidence
assert all(native.load(name) is None for name in {parts!r})
print(json.dumps([sqli_confidence(value) for value in json.load(sys.stdin)]))
"""


def corpus_lines() -> list[str]:
    return [
        line
        for path in sorted(CORPORA.glob("*/*.txt"))
        for line in path.read_text(encoding="utf-8").split("\n")
        if line
    ]


def scored_in_pure_python(inputs: list[str]) -> list[tuple[float, str]]:
    completed = subprocess.run(
        [sys.executable, "-c", SCORE_IN_PYTHON.format(parts=native.PARTS)],
        input=json.dumps(inputs),
        capture_output=True,
        text=True,
        check=True,
        cwd=settings.BASE_DIR,
        env={**os.environ, "AIVMON_SQLI_NATIVE": "0"},
    )
    return [tuple(result) for result in json.loads(completed.stdout)]


@pytest.mark.parametrize("name", native.PARTS)
def test_every_native_part_is_built_and_loaded(name):
    assert native.load(name) is not None, f"run scripts/build_native.py: _{name} is missing"


def test_corpora_and_benchmark_values_score_exactly_as_in_pure_python():
    inputs = [
        *corpus_lines(),
        *values(benign_value, BENCH_VALUES),
        *values(malicious_value, BENCH_VALUES),
    ]

    expected = scored_in_pure_python(inputs)
    found = [sqli_confidence(value) for value in inputs]

    differing = [
        (value, want, got)
        for value, want, got in zip(inputs, expected, found, strict=True)
        if want != got
    ]
    assert not differing, differing[:5]


def test_every_c_file_is_a_listed_part():
    sources = {path.stem for path in Path(native.__file__).parent.glob("*.c")}

    assert sources == set(native.PARTS)


# Where each module holds its native part: set to None, the module runs its Python reference.
NATIVE_HANDLES = (
    (extract, "GATES"),
    (score, "GATES"),
    (lexer, "_native"),
    (normalise, "_native"),
    (sample, "_native"),
    (score, "_NATIVE"),
)
FRAGMENTS = (
    *("'", '"', "`", " ", "  ", "\n", "\t", "\x0b", "\xa0", "\x85", "\x00", "%27", "%2527"),
    *("%u0027", "%", "+", "&#39;", "&amp;", "&quot", "&lt;", "&", "=", "==", "<>", "!=", "||"),
    *("&&", "::", "@", "@@version", "--", "-- x", "#", "#1", "/*", "*/", "/*!50000", ";", "("),
    *(")", ",", ".", "0x41", "1e5", "1", "12345", ".5", "union", "select", "or", "and", "from"),
    *("where", "order by", "sleep(", "char(", "concat(", "information_schema", "xp_cmdshell"),
    *("drop table", "é", "ß", "µ", "²", "Ü", "O'Brien", "a=1", "?q=", "&b=", "<a b='1'>", "</a>"),
    *('{"k": "', '"}', "[", "]", "waitfor delay '0:0:5'", "1=1", "'1'='1", "like", "null"),
    *("case when", "then", "end", "∞", "\u2018", "word", "Ünïcödé"),
)


def scored_with_and_without_native(value: str) -> tuple[tuple[float, str], tuple[float, str]]:
    """The score of `value` with the native parts, then with every module on its Python."""
    found = sqli_confidence(value)
    kept = [getattr(module, name) for module, name in NATIVE_HANDLES]
    for module, name in NATIVE_HANDLES:
        setattr(module, name, None)
    try:
        for cached in (score._scored, score._analyse_short, score._token_findings):
            cached.cache_clear()
        expected = sqli_confidence(value)
    finally:
        for (module, name), handle in zip(NATIVE_HANDLES, kept, strict=True):
            setattr(module, name, handle)
        for cached in (score._scored, score._analyse_short, score._token_findings):
            cached.cache_clear()
    return found, expected


@hypothesis_settings(max_examples=1500, deadline=None)
@given(st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=12), max_size=80).map("".join))
def test_any_value_scores_as_in_pure_python(value):
    found, expected = scored_with_and_without_native(value)

    assert found == expected
