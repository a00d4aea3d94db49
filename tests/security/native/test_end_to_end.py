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

from apps.security.detectors.sqli import native
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
